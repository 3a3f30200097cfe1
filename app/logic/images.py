"""An image's record: its row (new, in another status, describing its bytes), its objects, and how it is shown.

A row is a plain dict: the image row of app/layout.py, as the storage adapter
reads and writes it. Every status change makes a new row with `with_status`,
so that the index keys that embed the status follow it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from app import layout
from app.errors import NotFoundError
from app.layout import DELETING, READY
from app.logic import access
from app.logic.access import ANYONE, Caller
from app.logic.files import TYPES, clean_original_name, content_disposition
from app.records import ImageRow, ListedImage
from app.settings import get_settings
from app.storage import ImageStore, RequestClaims

if TYPE_CHECKING:
    from app.imaging.decode import Decoded


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def status_shard(image_id: str, status: str) -> str:
    """The image's partition of the shard index (app/layout.py) under this deployment's shard count."""
    return layout.status_shard(status, layout.shard_of(image_id, get_settings().listing_shards))


def with_status(row: ImageRow, status: str) -> ImageRow:
    """The row in another status, its index keys following (a tombstone leaves the user index)."""
    changed: ImageRow = {**row, "status": status, "status_shard": status_shard(row["id"], status)}
    if status in layout.LISTED_STATUSES:
        changed["user_status"] = layout.user_status(row["user"], status)
    else:  # out of every listing, and its bytes free for its user to store again
        changed.pop("user_status", None)
        changed.pop("content_id", None)
    return changed


class Urls(TypedDict):
    """Where a client fetches an image and its thumbnail (None until it is ready), and for how long."""

    url: str | None
    thumbnail_url: str | None
    expires_in: int


@dataclass(frozen=True)
class NewImage:
    """What an uploader says of a new image, whichever way it comes: whose, its words, its file's name."""

    user: str
    description: str
    original_name: str | None
    tags: list[str]


def new_row(image: NewImage, status: str, image_id: str | None = None) -> ImageRow:
    """A row for a new image: who, what, when; the bytes are described by `with_image`. Its id is
    a new one, or `image_id`: the one a keyed request makes (id_for_request)."""
    image_id = image_id or str(uuid.uuid4())
    created_ms = now_ms()
    name = clean_original_name(image.original_name) or image_id
    row: ImageRow = {
        "id": image_id,
        "key": layout.incoming_key(image_id),
        "user": image.user,
        "description": image.description,
        "original_name": name,
        "name_search": name.casefold(),  # what ?name_contains= matches, case-insensitively
        "tags": image.tags,
        "created_at": created_ms // 1000,
        "sort_key": layout.sort_key(created_ms, image_id),
        "status": status,
        "status_shard": "",  # with_status sets it, and the user index's key
    }
    return with_status(row, status)


def id_for_request(store: ImageStore, request: str, until: int) -> str:
    """The id the image of a keyed request takes (`request`: a digest of it; app/web/retries.py).

    The id an earlier attempt of this very request claimed, while the claim lasts (until `until`)
    and that image's row exists: the logic then finds what that attempt stored instead of storing
    another. Otherwise a new one, which the claim names from then on. So the id of an image that
    is gone is never made again: its presigned URLs, and copies cached for a year, are still out there.
    """
    claims, now, fresh = RequestClaims(), int(time.time()), str(uuid.uuid4())
    claimed = claims.claim(request, fresh, until, now)
    if claimed == fresh or store.get_row(claimed) is not None:
        return claimed
    return claims.move(request, claimed, fresh, until, now)


def with_image(row: ImageRow, size: int, sha256: str, decoded: Decoded) -> ImageRow:
    """The row describing bytes of `size` and `sha256` (hex), stored at their final key, with their thumbnail."""
    kind = TYPES[decoded.format]
    return {
        **row,
        "key": layout.image_key(row["id"], kind.extension),
        "content_type": kind.mime,
        "format": decoded.format,
        "size": size,
        "sha256": sha256,
        "width": decoded.width,
        "height": decoded.height,
        "thumbnail_key": layout.thumbnail_key(row["id"], decoded.thumbnail_extension),
    }


def object_keys(row: ImageRow) -> list[str]:
    """Every object a row may own."""
    keys = {row["key"], layout.incoming_key(row["id"])}
    if row.get("thumbnail_key"):
        keys.add(row["thumbnail_key"])
    return sorted(keys)


def get_visible(store: ImageStore, image_id: str, caller: Caller = ANYONE) -> ImageRow:
    """The row of an image that exists (ready, pending or rejected) for this caller; NotFoundError
    also for ids that cannot exist, and for another user's image when images are private."""
    row = store.get_row(image_id) if layout.ID_RE.fullmatch(image_id) else None
    if row is None or row.get("status") == DELETING:
        raise NotFoundError()
    access.check_visible(caller, row)
    return row


def thumbnail_url(store: ImageStore, row: ListedImage) -> str | None:
    """Presigned URL of a ready image's thumbnail, or None."""
    thumbnail = row.get("thumbnail_key")
    if row["status"] != READY or not thumbnail:
        return None
    return store.presigned_get(thumbnail, get_settings().url_expires_in)


def presigned_urls(store: ImageStore, row: ImageRow, download: bool = False) -> Urls:
    """`url` and `thumbnail_url` of a ready image (None otherwise), and `expires_in`."""
    expires_in = get_settings().url_expires_in
    url = None
    if row["status"] == READY:
        disposition = content_disposition(row.get("original_name", ""), row["key"], download)
        url = store.presigned_get(row["key"], expires_in, disposition)
    return {"url": url, "thumbnail_url": thumbnail_url(store, row), "expires_in": expires_in}
