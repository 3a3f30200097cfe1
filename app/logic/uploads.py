"""Uploads through the API (multipart or JSON): checked, then stored with their thumbnail and row.

What is stored is the upload without its metadata (stored_bytes). The order of
writes, and what a failure between two of them leaves: the
image and its thumbnail first (at once), then the row with its tag items and,
for the first image of its user with these bytes, the content item that says
so (one transaction, whose condition finds a repeat; /v1 refuses a repeat
before anything is written). If the row
cannot be written the objects are deleted again; if even that fails they are
orphans that name their id in their metadata, and reconciliation removes
them. A row never points at a missing object. Direct uploads, straight to S3,
are direct_uploads.py.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from app import layout
from app.errors import (
    ConflictError,
    DuplicateImageError,
    InvalidInputError,
    NotAnImageError,
    rejection,
)
from app.imaging.limits import RefusedError
from app.layout import DELETING, READY
from app.logic.files import SNIFF_BYTES, sniff
from app.logic.images import new_row, object_keys, with_image
from app.observability import logger, metrics
from app.settings import get_settings
from app.storage import ContentTakenError, ImageStore, RowExistsError, in_parallel

if TYPE_CHECKING:
    from app.imaging.decode import Decoded


def store_upload(
    store: ImageStore,
    user: str,
    description: str,
    original_name: str | None,
    tags: list[str],
    data: bytes,
    unique: bool = False,
    image_id: str | None = None,
) -> dict[str, Any]:
    """Check the bytes are an image, store it, its thumbnail and its row; the row is returned.

    The first image of a user with these bytes holds them (its content item). Another upload
    of the same bytes by the same user is refused when `unique` (DuplicateImageError), and
    otherwise stored as a second image, as the original POST /upload always did.

    `image_id` is the id a retried request names (app/web/retries.py derives it from the
    request): when that row exists, an earlier attempt stored this very image, and it is returned.
    """
    row = new_row(user, description, original_name, tags, READY, image_id)
    if not data:
        raise InvalidInputError("file is empty", "EMPTY_FILE")
    kind = sniff(data[:SNIFF_BYTES])
    if kind is None:  # cheap refusal before any decoding
        raise rejection(NotAnImageError.code)
    try:
        data = stored_bytes(data, kind.kind)
    except RefusedError as exc:
        raise rejection(exc.code, str(exc)) from exc
    digest = hashlib.sha256(data).digest()
    content = layout.content_id(user, digest.hex())
    if unique:  # a repeat is refused before any decoding or writing
        owner, _ = _content_holder(store, content)
        if owner is not None and owner == image_id:
            return _stored_before(store, row)
        if owner is not None:
            raise DuplicateImageError(owner)
    try:
        decoded = decode(data)
    except RefusedError as exc:
        raise rejection(exc.code, str(exc)) from exc
    # The row claims these bytes for its user; _put_row settles who holds them when another image does.
    row = {**with_image(row, len(data), digest.hex(), decoded), "content_id": content}
    try:
        in_parallel(
            [
                lambda: store.put_object(row["key"], data, row["content_type"], row["id"], digest),
                lambda: store.put_object(row["thumbnail_key"], decoded.thumbnail, decoded.thumbnail_type, row["id"]),
            ]
        )
        _put_row(store, row, unique)
    except RowExistsError:  # the same request, stored by an attempt that died before its answer was kept
        return _stored_before(store, row)  # its objects are the very ones just written again: left alone
    except Exception:
        delete_objects_quietly(store, row)
        raise
    count_upload(len(data))
    return row


def _stored_before(store: ImageStore, row: dict[str, Any]) -> dict[str, Any]:
    """The row an earlier attempt of this request stored under `row`'s id."""
    stored = store.get_row(row["id"])
    if stored is None or stored["status"] == DELETING:
        # Deleted meanwhile: the objects just written again belong to nobody (or are being deleted).
        delete_objects_quietly(store, row)
        raise ConflictError("this request's image was deleted; send a new Idempotency-Key", "DELETED")
    return stored


def _content_holder(store: ImageStore, content: str) -> tuple[str | None, str | None]:
    """(the live image holding these bytes, or None; the image that held them but is gone or going)."""
    owner = store.content_owner(content)
    if owner is None:
        return None, None
    held_by = store.get_row(owner)
    if held_by is None or held_by["status"] == DELETING:  # a delete that has not finished, or crashed
        return None, owner
    return owner, None


def _put_row(store: ImageStore, row: dict[str, Any], unique: bool) -> None:
    """The row, holding its bytes if no live image does. The condition on the content item decides, not
    a read before it: a first upload costs one write, and a race to the same bytes has one winner."""
    stale_owner = None
    for _ in range(3):
        try:
            store.put_new_row(row, stale_owner)
            return
        except ContentTakenError:
            holder, stale_owner = _content_holder(store, row["content_id"])
            if holder is not None:
                break
    else:  # the content item kept changing hands
        holder = None
    if unique:
        raise DuplicateImageError(holder)
    row.pop("content_id")  # a repeat, stored as POST /upload always did: the holder keeps the bytes
    store.put_new_row(row)


def stored_bytes(data: bytes, kind: str) -> bytes:
    """What is kept of an uploaded image: its metadata (GPS, camera, XMP, comments) removed without
    re-encoding (app/imaging/strip.py), unless STRIP_METADATA=false keeps the original as it came.
    The row's sha256 and size describe these bytes. RefusedError for a file whose structure is broken."""
    if not get_settings().strip_metadata:
        return data
    from app.imaging.strip import strip_metadata

    return strip_metadata(data, kind)


def decode(data: bytes) -> Decoded:
    """Decode with Pillow, imported here rather than at cold start; RefusedError says why not."""
    from app.imaging.decode import decode as decode_with_pillow

    return decode_with_pillow(data)


def count_upload(size: int) -> None:
    metrics.add_metric(name="ImagesUploaded", unit="Count", value=1)
    metrics.add_metric(name="UploadedBytes", unit="Bytes", value=size)


def delete_objects_quietly(store: ImageStore, row: dict[str, Any]) -> None:
    for key in object_keys(row):
        delete_quietly(store, key)


def delete_quietly(store: ImageStore, key: str) -> None:
    """Clean-up whose failure must not fail the request: reconciliation removes what is left."""
    try:
        store.delete_object(key)
    except Exception:
        logger.exception("could not delete an object; reconciliation will", extra={"key": key})
