"""Image logic: what an upload, a listing, a view and a delete mean, independent of HTTP.

Order of writes, and what a failure between them leaves (the storage
adapter's callers decide this, so it lives here):

- upload: object first, then its row. If the row cannot be written the object
  is deleted again; if even that fails, the object is an orphan that carries
  its id in its metadata and reconciliation removes it. A row never points at
  a missing object.
- delete: the row is first turned into a `deleting` tombstone (gone from every
  listing and from /view), then the object is deleted, then the row. If a step
  fails the client gets an error and may simply retry: each step is
  idempotent, and reconciliation finishes tombstones nobody retried.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from app import schema
from app.errors import ApiError, bad_request, not_found
from app.observability import logger, metrics
from app.settings import get_settings
from app.storage import READY, ImageStore

ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SORT_KEY_RE = re.compile(r"^\d{13}#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_NAME = 255
# Bidirectional overrides can make "evil\u202egpj.exe" display as "evilexe.jpg".
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


@dataclass(frozen=True)
class ImageType:
    mime: str
    extension: str


def sniff(data: bytes) -> ImageType | None:
    """The image type from the first bytes (magic numbers), or None for anything else.

    Names and declared Content-Types are never trusted; SVG is deliberately
    not an image here (it is a document that can carry script).
    """
    if data.startswith(b"\xff\xd8\xff"):
        return ImageType("image/jpeg", "jpg")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageType("image/png", "png")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageType("image/gif", "gif")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageType("image/webp", "webp")
    return None


def clean_original_name(name: str | None) -> str:
    """The client's file name as safe metadata: no path, no control characters, bounded."""
    if not name:
        return ""
    name = unicodedata.normalize("NFC", name).translate(_BIDI_CONTROLS)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc").strip()
    if name in {".", ".."}:
        return ""
    return name[:MAX_NAME]


def check_text(field: str, value: str) -> None:
    """Text fields may hold any Unicode except control characters (tabs and newlines aside)."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise bad_request("INVALID_FIELD", f"{field} must not contain control characters")


def new_row(
    user: str, description: str, original_name: str | None, data: bytes, image_type: ImageType
) -> dict[str, Any]:
    image_id = str(uuid.uuid4())
    created_ms = time.time_ns() // 1_000_000
    key = f"{image_id}.{image_type.extension}"
    return {
        "id": image_id,
        "key": key,
        "user": user,
        "description": description,
        "original_name": clean_original_name(original_name) or key,
        "content_type": image_type.mime,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": created_ms // 1000,
        "status": READY,
        "user_status": schema.user_status(user, READY),
        "sort_key": schema.sort_key(created_ms, image_id),
    }


def store_upload(
    store: ImageStore, user: str, description: str, original_name: str | None, data: bytes
) -> dict[str, Any]:
    """Validate the bytes as an image and store object and row; the stored row is returned."""
    check_text("description", description)
    if not data:
        raise bad_request("EMPTY_FILE", "file is empty")
    image_type = sniff(data)
    if image_type is None:
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "file is not a JPEG, PNG, GIF or WebP image",
        )
    row = new_row(user, description, original_name, data, image_type)
    store.put_object(row["key"], data, image_type.mime, bytes.fromhex(row["sha256"]), row["id"])
    try:
        store.put_new_row(row)
    except Exception:
        _delete_object_quietly(store, row["key"])
        raise
    metrics.add_metric(name="ImagesUploaded", unit="Count", value=1)
    metrics.add_metric(name="UploadedBytes", unit="Bytes", value=len(data))
    return row


def _delete_object_quietly(store: ImageStore, key: str) -> None:
    try:
        store.delete_object(key)
    except Exception:
        # Left for reconciliation: the object names its image id in its metadata.
        logger.exception("could not remove the object of a failed upload", extra={"key": key})


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The position a cursor names; any cursor this service did not make is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not SORT_KEY_RE.match(raw):
        raise bad_request("INVALID_CURSOR", "cursor is not one this API returned")
    return raw


def list_page(store: ImageStore, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ready images, newest first, and the cursor of the next page (or None)."""
    after = decode_cursor(cursor) if cursor is not None else None
    rows, more = store.query_by_time(schema.BY_STATUS_INDEX, ("status", READY), limit, after)
    return rows, encode_cursor(rows[-1]["sort_key"]) if more and rows else None


def get_ready(store: ImageStore, image_id: str) -> dict[str, Any]:
    """The row of a visible image, or a 404 (also for ids that cannot exist)."""
    row = store.get_row(image_id) if ID_RE.match(image_id) else None
    if row is None or row.get("status") != READY:
        raise not_found()
    return row


def presigned_url(store: ImageStore, row: dict[str, Any]) -> tuple[str, int]:
    expires_in = get_settings().url_expires_in
    return store.presigned_get(row["key"], expires_in), expires_in


def delete_image(store: ImageStore, image_id: str) -> dict[str, Any]:
    """Delete object and row (see the module doc for the order); the old row is returned."""
    row = store.mark_deleting(image_id) if ID_RE.match(image_id) else None
    if row is None:
        raise not_found()
    store.delete_object(row["key"])
    store.delete_row(image_id)
    metrics.add_metric(name="ImagesDeleted", unit="Count", value=1)
    return row
