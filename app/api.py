"""Routes: HTTP in and out. Each route reads the request, calls app.images, shapes the answer.

Links in headers are relative references (`view/<id>`, `?cursor=...`): they
resolve correctly under API Gateway's stage prefix (`.../dev/...`), where an
absolute path such as `/view/<id>` would drop the stage.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from http import HTTPStatus
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, ValidationError

from app import gallery, images, listing, multipart, openapi
from app.errors import ApiError, bad_request
from app.models import (
    TAG_FILTER_PATTERN,
    USER_PATTERN,
    DeleteResult,
    DirectUploadRequest,
    DirectUploadResult,
    ErrorBody,
    ImageDetail,
    ImageSummary,
    PresignedPost,
    Redirect,
    Status,
    UploadForm,
    UploadResult,
)
from app.observability import logger
from app.settings import get_settings
from app.storage import ImageStore

# A response that breaks its own model is our bug: raise it as such (a 500 below), not as the client's 4xx.
JsonModel = TypeVar("JsonModel", bound=BaseModel)

app = openapi.DocumentedResolver(
    enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR
)
app.enable_swagger(path="/swagger", **openapi.INFO)  # Swagger UI with its assets inline: works offline


def store() -> ImageStore:
    return ImageStore()  # cheap: clients and settings are cached in app.storage


# --- routes ------------------------------------------------------------------
@app.post("/upload", summary="Upload an image", responses=openapi.responses(201, UploadResult, 400, 413, 415))
def upload() -> Response[UploadResult]:
    settings = get_settings()
    parts = _parse_multipart({"file": settings.max_upload_bytes})
    tags = [_text(part) for part in parts if part.name == "tags"]
    fields = _single_fields([part for part in parts if part.name != "tags"])
    file_part = fields.pop("file", None)
    if file_part is None:
        raise bad_request("MISSING_FIELD", "file is required (send it as -F file=@path)")
    form = _validate_form({name: _text(part) for name, part in fields.items()})
    row = images.store_upload(
        store(), form.user, form.description, file_part.filename, images.normalise_tags(tags), file_part.data
    )
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=UploadResult(bucket=settings.bucket, **row),
        headers={"Location": f"view/{row['id']}"},
    )


@app.get("/list", summary="List images, a page at a time", responses=openapi.responses(200, list[ImageSummary], 400))
def list_images(
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="From the previous page's Link header")] = None,
    user: Annotated[str | None, Query(pattern=USER_PATTERN, description="Only this user's images")] = None,
    tag: Annotated[str | None, Query(pattern=TAG_FILTER_PATTERN, description="Only images with this tag")] = None,
    name_contains: Annotated[
        str | None, Query(min_length=1, max_length=255, description="Part of the original file name, any case")
    ] = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=40, description="ISO-8601 date or date-time, inclusive, UTC")
    ] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO-8601 date or date-time, inclusive, UTC")] = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="By creation time")] = "newest",
    status: Annotated[Status, Query(description="Direct uploads are pending until processed")] = "ready",
    thumbnails: Annotated[bool, Query(description="Add a presigned thumbnail_url to each item")] = False,
) -> Response[list[ImageSummary]]:
    _refuse_repeated_parameters()
    wanted = listing.ListFilter(
        user=user,
        tag=tag.lower() if tag else None,
        name_contains=name_contains,
        start_ms=None if from_ is None else listing.time_bound(from_, "from", end=False),
        end_ms=None if to is None else listing.time_bound(to, "to", end=True),
        newest_first=order == "newest",
        status=status,
    )
    rows, next_cursor = listing.list_page(store(), limit, cursor, wanted)
    headers: dict[str, str] = {}
    if next_cursor:
        # Keep the caller's other parameters; the GitHub convention keeps the body a plain array.
        query = {k: v for k, v in app.current_event.query_string_parameters.items() if k != "cursor"}
        query["cursor"] = next_cursor
        headers["Link"] = f'<?{urlencode(query)}>; rel="next"'
    if thumbnails:  # signing is local but not free (~0.4 ms a URL): only for those who ask
        rows = [{**row, "thumbnail_url": images.thumbnail_url(store(), row)} for row in rows]
    body = [ImageSummary.model_validate(row) for row in _with_filename(rows)]
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body, headers)


@app.get(
    "/view/<image_id>",
    summary="An image's metadata and a presigned URL of its bytes",
    responses=openapi.responses(200, ImageDetail, 302, 400, 404, 409),
)
def view(
    image_id: str,
    download: Annotated[bool, Query(description="The URL makes browsers save the file (attachment)")] = False,
    redirect: Annotated[bool, Query(description="Answer 302 to the presigned URL, for <img src>")] = False,
) -> Response[ImageDetail | Redirect]:
    row = images.get_visible(store(), image_id)
    detail = _detail(row, download)
    if redirect:
        if detail.url is None:
            raise ApiError(HTTPStatus.CONFLICT, "NOT_READY", f"the image is {row['status']}, not ready")
        # Each answer carries a fresh signature: never let a cache hand out an expired one.
        headers = {"Location": detail.url, "Cache-Control": "no-store"}
        return Response(HTTPStatus.FOUND, content_types.APPLICATION_JSON, Redirect(url=detail.url), headers)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, detail)


@app.delete(
    "/delete/<image_id>",
    summary="Delete an image: its object and its row",
    responses=openapi.responses(200, DeleteResult, 404, 409),
)
def delete(image_id: str) -> DeleteResult:
    row = images.delete_image(store(), image_id)
    return DeleteResult(deleted=row["id"], key=row["key"])


@app.post(
    "/uploads",
    summary="Start a direct upload to S3 (large files): returns a presigned POST",
    responses=openapi.responses(201, DirectUploadResult, 400, 413, 415),
)
def start_upload() -> Response[DirectUploadResult]:
    request = _json_body(DirectUploadRequest)
    tags = images.normalise_tags([request.tags] if isinstance(request.tags, str) else request.tags)
    row, post, expires_in = images.start_direct_upload(
        store(), request.user, request.description, request.filename, request.content_type, request.size, tags
    )
    result = DirectUploadResult(id=row["id"], upload=PresignedPost(**post), expires_in=expires_in)
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, result, {"Location": f"view/{row['id']}"})


@app.post(
    "/uploads/<image_id>/complete",
    summary="Process a direct upload now (S3's notification does it too); idempotent",
    responses=openapi.responses(200, ImageDetail, 404, 409, 413, 415),
)
def complete_upload(image_id: str) -> Response[ImageDetail]:
    row = images.process_upload(store(), image_id)
    if row["status"] == "rejected":
        raise images.rejection_error(row)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, _detail(row))


@app.get("/", summary="The gallery page", include_in_schema=False)
def gallery_page() -> Response[str]:
    context = app.current_event.request_context
    if context.stage and context.path == f"/{context.stage}":
        # ".../dev" without its slash: relative asset URLs would drop the stage, so add it.
        return Response(HTTPStatus.MOVED_PERMANENTLY, headers={"Location": f"{context.stage}/"})
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", gallery.page(), gallery.security_headers())


@app.get("/gallery.js", include_in_schema=False)
def gallery_script() -> Response[str]:
    return Response(HTTPStatus.OK, gallery.ASSET_TYPES["gallery.js"], gallery.asset("gallery.js"), _no_sniff())


@app.get("/gallery.css", include_in_schema=False)
def gallery_style() -> Response[str]:
    return Response(HTTPStatus.OK, gallery.ASSET_TYPES["gallery.css"], gallery.asset("gallery.css"), _no_sniff())


def _no_sniff() -> dict[str, str]:
    return {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, _openapi_json())


@lru_cache(maxsize=1)
def _openapi_json() -> str:
    return openapi.document(app)


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


def _json_body(model: type[JsonModel]) -> JsonModel:
    """The body as `model`. Parsed here rather than by Powertools, whose multipart parsing of a
    JSON route's body answers a 500 when a client sends multipart without a boundary."""
    mime = (app.current_event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if mime != "application/json":
        raise bad_request("NOT_JSON", "send the request body as application/json")
    try:
        return model.model_validate_json(_raw_body() or b"null")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise bad_request("NOT_JSON", "the request body is not valid JSON") from exc
        raise bad_request(_code_of(exc.errors()), _message_of(exc.errors())) from exc


def _refuse_repeated_parameters() -> None:
    """`?tag=a&tag=b` would silently mean only one of them; say so instead."""
    repeated = sorted(k for k, v in app.current_event.multi_value_query_string_parameters.items() if len(v) > 1)
    if repeated:
        raise bad_request("INVALID_PARAMETER", f"{', '.join(repeated)}: given more than once")


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


def _detail(row: dict[str, Any], download: bool = False) -> ImageDetail:
    urls = images.presigned_urls(store(), row, download)
    return ImageDetail(bucket=get_settings().bucket, **urls, **_with_filename([row])[0])


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
        name = ".".join(location).replace("from_", "from") or "request"
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


@app.exception_handler(RequestUnsupportedContentType)
def handle_unsupported_content_type(_: RequestUnsupportedContentType) -> Response[ErrorBody]:
    return error_response(HTTPStatus.BAD_REQUEST, "NOT_JSON", "send the request body as application/json")


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


@app.exception_handler(ResponseValidationError)
def handle_response_validation_error(exc: ResponseValidationError) -> Response[ErrorBody]:
    # A route answered something its declared model does not allow: our bug, not the client's.
    logger.error("response failed validation", extra={"errors": exc.errors()})
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error; quote the request id")


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[ErrorBody]:
    # Full detail goes to the log (with the request id), never to the client.
    logger.exception("unhandled error")
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal error; quote the request id")
