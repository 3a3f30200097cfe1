"""The stored records, each field in one place: what the storage adapter reads and writes and the
logic speaks in. Key formats and indexes are in app/layout.py; this says what each item holds.

They are TypedDicts, not classes: a record is the DynamoDB item's own shape (app/storage/dynamo.py
converts it to and from DynamoDB's typed values), so reading and writing one copies nothing and a
field added to the table stays readable by older code. mypy checks every field's name and type.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class ListedImage(TypedDict):
    """What a listing shows of an image: the fields every index item carries, the row's in the images
    table's indexes and the tag item's copy in the tags table (TAG_ITEM_FIELDS, below, are these)."""

    id: str  # a uuid4, lower case (layout.ID_PATTERN); never made twice (logic/images.id_for_request)
    key: str  # its object: "<id>.<ext>" once processed, "incoming/<id>" while a direct upload is pending
    user: str  # whose (models.USER_PATTERN)
    description: str
    original_name: str  # the client's file name, made safe (logic/files.clean_original_name)
    name_search: str  # original_name case-folded: what ?name_contains= matches
    tags: list[str]
    created_at: int  # epoch seconds
    sort_key: str  # "<created ms, 13 digits>#<id>": time-ordered and unique, in every index
    status: str  # layout.READY, PENDING, REJECTED or DELETING
    # Known once its bytes are (logic/images.with_image); a pending direct upload has only the
    # declared content_type and size.
    content_type: NotRequired[str]
    size: NotRequired[int]
    width: NotRequired[int]
    height: NotRequired[int]
    thumbnail_key: NotRequired[str]


class ImageRow(ListedImage):
    """An image's row in the images table, keyed by `id`: the source of truth for the image."""

    status_shard: str  # "<status>#<shard>": its partition of the shard index
    user_status: NotRequired[str]  # "<user>#<status>": the user index; not on a `deleting` tombstone
    format: NotRequired[str]  # the decoder's name for it: jpeg, png, gif, webp, avif, heic
    sha256: NotRequired[str]  # hex, of the bytes as stored (after metadata stripping)
    content_id: NotRequired[str]  # its content item's id (layout.content_id), while it holds its bytes
    revision: NotRequired[int]  # 1, 2, ...: every edit counts it up; every change is conditional on it
    rejection_reason: NotRequired[str]  # a rejected direct upload: why, for people
    rejection_code: NotRequired[str]  # and the error code it answers with
    duplicate_of: NotRequired[str]  # a rejected duplicate: the image that holds those bytes
    delete_claim: NotRequired[str]  # a `deleting` tombstone: which delete holds it
    delete_until: NotRequired[int]  # and until when (epoch ms), before another may take it over


class TagItem(ListedImage):
    """One (tag, image) of the tags table: partition "<tag>#<status>", sort key the row's, and the
    fields a listing shows, written in the same transaction as the row."""

    tag_status: str
    user_tag_status: str  # "<user>#<tag>#<status>": the by-user-tag index


# The fields a tag item copies from its row (everything a listing shows but the sort key, its own key).
TAG_ITEM_FIELDS = tuple(name for name in ListedImage.__annotations__ if name != "sort_key")
