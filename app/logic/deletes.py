"""Deleting an image, so that exactly one caller deletes it and nothing is left behind.

The order: the row becomes a `deleting` tombstone and loses its tag items (one
transaction: gone from every listing and from /view), its variants are listed
(one prefix), then the objects and the row are deleted, at once. If the objects could
not be deleted the tombstone is put back, so the state is as if only the row's
delete had not happened yet; if even that fails, or the function dies between
the two, the objects are orphans that reconciliation removes. Each step is idempotent.

Exactly one caller deletes an image, however many race: the tombstone names
its deleter (`delete_claim`) and holds the image for as long as a function
can run (`delete_until`); others are refused meanwhile. A delete whose deleter
failed (its claim released) or died (its claim expired) is taken over by the
next one, so the clean-up of a crashed delete still completes; reconciliation
finishes the ones nobody retried. The row is removed only under the claim that
made the tombstone: whoever removes it is the one caller told it deleted.
"""

from __future__ import annotations

import uuid
from functools import partial

from app import layout
from app.errors import ConflictError, NotFoundError
from app.layout import DELETING
from app.logic import access
from app.logic.access import ANYONE, Caller
from app.logic.images import now_ms, object_keys, with_status
from app.observability import logger, metrics
from app.records import ImageRow
from app.settings import get_settings
from app.storage import ImageStore, operations_at_once, outcomes


def delete_image(store: ImageStore, image_id: str, caller: Caller = ANYONE) -> ImageRow:
    """Delete objects and row; the old row is returned. NotFoundError, ConflictError while another
    deletes it, ForbiddenError for someone else's image (app/logic/access.py)."""
    claim = str(uuid.uuid4())
    row, tombstone = _claim_for_delete(store, image_id, claim, caller)
    try:
        keys = _every_object(store, row)  # before the row goes: a delete that dies leaves its tombstone
    except Exception:
        _release_quietly(store, image_id, claim)
        raise
    objects, row_deleted = outcomes([lambda: store.delete_objects(keys), lambda: store.delete_row(image_id, claim)])
    if isinstance(objects, Exception):
        if row_deleted is True:  # the objects outlived their row: make it a tombstone again, for the retry
            _restore_quietly(store, {**tombstone, "delete_until": 0})
        else:
            _release_quietly(store, image_id, claim)
        raise objects
    if isinstance(row_deleted, Exception):
        _release_quietly(store, image_id, claim)
        raise row_deleted
    if not row_deleted:  # taken over after our claim expired: theirs to report
        raise NotFoundError()
    metrics.add_metric(name="ImagesDeleted", unit="Count", value=1)
    return row


def delete_images(store: ImageStore, image_ids: list[str], caller: Caller = ANYONE) -> list[ImageRow | Exception]:
    """Several images (distinct ids), each deleted as delete_image deletes one (its claim, its order of
    writes, its clean-up), several at once: per id, in order, its old row or what refused or failed it.
    One failing never stops the others, and leaves its image as a failed single delete would."""
    return operations_at_once([partial(delete_image, store, image_id, caller) for image_id in image_ids])


def _every_object(store: ImageStore, row: ImageRow) -> list[str]:
    """The image's objects and its variants (logic/variants.py): those listed now, after the tombstone;
    one rendered later deletes itself when it finds the tombstone."""
    return object_keys(row) + store.keys_under(layout.variants_prefix(row["id"]))


def _claim_for_delete(store: ImageStore, image_id: str, claim: str, caller: Caller) -> tuple[ImageRow, ImageRow]:
    """Turn the row into this caller's tombstone: (the row, the tombstone); NotFoundError (no such image)
    or ConflictError (being deleted)."""
    for _ in range(3):
        row = store.get_row(image_id) if layout.ID_RE.fullmatch(image_id) else None
        if row is None:
            raise NotFoundError()
        access.check_change(caller, row)
        if row["status"] == DELETING and row.get("delete_until", 0) > now_ms():
            seconds = -(-(row["delete_until"] - now_ms()) // 1000)
            raise ConflictError(
                f"another request is deleting this image; retry in {seconds} s", "DELETE_IN_PROGRESS", seconds
            )
        lease_ms = (get_settings().function_timeout + 5) * 1000  # nobody runs longer than the function may
        tombstone: ImageRow = {**with_status(row, DELETING), "delete_claim": claim, "delete_until": now_ms() + lease_ms}
        if store.replace_row(row, tombstone):
            return row, tombstone
    # The row kept changing under us (processing finishing, another delete).
    raise ConflictError("the image changed while being deleted; retry")


def _restore_quietly(store: ImageStore, tombstone: ImageRow) -> None:
    try:
        store.restore_tombstone(tombstone)
    except Exception:  # the objects are orphans now: reconciliation removes them
        logger.exception("could not restore a tombstone", extra={"image_id": tombstone["id"]})


def _release_quietly(store: ImageStore, image_id: str, claim: str) -> None:
    """Let a retry take over a failed delete at once rather than when the claim expires."""
    try:
        store.release_claim(image_id, claim)
    except Exception:  # the claim then expires by itself, and a retry or reconciliation finishes the delete
        logger.exception("could not release a delete's claim", extra={"image_id": image_id})
