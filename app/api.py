"""Routes: HTTP in and out. Each route reads the request, calls app.images, shapes the answer.

Links in headers are relative references (`view/<id>`, `?cursor=...`): they
resolve correctly under API Gateway's stage prefix (`.../dev/...`), where an
absolute path such as `/view/<id>` would drop the stage.
"""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import ValidationError

from app import images, multipart
from app.errors import ApiError, bad_request
from app.models import DeleteResult, ErrorBody, ImageDetail, ImageSummary, UploadForm, UploadResult
from app.observability import logger
from app.settings import get_settings
from app.storage import ImageStore

app = APIGatewayRestResolver(enable_validation=True)


def store() -> ImageStore:
    return ImageStore()  # cheap: clients and settings are cached in app.storage


# --- routes ------------------------------------------------------------------
@app.post("/upload", summary="Upload an image (multipart/form-data: user, description, file)")
def upload() -> Response[UploadResult]:
    settings = get_settings()
    parts = _parse_multipart({"file": settings.max_upload_bytes})
    fields = _single_fields(parts)
    file_part = fields.pop("file", None)
    if file_part is None:
        raise bad_request("MISSING_FIELD", "file is required (send it as -F file=@path)")
    form = _validate_form({name: _text(part) for name, part in fields.items()})
    row = images.store_upload(store(), form.user, form.description, file_part.filename, file_part.data)
    result = UploadResult(bucket=settings.bucket, **row)
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=result,
        headers={"Location": f"view/{row['id']}"},
    )


@app.get("/list", summary="List images, newest first, a page at a time")
def list_images(
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="From a previous page's Link header")] = None,
) -> Response[list[ImageSummary]]:
    rows, next_cursor = images.list_page(store(), limit, cursor)
    headers: dict[str, str] = {}
    if next_cursor:
        # Keep the caller's other parameters; the GitHub convention keeps the body a plain array.
        query = {k: v for k, v in app.current_event.query_string_parameters.items() if k != "cursor"}
        query["cursor"] = next_cursor
        headers["Link"] = f'<?{urlencode(query)}>; rel="next"'
    body = [ImageSummary.model_validate(row) for row in _with_filename(rows)]
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body, headers)


@app.get("/view/<image_id>", summary="An image's metadata and a presigned URL of its bytes")
def view(image_id: str) -> ImageDetail:
    row = images.get_ready(store(), image_id)
    url, expires_in = images.presigned_url(store(), row)
    return ImageDetail(bucket=get_settings().bucket, url=url, expires_in=expires_in, **_with_filename([row])[0])


@app.delete("/delete/<image_id>", summary="Delete an image: its object and its row")
def delete(image_id: str) -> DeleteResult:
    row = images.delete_image(store(), image_id)
    return DeleteResult(deleted=row["id"], key=row["key"])


# --- request helpers -----------------------------------------------------------
def _raw_body() -> bytes:
    """The request body as bytes, whichever way API Gateway encoded it."""
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise bad_request("MALFORMED_BODY", "the body is not valid base64") from exc
    # Without binary media types API Gateway hands over text decoded as UTF-8.
    return body.encode("utf-8")


def _parse_multipart(limits: dict[str, int]) -> list[multipart.Part]:
    content_type = app.current_event.headers.get("content-type")
    try:
        return multipart.parse(content_type, _raw_body(), limits)
    except multipart.NotMultipartError as exc:
        raise bad_request("NOT_MULTIPART", f"{exc} (send the form with curl -F or a browser form)") from exc
    except multipart.PartTooLargeError as exc:
        if exc.name in limits:
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "FILE_TOO_LARGE",
                f"{exc.name} is larger than {exc.limit} bytes",
            ) from exc
        raise bad_request("FIELD_TOO_LONG", f"{exc.name} is too long") from exc
    except multipart.MultipartError as exc:
        raise bad_request("MALFORMED_MULTIPART", str(exc)) from exc


def _single_fields(parts: list[multipart.Part]) -> dict[str, multipart.Part]:
    fields: dict[str, multipart.Part] = {}
    for part in parts:
        if part.name in fields:
            raise bad_request("DUPLICATE_FIELD", f"{part.name} is given more than once")
        fields[part.name] = part
    return fields


def _text(part: multipart.Part) -> str:
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("INVALID_FIELD", f"{part.name} is not UTF-8 text") from exc


def _validate_form(values: dict[str, str]) -> UploadForm:
    try:
        return UploadForm.model_validate(values)
    except ValidationError as exc:
        raise bad_request(_code_of(exc.errors()), _message_of(exc.errors())) from exc


def _with_filename(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "filename": row["key"]} for row in rows]


# --- errors ------------------------------------------------------------------
def request_id() -> str:
    event = app.current_event
    request_context = event.get("requestContext") or {}
    if request_context.get("requestId"):
        return str(request_context["requestId"])
    return getattr(app.lambda_context, "aws_request_id", "") or "unknown"


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[ErrorBody]:
    body = ErrorBody(error=message, code=code, request_id=request_id())
    return Response(status, content_types.APPLICATION_JSON, body, headers)


def _code_of(errors: list[Any]) -> str:
    missing = any(error.get("type") == "missing" for error in errors)
    return "MISSING_FIELD" if missing else "INVALID_FIELD"


def _message_of(errors: list[Any]) -> str:
    def one(error: Any) -> str:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        name = ".".join(location) or "request"
        return f"{name}: {error.get('msg', 'is invalid')}"

    return "; ".join(one(error) for error in errors)


@app.exception_handler(ApiError)
def handle_api_error(exc: ApiError) -> Response[ErrorBody]:
    return error_response(exc.status, exc.code, exc.message, exc.headers)


@app.exception_handler(RequestValidationError)
def handle_validation_error(exc: RequestValidationError) -> Response[ErrorBody]:
    errors = list(exc.errors())
    code = "INVALID_PARAMETER" if any("query" in e.get("loc", ()) for e in errors) else _code_of(errors)
    return error_response(HTTPStatus.BAD_REQUEST, code, _message_of(errors))


@app.not_found
def handle_not_found(_: NotFoundError) -> Response[ErrorBody]:
    event = app.current_event
    allowed = sorted(
        {route.method for route in app._static_routes + app._dynamic_routes if route.rule.match(event.path)}
    )
    if allowed:
        return error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            f"{event.http_method} is not allowed here; use {', '.join(allowed)}",
            {"Allow": ", ".join(allowed)},
        )
    return error_response(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No route for {event.path}")


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[ErrorBody]:
    # Full detail goes to the log (with the request id), never to the client.
    logger.exception("unhandled error")
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error; quote the request id")
