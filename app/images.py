"""Image logic: what an upload, a direct upload, its processing, a view and a delete mean.

Independent of HTTP (app/api.py) and of AWS calls (app/storage.py). The
order of writes, and what a failure between two of them leaves:

- upload (multipart): the image and its thumbnail first, then the row with
  its tag items (one transaction). If the row cannot be written the objects
  are deleted again; if even that fails they are orphans that name their id
  in their metadata, and reconciliation removes them. A row never points at
  a missing object.
- direct upload: a `pending` row first, then the client POSTs the file to S3
  as `incoming/<id>`. Processing (on S3's notification or `complete`) writes
  the bytes it read and checked to their final key, and the thumbnail, then
  makes the row `ready`
  (conditional on it still being `pending`), then deletes `incoming/<id>`.
  A failure before the row changes leaves it `pending`, and processing again
  is safe; a failure to delete `incoming/<id>` afterwards leaves a stray object
  that reconciliation removes. A file posted again meanwhile is never stored
  unchecked (its own notification processes it, or finds nothing to do); an
  image deleted meanwhile gets the objects this run wrote deleted too. A file
  that is not an image makes the row `rejected` first, then its object is
  deleted (the same way). The upload form stays valid for its 15 minutes, so a
  client may post again after processing or after a delete: S3's notification
  then finds nothing to do, and reconciliation removes the object.
- delete: the row becomes a `deleting` tombstone and loses its tag items (one
  transaction: gone from every listing and from /view), then the objects are
  deleted, then the row. Each step is idempotent: a failed DELETE is retried,
  and reconciliation finishes tombstones nobody retried.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from email.utils import encode_rfc2231
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from app import schema
from app.errors import ApiError, bad_request, not_found
from app.models import TAG_PATTERN
from app.observability import logger, metrics
from app.schema import DELETING, PENDING, READY, REJECTED
from app.settings import get_settings
from app.storage import ImageStore

if TYPE_CHECKING:
    from app.imaging import Decoded

ID_RE = re.compile(rf"^{schema.ID_PATTERN}$")
MAX_NAME = 255
TAG_RE = re.compile(TAG_PATTERN)
MAX_TAGS = 10
MAX_TAG_ENTRIES = 100  # entries before de-duplication ("a,a,b" is three)
SNIFF_BYTES = 16  # enough for every signature sniff() knows
# Bidirectional overrides can make "evil\u202egpj.exe" display as "evilexe.jpg".
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


@dataclass(frozen=True)
class ImageType:
    mime: str
    extension: str


TYPES = {
    "jpeg": ImageType("image/jpeg", "jpg"),
    "png": ImageType("image/png", "png"),
    "gif": ImageType("image/gif", "gif"),
    "webp": ImageType("image/webp", "webp"),
}
ACCEPTED_TYPES = tuple(kind.mime for kind in TYPES.values())


def sniff(data: bytes) -> ImageType | None:
    """The image type from the first bytes (magic numbers), or None for anything else.

    Names and declared Content-Types are never trusted; SVG is deliberately
    not an image here (it is a document that can carry script).
    """
    if data.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return TYPES["gif"]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return TYPES["webp"]
    return None


def not_an_image(reason: str = "") -> ApiError:
    detail = f" ({reason})" if reason else ""
    return ApiError(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        f"file is not a JPEG, PNG, GIF or WebP image{detail}",
    )


# --- input rules -----------------------------------------------------------------
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
    """Tags from repeated and/or comma-separated values: trimmed, lower-cased, de-duplicated, in order.

    The number of entries is bounded before any is looked at, so a field of
    10,000 commas costs no more than one of ten.
    """
    pieces: list[str] = []
    for value in values[: MAX_TAG_ENTRIES + 1]:
        pieces.extend(value.split(",", MAX_TAG_ENTRIES - len(pieces)))
        if len(pieces) > MAX_TAG_ENTRIES:
            raise bad_request("INVALID_FIELD", f"at most {MAX_TAGS} tags (and {MAX_TAG_ENTRIES} entries)")
    tags = list(dict.fromkeys(piece.strip().lower() for piece in pieces if piece.strip()))
    for tag in tags:
        if not TAG_RE.match(tag):
            raise bad_request(
                "INVALID_FIELD", f"tag {json.dumps(tag[:60])} must be 1-50 letters, digits, '_', '-' or '.'"
            )
    if len(tags) > MAX_TAGS:
        raise bad_request("INVALID_FIELD", f"at most {MAX_TAGS} tags, got {len(tags)}")
    return tags


# --- rows ------------------------------------------------------------------------
def now_ms() -> int:
    return time.time_ns() // 1_000_000


def with_status(row: dict[str, Any], status: str) -> dict[str, Any]:
    """The row in another status, its index keys following (a tombstone leaves the user index)."""
    changed = {**row, "status": status}
    if status in schema.LISTED_STATUSES:
        changed["user_status"] = schema.user_status(row["user"], status)
    else:
        changed.pop("user_status", None)
    return changed


def new_row(user: str, description: str, original_name: str | None, tags: list[str], status: str) -> dict[str, Any]:
    """A row for a new image: who, what, when; the bytes are described by `with_image`."""
    check_text("description", description)
    image_id = str(uuid.uuid4())
    created_ms = now_ms()
    name = clean_original_name(original_name) or image_id
    row = {
        "id": image_id,
        "key": incoming_key(image_id),
        "user": user,
        "description": description,
        "original_name": name,
        "name_search": name.casefold(),  # what ?name_contains= matches, case-insensitively
        "tags": tags,
        "created_at": created_ms // 1000,
        "sort_key": schema.sort_key(created_ms, image_id),
    }
    return with_status(row, status)


def with_image(row: dict[str, Any], data: bytes, decoded: Decoded) -> dict[str, Any]:
    """The row describing these bytes, stored at their final key, with their thumbnail."""
    kind = TYPES[decoded.format]
    return {
        **row,
        "key": f"{row['id']}.{kind.extension}",
        "content_type": kind.mime,
        "format": decoded.format,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "width": decoded.width,
        "height": decoded.height,
        "thumbnail_key": f"thumbnails/{row['id']}.{decoded.thumbnail_extension}",
    }


def incoming_key(image_id: str) -> str:
    """Where a direct upload lands before processing (S3 notifies the Lambda under this prefix)."""
    return f"incoming/{image_id}"


def object_keys(row: dict[str, Any]) -> list[str]:
    """Every object a row may own."""
    keys = {row["key"], incoming_key(row["id"])}
    if row.get("thumbnail_key"):
        keys.add(row["thumbnail_key"])
    return sorted(keys)


def decode(data: bytes) -> Decoded:
    """Decode with Pillow (imported here, not at cold start), or a 413 (over a limit) or 415."""
    from app import imaging

    try:
        return imaging.decode(data)
    except imaging.ImageRejectedError as exc:
        raise rejection(exc.code, str(exc)) from exc


# --- uploads -----------------------------------------------------------------------
def store_upload(
    store: ImageStore, user: str, description: str, original_name: str | None, tags: list[str], data: bytes
) -> dict[str, Any]:
    """Check the bytes are an image, store it, its thumbnail and its row; the row is returned."""
    row = new_row(user, description, original_name, tags, READY)
    if not data:
        raise bad_request("EMPTY_FILE", "file is empty")
    if sniff(data[:SNIFF_BYTES]) is None:  # cheap refusal before any decoding
        raise not_an_image()
    decoded = decode(data)
    row = with_image(row, data, decoded)
    store.put_object(row["key"], data, row["content_type"], row["id"])
    try:
        store.put_object(row["thumbnail_key"], decoded.thumbnail, decoded.thumbnail_type, row["id"])
        store.put_new_row(row)
    except Exception:
        _delete_objects_quietly(store, row)
        raise
    _count_upload(len(data))
    return row


def start_direct_upload(
    store: ImageStore, user: str, description: str, filename: str, content_type: str, size: int, tags: list[str]
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A `pending` row and a presigned POST for its file: (row, {"url", "fields"}, expires_in)."""
    settings = get_settings()
    if content_type not in ACCEPTED_TYPES:
        raise not_an_image(f"content_type must be one of {', '.join(ACCEPTED_TYPES)}")
    if size > settings.max_direct_upload_bytes:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "FILE_TOO_LARGE",
            f"size is larger than {settings.max_direct_upload_bytes} bytes",
        )
    row = {**new_row(user, description, filename, tags, PENDING), "content_type": content_type, "size": size}
    store.put_new_row(row)
    expires_in = settings.direct_upload_expires_in
    post = store.presigned_post(row["key"], content_type, settings.max_direct_upload_bytes, expires_in)
    return row, post, expires_in


def process_upload(store: ImageStore, image_id: str) -> dict[str, Any]:
    """Turn a direct upload into a ready (or rejected) image; the row is returned.

    Idempotent: a row that is already ready or rejected is returned as it is.
    409 while the file is not in S3 yet.
    """
    row = get_visible(store, image_id)
    if row["status"] != PENDING:
        return row
    size = store.object_size(incoming_key(image_id))
    if size is None:
        raise ApiError(
            HTTPStatus.CONFLICT, "NOT_UPLOADED", "the file is not in S3 yet: POST it to the upload URL first"
        )
    limit = get_settings().max_direct_upload_bytes
    if size > limit:  # S3 enforces the policy's range; this guards stores that do not (moto)
        return _reject(store, row, f"the file is larger than {limit} bytes", "FILE_TOO_LARGE")
    head = store.read_object(incoming_key(image_id), first_bytes=SNIFF_BYTES)
    if head is None:
        return _lost_race(store, row)
    if sniff(head) is None:  # refused on its first bytes, without downloading the rest
        return _reject(store, row, "not a JPEG, PNG, GIF or WebP file")
    data = store.read_object(incoming_key(image_id))
    if data is None:
        return _lost_race(store, row)
    from app import imaging

    try:
        decoded = imaging.decode(data)
    except imaging.ImageRejectedError as exc:
        return _reject(store, row, str(exc), exc.code)
    ready = with_status(with_image(row, data, decoded), READY)
    # The very bytes that were checked are written, not a copy of whatever incoming/ holds
    # by now: the form stays valid for 15 minutes, and a client may post again meanwhile.
    store.put_object(ready["key"], data, ready["content_type"], image_id)
    store.put_object(ready["thumbnail_key"], decoded.thumbnail, decoded.thumbnail_type, image_id)
    if not store.replace_row(row, ready):  # processed or deleted meanwhile
        return _lost_race(store, row, written=ready)
    _delete_quietly(store, incoming_key(image_id))
    _count_upload(len(data))
    return ready


def _lost_race(store: ImageStore, row: dict[str, Any], written: dict[str, Any] | None = None) -> dict[str, Any]:
    """The row changed under a processing run: S3's notification and a complete ran at once,
    the file was posted again, or the image was deleted. Answer what is there now."""
    current = store.get_row(row["id"])
    if current is None or current["status"] == DELETING:
        if written is not None:  # what this run wrote belongs to no image
            _delete_objects_quietly(store, written)
        raise not_found()
    if current["status"] == PENDING:  # the same upload, its file replaced since it was read
        raise ApiError(HTTPStatus.CONFLICT, "CONFLICT", "the file changed while it was processed; complete again")
    return current


def _reject(
    store: ImageStore, row: dict[str, Any], reason: str, code: str = "UNSUPPORTED_MEDIA_TYPE"
) -> dict[str, Any]:
    rejected = with_status({**row, "rejection_reason": reason[:300], "rejection_code": code}, REJECTED)
    if not store.replace_row(row, rejected):
        return get_visible(store, row["id"])
    _delete_quietly(store, incoming_key(row["id"]))
    logger.info("direct upload rejected", extra={"image_id": row["id"], "reason": reason})
    return rejected


def rejection_error(row: dict[str, Any]) -> ApiError:
    """The error a rejected direct upload answers `complete` with, every time."""
    return rejection(row.get("rejection_code", "UNSUPPORTED_MEDIA_TYPE"), row.get("rejection_reason", ""))


def rejection(code: str, reason: str) -> ApiError:
    """The error for a file refused for `reason`: too large to store, too large to decode, or not an image."""
    if code == "FILE_TOO_LARGE":
        return ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "FILE_TOO_LARGE", reason)
    if code == "IMAGE_TOO_LARGE":
        return ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "IMAGE_TOO_LARGE", f"the image is too large: {reason}")
    return not_an_image(reason)


def _count_upload(size: int) -> None:
    metrics.add_metric(name="ImagesUploaded", unit="Count", value=1)
    metrics.add_metric(name="UploadedBytes", unit="Bytes", value=size)


def _delete_objects_quietly(store: ImageStore, row: dict[str, Any]) -> None:
    for key in object_keys(row):
        _delete_quietly(store, key)


def _delete_quietly(store: ImageStore, key: str) -> None:
    """Clean-up whose failure must not fail the request: reconciliation removes what is left."""
    try:
        store.delete_object(key)
    except Exception:
        logger.exception("could not delete an object; reconciliation will", extra={"key": key})


# --- view and delete -------------------------------------------------------------------
def get_visible(store: ImageStore, image_id: str) -> dict[str, Any]:
    """The row of an image that exists (ready, pending or rejected), or a 404, also for ids that cannot exist."""
    row = store.get_row(image_id) if ID_RE.match(image_id) else None
    if row is None or row.get("status") == DELETING:
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


def thumbnail_url(store: ImageStore, row: dict[str, Any]) -> str | None:
    """Presigned URL of a ready image's thumbnail, or None."""
    thumbnail = row.get("thumbnail_key")
    if row["status"] != READY or not thumbnail:
        return None
    return store.presigned_get(thumbnail, get_settings().url_expires_in)


def presigned_urls(store: ImageStore, row: dict[str, Any], download: bool = False) -> dict[str, Any]:
    """`url` and `thumbnail_url` of a ready image (None otherwise), and `expires_in`."""
    expires_in = get_settings().url_expires_in
    url = None
    if row["status"] == READY:
        url = store.presigned_get(row["key"], expires_in, content_disposition(row, download))
    return {"url": url, "thumbnail_url": thumbnail_url(store, row), "expires_in": expires_in}


def delete_image(store: ImageStore, image_id: str) -> dict[str, Any]:
    """Delete objects and row (see the module doc for the order); the old row is returned.

    Exactly one caller deletes an image, however many race: the tombstone names
    its deleter (`delete_claim`) and holds the image for as long as a function
    can run (`delete_until`); others are told 409 meanwhile. A delete whose
    deleter failed (its claim released) or died (its claim expired) is taken
    over by the next one, so the clean-up of a crashed delete still completes.
    The row is removed only under the claim that made the tombstone: whoever
    removes it is the one caller answered 200.
    """
    claim = str(uuid.uuid4())
    row = _claim_for_delete(store, image_id, claim)
    try:
        for key in object_keys(row):
            store.delete_object(key)
        if not store.delete_row(image_id, claim):  # taken over after our claim expired: theirs to report
            raise not_found()
    except ApiError:
        raise
    except Exception:
        _release_quietly(store, image_id, claim)
        raise
    metrics.add_metric(name="ImagesDeleted", unit="Count", value=1)
    return row


def _release_quietly(store: ImageStore, image_id: str, claim: str) -> None:
    """Let a retry take over a failed delete at once rather than when the claim expires."""
    try:
        store.release_claim(image_id, claim)
    except Exception:  # the claim then expires by itself, and a retry or reconciliation finishes the delete
        logger.exception("could not release a delete's claim", extra={"image_id": image_id})


def _claim_for_delete(store: ImageStore, image_id: str, claim: str) -> dict[str, Any]:
    """Turn the row into this caller's tombstone, or 404 (no such image) / 409 (being deleted)."""
    for _ in range(3):
        row = store.get_row(image_id) if ID_RE.match(image_id) else None
        if row is None:
            raise not_found()
        if row["status"] == DELETING and row.get("delete_until", 0) > now_ms():
            seconds = -(-(row["delete_until"] - now_ms()) // 1000)
            raise ApiError(
                HTTPStatus.CONFLICT,
                "DELETE_IN_PROGRESS",
                f"another request is deleting this image; retry in {seconds} s",
                {"Retry-After": str(seconds)},
            )
        lease_ms = (get_settings().function_timeout + 5) * 1000  # nobody runs longer than the function may
        tombstone = {**with_status(row, DELETING), "delete_claim": claim, "delete_until": now_ms() + lease_ms}
        if store.replace_row(row, tombstone):
            return row
    # The row kept changing under us (processing finishing, another delete).
    raise ApiError(HTTPStatus.CONFLICT, "CONFLICT", "the image changed while being deleted; retry")
