"""Routes of the site: the gallery page and its assets, served by the same Lambda (no build step, no CDN).

The page is static HTML, CSS and JavaScript from app/web/static; only the
limits are filled in. Its Content-Security-Policy allows scripts and styles
from the API's own origin only (no inline script), and images and uploads from
the S3 endpoint the presigned URLs point at. (The API's documentation,
/openapi.json and /swagger, is served by the resolver itself.)
"""

from __future__ import annotations

import html
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from app.logic.files import ACCEPTED_TYPES, TYPES
from app.models import AuthConfig
from app.settings import get_settings
from app.storage import ImageStore

router = APIGatewayRouter()

STATIC = Path(__file__).parent / "static"
ASSET_TYPES = {"gallery.js": "text/javascript; charset=utf-8", "gallery.css": "text/css; charset=utf-8"}


@lru_cache(maxsize=1)
def page() -> str:
    settings = get_settings()
    template = Template((STATIC / "gallery.html").read_text(encoding="utf-8"))
    return template.substitute(
        max_upload=html.escape(str(settings.max_upload_bytes)),
        max_direct_upload=html.escape(str(settings.max_direct_upload_bytes)),
        variant_sizes=html.escape(",".join(map(str, settings.variant_sizes))),
        accepted_types=html.escape(",".join(accepted_files())),
    )


def accepted_files() -> list[str]:
    """The file picker's `accept`: every type the service takes (app/logic/files.py), by media type
    and by extension, since browsers often know no media type for HEIC and HEIF files."""
    extensions = {f".{kind.extension}" for kind in TYPES.values()} | {".jpeg", ".heif"}
    return [*ACCEPTED_TYPES, "image/heif", *sorted(extensions)]


@lru_cache(maxsize=len(ASSET_TYPES))
def asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def s3_origin() -> str:
    """The origin presigned URLs point at (signing is local: no request is made)."""
    url = urlsplit(ImageStore().presigned_get("probe", 60))
    return f"{url.scheme}://{url.netloc}"


def _sign_in_origin() -> str:
    url = urlsplit(get_settings().sign_in_url)
    return f" {url.scheme}://{url.netloc}" if url.netloc else ""


def security_headers() -> dict[str, str]:
    s3 = s3_origin()
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' {s3} blob: data:",
            f"connect-src 'self' {s3}{_sign_in_origin()}",  # the sign-in page's token endpoint too
            f"form-action 'self' {s3}",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("/", summary="The gallery page", include_in_schema=False)
def gallery_page() -> Response[str]:
    context = router.current_event.request_context
    if context.stage and context.path == f"/{context.stage}":
        # ".../dev" without its slash: relative asset URLs would drop the stage, so add it.
        return Response(HTTPStatus.MOVED_PERMANENTLY, headers={"Location": f"{context.stage}/"})
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", page(), security_headers())


@router.get("/auth.json", summary="What a client needs: how to sign in (for jwt, the issuer's page), upload limits")
def auth_config() -> AuthConfig:
    settings = get_settings()
    signed_in = settings.auth == "jwt"
    return AuthConfig(
        auth=settings.auth,
        visibility=settings.visibility if signed_in else "shared",
        sign_in_url=settings.sign_in_url or None if signed_in else None,
        client_id=settings.jwt_audience if signed_in else None,
        user_claim=settings.jwt_user_claim if signed_in else None,
        admin_claim=settings.jwt_admin_claim if signed_in else None,
        admin_group=settings.jwt_admin_group if signed_in else None,
        max_upload_bytes=settings.max_upload_bytes,
        max_direct_upload_bytes=settings.max_direct_upload_bytes,
    )


@router.get("/gallery.js", include_in_schema=False)
def gallery_script() -> Response[str]:
    return Response(HTTPStatus.OK, ASSET_TYPES["gallery.js"], asset("gallery.js"), _no_sniff())


@router.get("/gallery.css", include_in_schema=False)
def gallery_style() -> Response[str]:
    return Response(HTTPStatus.OK, ASSET_TYPES["gallery.css"], asset("gallery.css"), _no_sniff())


def _no_sniff() -> dict[str, str]:
    return {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
