"""The gallery page and its assets, served by the same Lambda (no build step, no CDN).

The page is static HTML, CSS and JavaScript from app/static; only the limits
are filled in. Its Content-Security-Policy allows scripts and styles from the
API's own origin only (no inline script), and images and uploads from the S3
endpoint the presigned URLs point at.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from app.settings import get_settings
from app.storage import ImageStore

STATIC = Path(__file__).parent / "static"
ASSET_TYPES = {"gallery.js": "text/javascript; charset=utf-8", "gallery.css": "text/css; charset=utf-8"}


@lru_cache(maxsize=1)
def page() -> str:
    settings = get_settings()
    template = Template((STATIC / "gallery.html").read_text(encoding="utf-8"))
    return template.substitute(
        max_upload=html.escape(str(settings.max_upload_bytes)),
        max_direct_upload=html.escape(str(settings.max_direct_upload_bytes)),
    )


@lru_cache(maxsize=len(ASSET_TYPES))
def asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def s3_origin() -> str:
    """The origin presigned URLs point at (signing is local: no request is made)."""
    url = urlsplit(ImageStore().presigned_get("probe", 60))
    return f"{url.scheme}://{url.netloc}"


def security_headers() -> dict[str, str]:
    s3 = s3_origin()
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' {s3} blob: data:",
            f"connect-src 'self' {s3}",
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
