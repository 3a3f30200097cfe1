"""Routes of the original contract: POST /upload, GET /list, GET /view/{id}, DELETE /delete/{id}.

Each route reads the request (app/web/requests.py), calls the logic, and
shapes the answer with the models. Links in headers are relative references
(`view/<id>`, `?cursor=...`): they resolve correctly under API Gateway's stage
prefix (`.../dev/...`), where an absolute path such as `/view/<id>` would drop
the stage.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from app.errors import ConflictError
from app.logic import access, deletes, images, listing, uploads
from app.logic.access import Caller
from app.models import (
    TAG_FILTER_PATTERN,
    USER_PATTERN,
    DeleteResult,
    ImageDetail,
    ImageSummary,
    Redirect,
    Status,
    UploadForm,
    UploadRequest,
    UploadResult,
)
from app.records import ImageRow, ListedImage
from app.settings import get_settings
from app.storage import ImageStore
from app.web import auth, conditional, openapi, requests, retries
from app.web.multipart import Part

router = APIGatewayRouter()


@router.post(
    "/upload",
    summary="Upload an image",
    responses=openapi.responses(201, UploadResult, 400, 401, 403, 409, 413, 415, 422, duplicate=UploadResult),
    openapi_extensions=openapi.reads(UploadRequest, "multipart/form-data", idempotency_key=True),
)
def upload() -> Response[UploadResult]:
    form, file = requests.multipart_form(router.current_event, UploadForm, get_settings().max_upload_bytes)
    caller = auth.caller(router)
    user = access.uploader(caller, form.user)
    request = {**form.model_dump(), "user": user, "filename": file.filename, "file": retries.fingerprint(file.data)}
    return _store(router, caller, request, user=user, form=form, file=file)


@retries.idempotent(makes_image=True)
def _store(*, image_id: str | None, user: str, form: UploadForm, file: Part) -> Response[UploadResult]:
    image = images.NewImage(user, form.description, file.filename, form.tags)
    row, duplicate = uploads.or_existing(lambda: uploads.store_upload(ImageStore(), image, file.data, image_id))
    body = UploadResult.model_validate({**row, "bucket": get_settings().bucket, "duplicate": duplicate})
    if duplicate:  # nothing new was made: 200 and the image that has these bytes
        body.message = "Already stored: this user uploaded these bytes before"
    status = HTTPStatus.OK if duplicate else HTTPStatus.CREATED
    return Response(status, content_types.APPLICATION_JSON, body, {"Location": f"view/{row['id']}"})


@router.get(
    "/list", summary="List images, a page at a time", responses=openapi.responses(200, list[ImageSummary], 400, 401)
)
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
    mine: Annotated[bool, Query(description="Only the signed-in caller's images")] = False,
) -> Response[list[ImageSummary]]:
    event = router.current_event
    requests.refuse_repeated_parameters(event)
    user, possible = access.listed_user(auth.caller(router), user, mine)
    if not possible:  # another user's images, where images are private
        return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, [])
    wanted = listing.ListFilter(
        user=user,
        tag=tag.lower() if tag else None,
        name_contains=name_contains,
        start_ms=None if from_ is None else listing.time_bound(from_, "from", end=False),
        end_ms=None if to is None else listing.time_bound(to, "to", end=True),
        newest_first=order == "newest",
        status=status,
    )
    store = ImageStore()
    rows, next_cursor = listing.list_page(store, limit, cursor, wanted)
    headers: dict[str, str] = {}
    if next_cursor:
        # Keep the caller's other parameters; the GitHub convention keeps the body a plain array.
        query = {k: v for k, v in event.query_string_parameters.items() if k != "cursor"}
        query["cursor"] = next_cursor
        headers["Link"] = f'<?{urlencode(query)}>; rel="next"'
    shown = [summary(row) for row in rows]
    if thumbnails:  # signing is local but not free (~0.4 ms a URL): only for those who ask
        shown = [
            {**fields, "thumbnail_url": images.thumbnail_url(store, row)}
            for fields, row in zip(shown, rows, strict=True)
        ]
    body = [ImageSummary.model_validate(fields) for fields in shown]
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body, headers)


@router.get(
    "/view/<image_id>",
    summary="An image's metadata and a presigned URL of its bytes",
    responses=openapi.responses(200, ImageDetail, 302, 400, 401, 404, 409),
)
def view(
    image_id: str,
    download: Annotated[bool, Query(description="The URL makes browsers save the file (attachment)")] = False,
    redirect: Annotated[bool, Query(description="Answer 302 to the presigned URL, for <img src>")] = False,
) -> Response[ImageDetail | Redirect]:
    store = ImageStore()
    row = images.get_visible(store, image_id, auth.caller(router))
    answer = detail(store, row, download)
    if redirect:
        if answer.url is None:
            raise ConflictError(f"the image is {row['status']}, not ready", "NOT_READY")
        headers = conditional.redirect_headers(answer.url)
        return Response(HTTPStatus.FOUND, content_types.APPLICATION_JSON, Redirect(url=answer.url), headers)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, answer)


@router.delete(
    "/delete/<image_id>",
    summary="Delete an image: its object and its row",
    responses=openapi.responses(200, DeleteResult, 400, 401, 403, 404, 409, 422),
    openapi_extensions=openapi.reads(idempotency_key=True),
)
def delete(image_id: str) -> Response[DeleteResult]:
    caller = auth.caller(router)
    return _delete(router, caller, {"id": image_id}, image_id=image_id, caller=caller)


@retries.idempotent()
def _delete(*, image_id: str, caller: Caller) -> Response[DeleteResult]:
    row = deletes.delete_image(ImageStore(), image_id, caller)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, DeleteResult(deleted=row["id"], key=row["key"]))


def summary(row: ListedImage) -> dict[str, Any]:
    """A row as the answers show it: its object key is called `filename` there (as in the first release)."""
    return {**row, "filename": row["key"]}


def detail(store: ImageStore, row: ImageRow, download: bool = False) -> ImageDetail:
    """What /view answers: the summary, the bucket and presigned URLs (for a ready image)."""
    return ImageDetail(bucket=get_settings().bucket, **images.presigned_urls(store, row, download), **summary(row))
