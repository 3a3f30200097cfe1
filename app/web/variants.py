"""Route of image delivery: GET /images/{id}/variant, an image at an allowed size and in a format.

The answer is a redirect to the variant in S3 (its bytes never pass through
API Gateway: no 6 MB cap, no binary quirks). The redirect may be cached while
its URL stays the same (app/storage/store.py signs URLs per window), per
Accept when the format is negotiated.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from app.logic import variants
from app.models import Redirect
from app.settings import Settings
from app.storage import ImageStore
from app.web import auth, conditional, openapi, requests

router = APIGatewayRouter()
# The document states the default sizes: it is the same for every deployment (the gallery page has this one's).
_SIZES = ", ".join(map(str, Settings().variant_sizes))


@router.get(
    "/images/<image_id>/variant",
    summary="The image at an allowed size and in a format: a redirect to it in S3, rendered on first request",
    responses=openapi.responses(302, Redirect, 400, 401, 404, 409, 413, 415),
)
def variant(
    image_id: str,
    w: Annotated[int | None, Query(description=f"Width in pixels, one of VARIANT_SIZES (by default {_SIZES})")] = None,
    h: Annotated[int | None, Query(description="Height in pixels, one of VARIANT_SIZES")] = None,
    fit: Annotated[
        Literal["contain", "cover"], Query(description="With w and h: inside the box, or filling it (cropped)")
    ] = "contain",
    format: Annotated[
        Literal["auto", "webp", "avif", "jpeg", "png"],
        Query(description="auto: AVIF, else WebP, as Accept allows; else JPEG (PNG if it may be transparent)"),
    ] = "auto",
) -> Response[Redirect]:
    event = router.current_event
    requests.refuse_repeated_parameters(event)
    url = variants.get_variant(
        ImageStore(), image_id, w, h, fit, format, event.headers.get("accept"), auth.caller(router)
    )
    headers = conditional.redirect_headers(url)
    if format == "auto":
        headers["Vary"] = "Accept"
    return Response(HTTPStatus.FOUND, content_types.APPLICATION_JSON, Redirect(url=url), headers)
