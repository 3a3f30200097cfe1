"""Routes for managing a collection: GET and PATCH /images/{id} (an image's metadata, edited under
If-Match), POST /images/delete (many images, a status for each).

GET /images/{id} is the image's metadata without URLs, so that its ETag (a digest
of that answer, `etag_of`) changes exactly when the image does, and not when
presigned URLs do: it is the version PATCH's If-Match names.
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from app.errors import DomainError
from app.logic import deletes, edits, images
from app.logic.access import Caller
from app.models import BatchDeleteItem, BatchDeleteRequest, BatchDeleteResult, ImageEdit, ImageSummary
from app.observability import logger
from app.records import ImageRow
from app.storage import ImageStore
from app.web import auth, conditional, openapi, requests, retries, statuses
from app.web.images import summary

router = APIGatewayRouter()


@router.get(
    "/images/<image_id>",
    summary="An image's metadata, with the ETag that PATCH takes in If-Match",
    responses=openapi.responses(200, ImageSummary, 401, 404),
)
def get_image(image_id: str) -> Response[ImageSummary]:
    row = images.get_visible(ImageStore(), image_id, auth.caller(router))
    return _metadata(row)


@router.patch(
    "/images/<image_id>",
    summary="Change an image's description or tags (owner only); If-Match makes it conditional",
    responses=openapi.responses(200, ImageSummary, 400, 401, 403, 404, 409, 412, 422),
    openapi_extensions=openapi.reads(ImageEdit, idempotency_key=True, if_match=True),
)
def edit_image(image_id: str) -> Response[ImageSummary]:
    changes = requests.json_body(router.current_event, ImageEdit).changes()
    caller = auth.caller(router)
    if_match = router.current_event.headers.get("if-match")
    request = {"id": image_id, "changes": changes, "if_match": if_match}
    return _edit(router, caller, request, image_id=image_id, changes=changes, caller=caller, if_match=if_match)


@retries.idempotent()
def _edit(*, image_id: str, changes: dict[str, Any], caller: Caller, if_match: str | None) -> Response[ImageSummary]:
    def seen(row: ImageRow) -> bool:  # the version the client read is the image now
        return conditional.matches_strongly(str(if_match), etag_of(row))

    row = edits.edit_image(ImageStore(), image_id, changes, caller, None if if_match is None else seen)
    return _metadata(row)


@router.post(
    "/images/delete",
    summary="Delete up to 100 images at once: each as DELETE /delete/{id} would, a status for each",
    responses=openapi.responses(200, BatchDeleteResult, 400, 401, 409, 422),
    openapi_extensions=openapi.reads(BatchDeleteRequest, idempotency_key=True),
)
def delete_images() -> Response[BatchDeleteResult]:
    ids = requests.json_body(router.current_event, BatchDeleteRequest).ids
    caller = auth.caller(router)
    return _delete_all(router, caller, {"ids": ids}, ids=ids, caller=caller)


def _no_failure(response: Response[Any]) -> bool:
    return isinstance(response.body, BatchDeleteResult) and all(item.status < 500 for item in response.body.results)


# A batch some of whose deletes failed unexpectedly is not kept: a retry with the key runs it again.
@retries.idempotent(final=_no_failure)
def _delete_all(*, ids: list[str], caller: Caller) -> Response[BatchDeleteResult]:
    outcomes = deletes.delete_images(ImageStore(), ids, caller)
    results = [_item(image_id, outcome) for image_id, outcome in zip(ids, outcomes, strict=True)]
    deleted = sum(result.status == HTTPStatus.OK for result in results)
    body = BatchDeleteResult(results=results, deleted=deleted, failed=len(results) - deleted)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)


def etag_of(row: ImageRow) -> str:
    """The ETag of GET /images/{id}'s answer for `row`: a digest of the metadata it shows."""
    return _digest(ImageSummary.model_validate(summary(row)))


def _digest(shown: ImageSummary) -> str:
    return f'"{hashlib.sha256(shown.model_dump_json().encode()).hexdigest()[:32]}"'


def _metadata(row: ImageRow) -> Response[ImageSummary]:
    body = ImageSummary.model_validate(summary(row))
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body, {"ETag": _digest(body)})


def _item(image_id: str, outcome: ImageRow | Exception) -> BatchDeleteItem:
    """One id's line of the answer: what DELETE /delete/{id} of it alone would have answered."""
    if isinstance(outcome, DomainError):
        status = statuses.status_for(outcome)
        return BatchDeleteItem(id=image_id, status=status, code=outcome.code, error=outcome.message)
    if isinstance(outcome, Exception):  # its image is as a failed single delete leaves it: a retry finishes
        logger.error("a delete of the batch failed", extra={"image_id": image_id}, exc_info=outcome)
        return BatchDeleteItem(id=image_id, status=500, code="INTERNAL_ERROR", error=statuses.INTERNAL)
    return BatchDeleteItem(id=image_id, status=HTTPStatus.OK, code="DELETED")
