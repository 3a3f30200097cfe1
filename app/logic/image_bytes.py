"""What every way of storing an image shares (uploads.py through the API, direct_uploads.py straight
to S3): the bytes that are kept, their decoding, the claim that makes a user's bytes one image,
cleaning up after a failure, and counting what was stored.

The bytes kept are the upload without its metadata (stored_bytes): the hash, the duplicate check and
the stored object all describe them. The first image of a user with given bytes holds them through a
content item (layout.content_id) written in the same transaction as its row; a repeat is found by
reading it before anything is decoded or written (`repeated`), and a race is settled by its condition
(`hold_bytes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from app.errors import ConflictError
from app.layout import DELETING
from app.logic.images import object_keys
from app.observability import logger, metrics
from app.records import ImageRow
from app.settings import get_settings
from app.storage import ContentTakenError, ImageStore

if TYPE_CHECKING:
    from app.imaging.decode import Decoded

T = TypeVar("T")


def content_holder(store: ImageStore, content: str) -> tuple[ImageRow | None, str | None]:
    """(the row of the live image holding these bytes, or None; the id of the image that held them
    but is gone or going, or None)."""
    owner = store.content_owner(content)
    if owner is None:
        return None, None
    held_by = store.get_row(owner)
    if held_by is None or held_by["status"] == DELETING:  # a delete that has not finished, or crashed
        return None, owner
    return held_by, None


def repeated(store: ImageStore, content: str) -> ImageRow | None:
    """The live image that holds these bytes, where a repeat is not stored (ALLOW_DUPLICATES is not
    set), else None: the read that finds a repeat before anything is decoded or written."""
    return None if get_settings().allow_duplicates else content_holder(store, content)[0]


def hold_bytes(
    store: ImageStore, row: ImageRow, write: Callable[[ImageRow, str | None], T]
) -> tuple[T | None, ImageRow | None]:
    """Run `write(row, stale_owner)`, a write of `row` that claims its bytes (`content_id`) for its user:
    (what it returned, None), or (None, the row of the live image that holds them instead), nothing
    written. The condition on the content item decides, not a read before it: a first upload costs one
    write, and a race has one winner. `stale_owner` is an image found gone or being deleted, whose claim
    the write may take over. With ALLOW_DUPLICATES a repeat is written as a second image instead: the
    row is written without its claim (the holder keeps the bytes)."""
    stale_owner = None
    for _ in range(3):
        try:
            return write(row, stale_owner), None
        except ContentTakenError:
            holder, stale_owner = content_holder(store, row["content_id"])
            if holder is not None and not get_settings().allow_duplicates:
                return None, holder
            if holder is not None:
                unclaimed: ImageRow = {**row}
                unclaimed.pop("content_id", None)
                return write(unclaimed, None), None
    raise ConflictError("the same bytes kept changing hands while this upload was stored; retry")


def stored_bytes(data: bytes, kind: str) -> bytes:
    """What is kept of an uploaded image: its metadata (GPS, camera, XMP, comments) removed without
    re-encoding (app/imaging/strip/), unless STRIP_METADATA=false keeps the original as it came.
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


def delete_objects_quietly(store: ImageStore, row: ImageRow) -> None:
    for key in object_keys(row):
        delete_quietly(store, key)


def delete_quietly(store: ImageStore, key: str) -> None:
    """Clean-up whose failure must not fail the request: reconciliation removes what is left."""
    try:
        store.delete_object(key)
    except Exception:
        logger.exception("could not delete an object; reconciliation will", extra={"key": key})
