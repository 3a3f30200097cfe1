"""Routes of the JSON resource face: /v1/images (base64 uploads, offset listing, the image's bytes).

The same images as the original contract (app/web/images.py), through the same
logic and storage; only the shapes differ: field names (`image_id`, `user_id`,
`image_name`, `s3_key`...), ISO-8601 times, an offset listing with a total,
the bytes themselves from GET, and errors `{"error", "message", "code",
"request_id"}` where every refusal of the input, the file included, is a 400
(app/web/resolver.py asks `serves` to tell the faces apart).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from app.errors import ConflictError, NotFoundError
from app.layout import READY
from app.logic import access, deletes, images, listing, uploads
from app.logic.access import Caller
from app.logic.files import content_disposition
from app.models import Redirect
from app.records import ListedImage
from app.settings import get_settings, is_binary_type
from app.storage import ImageStore
from app.v1_models import (
    DATE_PATTERN,
    V1_USER_PATTERN,
    V1DeleteResult,
    V1Image,
    V1ImageList,
    V1Pagination,
    V1UploadRequest,
    V1UploadResult,
)
from app.web import auth, conditional, openapi, requests, retries

PREFIX = "/v1/"

router = APIGatewayRouter()


def serves(path: str) -> bool:
    """True for a path of this face (its errors take this face's shape)."""
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


@router.post(
    "/v1/images",
    summary="Upload an image as base64 JSON",
    responses=openapi.responses(201, V1UploadResult, 400, 401, 403, 409, 422, error_model=openapi.V1_ERRORS),
    openapi_extensions=openapi.reads(V1UploadRequest, idempotency_key=True),
)
def create_image() -> Response[V1UploadResult]:
    settings = get_settings()
    request = requests.json_body(router.current_event, V1UploadRequest)
    data = requests.base64_file(request.file, settings.max_upload_bytes)
    caller = auth.caller(router)
    user = access.uploader(caller, request.user_id, "user_id")

    fields = {**request.model_dump(exclude={"file"}), "user_id": user, "file": retries.fingerprint(data)}
    return _create(router, caller, fields, user=user, request=request, data=data)


@retries.idempotent(makes_image=True)
def _create(*, image_id: str | None, user: str, request: V1UploadRequest, data: bytes) -> Response[V1UploadResult]:
    image = images.NewImage(user, request.description or "", request.image_name, request.tags)
    row = uploads.store_upload(ImageStore(), image, data, image_id)
    body = V1UploadResult(**v1_fields(row))
    # Relative to /v1/images, "images/<id>" is /v1/images/<id>, whatever prefix the stage adds.
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, body, {"Location": f"images/{row['id']}"})


@router.get(
    "/v1/images",
    summary="One user's images, a page at a time by offset, with the total",
    responses=openapi.responses(200, V1ImageList, 400, 401, error_model=openapi.V1_ERRORS),
)
def list_user_images(
    user_id: Annotated[str, Query(pattern=V1_USER_PATTERN, description="Whose images (required)")],
    name_contains: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Part of the image name, any case")
    ] = None,
    start_date: Annotated[str | None, Query(pattern=DATE_PATTERN, description="YYYY-MM-DD, inclusive, UTC")] = None,
    end_date: Annotated[str | None, Query(pattern=DATE_PATTERN, description="YYYY-MM-DD, inclusive, UTC")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Images per page")] = 20,
    offset: Annotated[int, Query(ge=0, description="Images to skip")] = 0,
    sort_by: Annotated[Literal["created_at", "image_name"], Query()] = "created_at",
    sort_order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> V1ImageList:
    requests.refuse_repeated_parameters(router.current_event)
    user, possible = access.listed_user(auth.caller(router), user_id)
    window = listing.Window(
        user=str(user),
        name_contains=name_contains,
        start_ms=None if start_date is None else listing.time_bound(start_date, "start_date", end=False),
        end_ms=None if end_date is None else listing.time_bound(end_date, "end_date", end=True),
        by_name=sort_by == "image_name",
        descending=sort_order == "desc",
        offset=offset,
        limit=limit,
    )
    rows, total = listing.user_window(ImageStore(), window) if possible else ([], 0)
    return V1ImageList(
        images=[V1Image(**v1_fields(row)) for row in rows],
        total_count=total,
        returned_count=len(rows),
        filter_applied=_filters_in_words(name_contains, start_date, end_date),
        pagination=V1Pagination(limit=limit, offset=offset, has_more=offset + len(rows) < total),
    )


def get_image(
    image_id: str,
    download: Annotated[bool, Query(description="Content-Disposition: attachment, with the image name")] = False,
    metadata: Annotated[bool, Query(description="Add X-Image-Metadata: the image's fields as JSON")] = False,
) -> Response[Any]:
    store = ImageStore()
    row = images.get_visible(store, image_id, auth.caller(router))
    if row["status"] != READY:
        raise ConflictError(f"the image is {row['status']}, not ready", "NOT_READY")
    headers = {
        "Content-Disposition": content_disposition(row["original_name"], row["key"], download),
        "ETag": f'"{row["sha256"]}"',
    }
    if metadata:  # ASCII only, as a header must be
        headers["X-Image-Metadata"] = json.dumps(v1_fields(row), separators=(",", ":"))
    accept = router.current_event.headers.get("accept")
    if row["size"] > get_settings().max_inline_bytes or not is_binary_type(accept):
        # Too large for a Lambda answer, or API Gateway would hand the client base64 text
        # (it decodes only for an Accept among the binary media types): S3 serves the bytes.
        url = images.presigned_urls(store, row, download)["url"]
        if url is None:  # not ready after all (checked above): never a redirect to nowhere
            raise ConflictError(f"the image is {row['status']}, not ready", "NOT_READY")
        redirect = {**headers, **conditional.redirect_headers(url)}
        return Response(HTTPStatus.FOUND, content_types.APPLICATION_JSON, Redirect(url=url), redirect)
    data = store.read_object(row["key"])
    if data is None:  # its delete is under way
        raise NotFoundError()
    return Response(HTTPStatus.OK, row["content_type"], data, headers)


# No return annotation for Powertools: it would serialise the image's bytes as JSON text.
del get_image.__annotations__["return"]
router.get(
    "/v1/images/<image_id>",
    summary="The image itself (its own Content-Type); 302 to S3 when too large or Accept is not an image type",
    responses=openapi.image_responses(400, 401, 404, 409),
)(get_image)


@router.delete(
    "/v1/images/<image_id>",
    summary="Delete an image",
    responses=openapi.responses(200, V1DeleteResult, 400, 401, 403, 404, 409, 422, error_model=openapi.V1_ERRORS),
    openapi_extensions=openapi.reads(idempotency_key=True),
)
def delete_image(image_id: str) -> Response[V1DeleteResult]:
    caller = auth.caller(router)
    return _delete(router, caller, {"id": image_id}, image_id=image_id, caller=caller)


@retries.idempotent()
def _delete(*, image_id: str, caller: Caller) -> Response[V1DeleteResult]:
    row = deletes.delete_image(ImageStore(), image_id, caller)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, V1DeleteResult(image_id=row["id"]))


def v1_fields(row: ListedImage) -> dict[str, Any]:
    """A row in this face's terms."""
    return {
        "image_id": row["id"],
        "user_id": row["user"],
        "image_name": row["original_name"],
        "description": row.get("description", ""),
        "tags": row.get("tags", []),
        "created_at": datetime.fromtimestamp(row["created_at"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "s3_key": row["key"],
        "file_size": row["size"],
        "mime_type": row["content_type"],
    }


def _filters_in_words(name_contains: str | None, start_date: str | None, end_date: str | None) -> str | None:
    words = [f"image_name contains {json.dumps(name_contains)}"] if name_contains else []
    if start_date:
        words.append(f"created on or after {start_date}")
    if end_date:
        words.append(f"created on or before {end_date}")
    return ", ".join(words) or None
