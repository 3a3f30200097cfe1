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
from datetime import UTC, date, datetime
from email.utils import encode_rfc2231
from http import HTTPStatus
from typing import Any

from app import schema
from app.errors import ApiError, bad_request, not_found
from app.models import TAG_PATTERN
from app.observability import logger, metrics
from app.settings import get_settings
from app.storage import READY, ImageStore, TimeQuery

ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SORT_KEY_RE = re.compile(r"^\d{13}#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_NAME = 255
TAG_RE = re.compile(TAG_PATTERN)
MAX_TAGS = 10
MAX_MS = 10**13 - 1  # sort keys hold 13 digits of milliseconds
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


def normalise_tags(values: list[str]) -> list[str]:
    """Tags from repeated and/or comma-separated values: trimmed, lower-cased, de-duplicated, in order."""
    tags: list[str] = []
    for value in values:
        for piece in value.split(","):
            tag = piece.strip().lower()
            if not tag or tag in tags:
                continue
            if not TAG_RE.match(tag):
                raise bad_request("INVALID_FIELD", f"tag {tag[:60]!r} must be 1-50 letters, digits, '_', '-' or '.'")
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise bad_request("INVALID_FIELD", f"at most {MAX_TAGS} tags, got {len(tags)}")
    return tags


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_row(
    user: str, description: str, original_name: str | None, tags: list[str], data: bytes, image_type: ImageType
) -> dict[str, Any]:
    image_id = str(uuid.uuid4())
    created_ms = now_ms()
    key = f"{image_id}.{image_type.extension}"
    name = clean_original_name(original_name) or key
    return {
        "id": image_id,
        "key": key,
        "user": user,
        "description": description,
        "original_name": name,
        "name_search": name.casefold(),  # what ?name_contains= matches, case-insensitively
        "tags": tags,
        "content_type": image_type.mime,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": created_ms // 1000,
        "status": READY,
        "user_status": schema.user_status(user, READY),
        "sort_key": schema.sort_key(created_ms, image_id),
    }


def store_upload(
    store: ImageStore, user: str, description: str, original_name: str | None, tags: list[str], data: bytes
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
    row = new_row(user, description, original_name, tags, data, image_type)
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


@dataclass(frozen=True)
class ListFilter:
    """What `GET /list` narrows to; every combination is a Query on one index partition."""

    user: str | None = None
    tag: str | None = None
    name_contains: str | None = None
    start_ms: int | None = None  # inclusive
    end_ms: int | None = None  # inclusive
    newest_first: bool = True
    status: str = READY


def time_bound(value: str, parameter: str, end: bool) -> int:
    """Epoch ms of an ISO-8601 date or date-time (UTC unless it says otherwise), inclusive.

    As an end bound a date covers its whole day and a date-time without
    fractions its whole second, so `to=2026-11-23` includes that day.
    """
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment, span = datetime(day.year, day.month, day.day, tzinfo=UTC), 86_400_000
        else:
            moment = datetime.fromisoformat(value)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            span = 1000 if moment.microsecond == 0 else 1
    except ValueError:
        raise bad_request(
            "INVALID_PARAMETER",
            f"{parameter} must be an ISO-8601 date or date-time, e.g. 2026-11-23 or 2026-11-23T13:00:00Z",
        ) from None
    ms = int(moment.timestamp() * 1000)
    return min(max(ms + span - 1 if end else ms, 0), MAX_MS)


def plan(store: ImageStore, wanted: ListFilter) -> TimeQuery:
    """The index partition that serves a filter, and what is left to filter on it."""
    equals: dict[str, str] = {}
    contains = {"name_search": wanted.name_contains.casefold()} if wanted.name_contains else {}
    if wanted.tag is not None:
        table, index, partition = (
            store.settings.tags_table,
            None,
            ("tag_status", schema.tag_status(wanted.tag, wanted.status)),
        )
        if wanted.user is not None:
            equals["user"] = wanted.user
    elif wanted.user is not None:
        table, index = store.table, schema.BY_USER_INDEX
        partition = ("user_status", schema.user_status(wanted.user, wanted.status))
    else:
        table, index, partition = store.table, schema.BY_STATUS_INDEX, ("status", wanted.status)
    low = None if wanted.start_ms is None else f"{wanted.start_ms:013d}"
    high = None if wanted.end_ms is None else f"{wanted.end_ms:013d}#~"  # '~' sorts after every id
    return TimeQuery(table, index, partition, wanted.newest_first, (low, high), equals, contains)


def list_page(
    store: ImageStore, limit: int, cursor: str | None, wanted: ListFilter | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of images matching `wanted`, and the cursor of the next page (None on the last)."""
    wanted = wanted or ListFilter()
    if wanted.start_ms is not None and wanted.end_ms is not None and wanted.start_ms > wanted.end_ms:
        raise bad_request("INVALID_PARAMETER", "from must not be after to")
    query = plan(store, wanted)
    after = decode_cursor(cursor) if cursor is not None else None
    low, high = query.sort_range
    if after is not None and ((low is not None and after < low) or (high is not None and after > high)):
        # DynamoDB refuses a start key outside the key condition; it comes from other filters.
        raise bad_request("INVALID_CURSOR", "cursor does not belong to this from/to range")
    rows, position = store.query_page(query, limit, after)
    return rows, None if position is None else encode_cursor(position)


def get_ready(store: ImageStore, image_id: str) -> dict[str, Any]:
    """The row of a visible image, or a 404 (also for ids that cannot exist)."""
    row = store.get_row(image_id) if ID_RE.match(image_id) else None
    if row is None or row.get("status") != READY:
        raise not_found()
    return row


def content_disposition(row: dict[str, Any], download: bool) -> str:
    """`inline` or `attachment`, naming the original file (RFC 6266: ASCII fallback plus UTF-8 form)."""
    name = row.get("original_name") or row["key"]
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r'["\\;]', "_", fallback).strip() or row["key"]
    disposition = f'{"attachment" if download else "inline"}; filename="{fallback}"'
    if fallback != name:
        disposition += f"; filename*={encode_rfc2231(name, 'utf-8')}"
    return disposition


def presigned_url(store: ImageStore, row: dict[str, Any], download: bool = False) -> tuple[str, int]:
    expires_in = get_settings().url_expires_in
    url = store.presigned_get(row["key"], expires_in, content_disposition(row, download))
    return url, expires_in


def delete_image(store: ImageStore, image_id: str) -> dict[str, Any]:
    """Delete object and row (see the module doc for the order); the old row is returned."""
    for _ in range(3):
        row = store.get_row(image_id) if ID_RE.match(image_id) else None
        if row is None:
            raise not_found()
        if store.mark_deleting(row):
            break
    else:  # the row kept changing under us (processing finishing, another delete)
        raise ApiError(HTTPStatus.CONFLICT, "CONFLICT", "the image changed while being deleted; retry")
    store.delete_object(row["key"])
    store.delete_row(image_id)
    metrics.add_metric(name="ImagesDeleted", unit="Count", value=1)
    return row
