"""Routes of direct uploads: POST /uploads (a presigned form for S3), POST /uploads/{id}/complete."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from app.layout import REJECTED
from app.logic import access, direct_uploads
from app.logic.images import NewImage
from app.models import CompletedUpload, DirectUploadRequest, DirectUploadResult, PresignedPost
from app.settings import get_settings
from app.storage import ImageStore
from app.web import auth, openapi, requests, retries
from app.web.images import detail

router = APIGatewayRouter()


@router.post(
    "/uploads",
    summary="Start a direct upload to S3 (large files): returns a presigned POST",
    responses=openapi.responses(201, DirectUploadResult, 400, 401, 403, 409, 413, 415, 422),
    openapi_extensions=openapi.reads(DirectUploadRequest, idempotency_key=True),
)
def start_upload() -> Response[DirectUploadResult]:
    request = requests.json_body(router.current_event, DirectUploadRequest)
    caller = auth.caller(router)
    user = access.uploader(caller, request.user)
    fields = {**request.model_dump(mode="json"), "user": user}
    return _start(router, caller, fields, user=user, request=request)


def _form_lifetime() -> int:
    return get_settings().direct_upload_expires_in


# Replayed only while its form is valid; later, a retry runs again and is given a new form.
@retries.idempotent(makes_image=True, remember_for=_form_lifetime)
def _start(*, image_id: str | None, user: str, request: DirectUploadRequest) -> Response[DirectUploadResult]:
    image = NewImage(user, request.description, request.filename, request.tags)
    row, post, expires_in = direct_uploads.start_direct_upload(
        ImageStore(), image, content_type=request.content_type, size=request.size, image_id=image_id
    )
    result = DirectUploadResult(id=row["id"], upload=PresignedPost(**post), expires_in=expires_in)
    return Response(HTTPStatus.CREATED, content_types.APPLICATION_JSON, result, {"Location": f"view/{row['id']}"})


@router.post(
    "/uploads/<image_id>/complete",
    summary="Process a direct upload now (S3's notification does it too); idempotent",
    responses=openapi.responses(200, CompletedUpload, 401, 403, 404, 409, 413, 415),
)
def complete_upload(image_id: str) -> Response[CompletedUpload]:
    store = ImageStore()
    row = direct_uploads.process_upload(store, image_id, auth.caller(router))
    duplicate = False
    if row["status"] == REJECTED:
        original = direct_uploads.original_of(store, row)  # these bytes, stored before by this user
        if original is None:
            raise direct_uploads.rejection_of(row)
        row, duplicate = original, True
    body = CompletedUpload(**detail(store, row).model_dump(), duplicate=duplicate)
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, body)
