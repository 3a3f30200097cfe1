"""Changing an image's description and tags, without losing a change made at the same time.

A row carries a `revision`, counted up by every edit; the write is conditional
on the row being as it was read (status and revision), so of two edits made
from the same version exactly one is written. The caller may name the version
it saw (the route's If-Match): when the image is no longer that version,
StaleVersionError, and nothing is written. The tag items move with the row in
the same transaction (ImageStore.replace_row), so a tag listing never shows
an old description or a removed tag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from app.errors import ConflictError, StaleVersionError
from app.layout import READY
from app.logic import access
from app.logic.access import ANYONE, Caller
from app.logic.images import get_visible
from app.records import ImageRow
from app.storage import ImageStore

Version = Callable[[ImageRow], bool]  # whether a row is the version the caller saw


def edit_image(
    store: ImageStore,
    image_id: str,
    changes: dict[str, Any],  # the route model's JSON (ImageEdit.changes): description, tags
    caller: Caller = ANYONE,
    seen: Version | None = None,
) -> ImageRow:
    """The row with `changes` (description, tags) made; the new row is returned.

    NotFoundError, ForbiddenError (not the owner), ConflictError (NOT_READY: a direct
    upload being processed, or an image being deleted), StaleVersionError (not `seen`).
    Without `seen`, an edit that meets another one is tried again on the new row.
    """
    for _ in range(3):
        row = get_visible(store, image_id, caller)
        access.check_change(caller, row)
        if seen is not None and not seen(row):
            raise StaleVersionError()
        if row["status"] != READY:  # processing rewrites a pending row whole: an edit would be lost
            raise ConflictError(f"the image is {row['status']}, not ready", "NOT_READY")
        # `changes` are the route model's (ImageEdit: description and tags, each checked there).
        edited = cast(ImageRow, {**row, **changes, "revision": row.get("revision", 0) + 1})
        if store.replace_row(row, edited):
            return edited
    raise ConflictError("the image kept changing while it was edited; retry")
