"""Direct uploads: a `pending` row and a presigned form, the file straight to S3, then its processing.

The order of writes, and what a failure between two of them leaves:

- direct upload: a `pending` row first, then the client POSTs the file to S3
  at its incoming key. Processing (on S3's notification or `complete`) writes
  the bytes it read and checked to their final key, and the thumbnail, then
  makes the row `ready` (conditional on it still being `pending`), then
  deletes the incoming object. A failure before the row changes leaves it
  `pending`, and processing again is safe; a failure to delete the incoming
  object afterwards leaves a stray object that reconciliation removes. The
  ready row holds its bytes for its user (uploads.py's content item); bytes
  the user has stored already make the row `rejected` (DUPLICATE_IMAGE,
  `duplicate_of` the image that holds them) unless ALLOW_DUPLICATES. A file
  posted again meanwhile is never stored unchecked (its own notification
  processes it, or finds nothing to do); an image deleted meanwhile gets the
  objects this run wrote deleted too. A file that is not an image makes the
  row `rejected` first, then its object is deleted (the same way). The upload
  form stays valid for its 15 minutes, so a client may post again after
  processing or after a delete: S3's notification then finds nothing to do,
  and reconciliation removes the object.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from app import layout
from app.errors import (
    ACCEPTED_NAMES,
    ConflictError,
    DomainError,
    DuplicateImageError,
    FileTooLargeError,
    NotAnImageError,
    NotFoundError,
    NotUploadedError,
    rejection,
)
from app.imaging.limits import RefusedError
from app.layout import DELETING, PENDING, READY, REJECTED
from app.logic import access
from app.logic.access import ANYONE, Caller
from app.logic.files import ACCEPTED_TYPES, SNIFF_BYTES, sniff
from app.logic.image_bytes import (
    count_upload,
    decode,
    delete_objects_quietly,
    delete_quietly,
    hold_bytes,
    repeated,
    stored_bytes,
)
from app.logic.images import NewImage, get_visible, new_row, with_image, with_status
from app.observability import logger
from app.records import ImageRow
from app.settings import get_settings
from app.storage import ImageStore, RowExistsError

if TYPE_CHECKING:
    from app.imaging.decode import Decoded

NOT_AN_IMAGE = f"not a {ACCEPTED_NAMES} file"


def start_direct_upload(
    store: ImageStore, image: NewImage, *, content_type: str, size: int, image_id: str | None = None
) -> tuple[ImageRow, dict[str, Any], int]:  # the form: S3's presigned POST, as boto3 makes it
    """A `pending` row and a presigned POST for its file: (row, {"url", "fields"}, expires_in).
    `image_id`: as for uploads.store_upload, a retried request's row is answered with a new form."""
    settings = get_settings()
    if content_type not in ACCEPTED_TYPES:
        raise rejection(NotAnImageError.code, f"content_type must be one of {', '.join(ACCEPTED_TYPES)}")
    if size > settings.max_direct_upload_bytes:
        raise FileTooLargeError(f"size is larger than {settings.max_direct_upload_bytes} bytes")
    row: ImageRow = {**new_row(image, PENDING, image_id), "content_type": content_type, "size": size}
    try:
        store.put_new_row(row)
    except RowExistsError:  # an earlier attempt of this request made it: a new form, while it waits for its file
        row = get_visible(store, row["id"])
        if row["status"] != PENDING:  # its file came and was processed: never a form that could overwrite it
            raise ConflictError(
                f"this request's upload is {row['status']} already; send a new Idempotency-Key", "ALREADY_UPLOADED"
            ) from None
    expires_in = settings.direct_upload_expires_in
    # Always the incoming key: a form must never reach an image's final key.
    post = store.presigned_post(
        layout.incoming_key(row["id"]), content_type, settings.max_direct_upload_bytes, expires_in
    )
    return row, post, expires_in


def process_upload(store: ImageStore, image_id: str, caller: Caller = ANYONE) -> ImageRow:
    """Turn a direct upload into a ready (or rejected) image; the row is returned.

    Idempotent: a row that is already ready or rejected is returned as it is.
    ConflictError (NOT_UPLOADED) while the file is not in S3 yet.
    """
    row = get_visible(store, image_id, caller)
    access.check_change(caller, row)
    if row["status"] != PENDING:
        return row
    incoming = layout.incoming_key(image_id)
    size = store.object_size(incoming)
    if size is None:
        current = get_visible(store, image_id)
        if current["status"] != PENDING:  # processed meanwhile (its incoming object then goes)
            return current
        raise NotUploadedError("the file is not in S3 yet: POST it to the upload URL first")
    limit = get_settings().max_direct_upload_bytes
    if size > limit:  # S3 enforces the policy's range; this guards stores that do not (moto)
        return _reject(store, row, f"the file is larger than {limit} bytes", FileTooLargeError.code)
    head = store.read_object(incoming, first_bytes=SNIFF_BYTES)
    if head is None:
        return _lost_race(store, row)
    kind = sniff(head)
    if kind is None:  # refused on its first bytes, without downloading the rest
        return _reject(store, row, NOT_AN_IMAGE)
    data = store.read_object(incoming)
    if data is None:
        return _lost_race(store, row)
    try:
        data = stored_bytes(data, kind.kind)
        decoded = decode(data)
    except RefusedError as exc:
        return _reject(store, row, str(exc), exc.code)
    return _make_ready(store, row, data, decoded)


def _make_ready(store: ImageStore, row: ImageRow, data: bytes, decoded: Decoded) -> ImageRow:
    digest = hashlib.sha256(data).digest()
    content = layout.content_id(row["user"], digest.hex())
    holder = repeated(store, content)  # a repeat of the user's bytes is not stored: found before writing
    if holder is not None and holder["id"] != row["id"]:
        return _reject_duplicate(store, row, holder["id"])
    ready: ImageRow = {**with_status(with_image(row, len(data), digest.hex(), decoded), READY), "content_id": content}
    # The very bytes that were checked are written, not a copy of whatever the incoming object
    # holds by now: the form stays valid for 15 minutes, and a client may post again meanwhile.
    store.put_object(ready["key"], data, ready["content_type"], row["id"], digest)
    store.put_object(ready["thumbnail_key"], decoded.thumbnail, decoded.thumbnail_type, row["id"])
    replaced, holder = hold_bytes(
        store, ready, lambda written, stale_owner: store.replace_row(row, written, stale_owner)
    )
    if holder is not None:  # the same bytes won a race meanwhile
        delete_objects_quietly(store, ready)
        return _reject_duplicate(store, row, holder["id"])
    if not replaced:  # processed or deleted meanwhile
        return _lost_race(store, row, written=ready)
    delete_quietly(store, layout.incoming_key(row["id"]))
    count_upload(len(data))
    return ready


def _reject_duplicate(store: ImageStore, row: ImageRow, holder: str) -> ImageRow:
    """A direct upload of bytes its user has stored already (as `holder`) ends rejected, pointing at it."""
    return _reject(store, row, f"the same bytes as image {holder}", DuplicateImageError.code, duplicate_of=holder)


def original_of(store: ImageStore, row: ImageRow) -> ImageRow | None:
    """The ready image a rejected direct upload repeated (its bytes), or None."""
    if row.get("rejection_code") != DuplicateImageError.code or not row.get("duplicate_of"):
        return None
    original = store.get_row(row["duplicate_of"])
    return original if original is not None and original["status"] == READY else None


def _lost_race(store: ImageStore, row: ImageRow, written: ImageRow | None = None) -> ImageRow:
    """The row changed under a processing run: S3's notification and a complete ran at once,
    the file was posted again, or the image was deleted. Answer what is there now."""
    current = store.get_row(row["id"])
    if current is None or current["status"] == DELETING:
        if written is not None:  # what this run wrote belongs to no image
            delete_objects_quietly(store, written)
        raise NotFoundError()
    if current["status"] == PENDING:  # the same upload, its file replaced since it was read
        raise ConflictError("the file changed while it was processed; complete again")
    return current


def _reject(
    store: ImageStore, row: ImageRow, reason: str, code: str = NotAnImageError.code, duplicate_of: str | None = None
) -> ImageRow:
    """`row` rejected for `reason` (a duplicate: of the image `duplicate_of`), if it is still as it was read."""
    said: ImageRow = {**row, "rejection_reason": reason[:300], "rejection_code": code}
    if duplicate_of is not None:
        said["duplicate_of"] = duplicate_of
    rejected = with_status(said, REJECTED)
    if not store.replace_row(row, rejected):
        return get_visible(store, row["id"])
    delete_quietly(store, layout.incoming_key(row["id"]))
    logger.info("direct upload rejected", extra={"image_id": row["id"], "reason": reason})
    return rejected


def rejection_of(row: ImageRow) -> DomainError:
    """The refusal a rejected direct upload answers `complete` with, every time."""
    if row.get("rejection_code") == DuplicateImageError.code:
        return DuplicateImageError(row.get("duplicate_of"))
    return rejection(row.get("rejection_code", NotAnImageError.code), row.get("rejection_reason", ""))


def process_notification(store: ImageStore, keys: list[str]) -> dict[str, str]:
    """Process the direct uploads S3 says arrived; their statuses (or why nothing was done), by id.

    A failure raises, so that Lambda's asynchronous retries run it again
    (processing is idempotent); an unknown or already processed id does not.
    """
    statuses: dict[str, str] = {}
    for key in keys:
        image_id = layout.incoming_id(key)
        if image_id is None:
            logger.warning("ignored an S3 object outside the incoming prefix", extra={"key": key})
            continue
        try:
            statuses[image_id] = process_upload(store, image_id)["status"]
        except (NotFoundError, ConflictError) as exc:  # deleted meanwhile; or gone again, or not there
            logger.info("nothing to process", extra={"image_id": image_id, "reason": exc.message})
            statuses[image_id] = exc.code
    return statuses
