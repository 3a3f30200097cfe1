"""Uploads through the API (multipart or JSON): checked, then stored with their thumbnail and row.

What is stored is the upload without its metadata (image_bytes.py, which direct
uploads share: the bytes kept, their claim, clean-up). The order of
writes, and what a failure between two of them leaves: the
image and its thumbnail first (at once), then the row with its tag items and,
for the first image of its user with these bytes, the content item that says
so (one transaction, whose condition settles a race). A repeat of a user's
bytes is found before anything is decoded or written, by the content item's
key (a GetItem, never a scan): it is not stored twice unless ALLOW_DUPLICATES
(POST /upload answers the image that holds the bytes, /v1 refuses). If the row
cannot be written the objects are deleted again; if even that fails they are
orphans that name their id in their metadata, and reconciliation removes
them. A row never points at a missing object. Direct uploads, straight to S3,
are direct_uploads.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

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
from app.logic.image_bytes import count_upload, decode, delete_objects_quietly, hold_bytes, repeated, stored_bytes
from app.logic.images import NewImage, new_row, with_image
from app.records import ImageRow
from app.storage import ImageStore, RowExistsError, in_parallel


def store_upload(store: ImageStore, image: NewImage, data: bytes, image_id: str | None = None) -> ImageRow:
    """Check the bytes are an image, store it, its thumbnail and its row; the row is returned.

    The first image of a user with these bytes holds them (its content item). Another upload
    of the same bytes by the same user is refused with DuplicateImageError, naming the image
    that holds them, before anything is decoded or written; ALLOW_DUPLICATES=true stores it
    as a second image instead.

    `image_id` is the id a keyed request makes (images.id_for_request): when that row exists, an
    earlier attempt of the same request stored this very image, and it is returned.
    """
    row = new_row(image, READY, image_id)
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
    content = layout.content_id(image.user, digest.hex())
    holder = repeated(store, content)  # a repeat is refused before any decoding or writing
    if holder is not None and holder["id"] == image_id:
        return _stored_before(store, row)
    if holder is not None:
        raise DuplicateImageError(holder["id"], holder)
    try:
        decoded = decode(data)
    except RefusedError as exc:
        raise rejection(exc.code, str(exc)) from exc
    # The row claims these bytes for its user; hold_bytes settles who holds them when another image does.
    row = {**with_image(row, len(data), digest.hex(), decoded), "content_id": content}
    try:
        in_parallel(
            [
                lambda: store.put_object(row["key"], data, row["content_type"], row["id"], digest),
                lambda: store.put_object(row["thumbnail_key"], decoded.thumbnail, decoded.thumbnail_type, row["id"]),
            ]
        )
        _, holder = hold_bytes(store, row, store.put_new_row)
        if holder is not None:  # the same bytes won a race meanwhile: this one goes
            raise DuplicateImageError(holder["id"], holder)
    except RowExistsError:  # the same request, stored by an attempt that died before its answer was kept
        return _stored_before(store, row)  # its objects are the very ones just written again: left alone
    except Exception:
        delete_objects_quietly(store, row)
        raise
    count_upload(len(data))
    return row


def or_existing(upload: Callable[[], ImageRow]) -> tuple[ImageRow, bool]:
    """`upload()` (a store_upload), except that a repeat of a user's bytes is answered with the image
    that holds them: (the row, whether it was there already). What POST /upload does with a repeat."""
    for _ in range(3):
        try:
            return upload(), False
        except DuplicateImageError as exc:
            if exc.row is not None and exc.row["status"] == READY:
                return exc.row, True
            # Deleted since it was found: the bytes are free again, and this upload may hold them.
    raise ConflictError("the same bytes kept being uploaded and deleted meanwhile; retry")


def _stored_before(store: ImageStore, row: ImageRow) -> ImageRow:
    """The row an earlier attempt of this request stored under `row`'s id."""
    stored = store.get_row(row["id"])
    if stored is None or stored["status"] == DELETING:
        # Deleted meanwhile: the objects just written again belong to nobody (or are being deleted).
        delete_objects_quietly(store, row)
        raise ConflictError("this request's image was deleted; send a new Idempotency-Key", "DELETED")
    return stored
