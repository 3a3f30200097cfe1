"""The layout of the stored data: the objects' keys in the bucket, the tables, their indexes and key formats.

This is the single description of both stores. The Lambda writes and queries
what is named here, deploy.sh creates the tables and the bucket notification
from it (through `python3 -m deploy.resources`), the local server creates the
tables from the same functions, and the maintenance tool reads keys back with
`key_owner`, so none of them can drift. Standard library only.
"""

from __future__ import annotations

import re
from typing import Any

# --- objects ---------------------------------------------------------------------------
# <id>.<ext>                      an image: the bytes that were checked
# THUMBNAILS_PREFIX + <id>.<ext>  its thumbnail
# INCOMING_PREFIX + <id>          a direct upload as the client posted it, until processed
# VARIANTS_PREFIX + <id>/<w>x<h>-<fit>.<ext>
#                                 a variant rendered on request (0: that side follows the aspect ratio;
#                                 0x0: the image's own size, for every box it fits in whole)
INCOMING_PREFIX = "incoming/"  # S3 notifies the function of objects created under it
THUMBNAILS_PREFIX = "thumbnails/"
VARIANTS_PREFIX = "variants/"
# Every object of an image is written once and never changes (ids are never reused, a variant's
# key names everything that makes it): a browser keeps it for a year without asking again.
# `private`: images may be private (VISIBILITY), so no shared cache keeps them unless one is
# put in front on purpose.
OBJECT_CACHE_CONTROL = "private, max-age=31536000, immutable"

# --- tables ----------------------------------------------------------------------------
# Image rows, keyed by id.  Every row carries `status` and a `sort_key`
# ("<created_ms, 13 digits>#<id>"): a string that orders by creation time and
# is unique, so pages never tie and cursors name one exact position. An edited row carries
# `revision` (1, 2, ...: every PATCH counts it up; every change of a row is conditional on it).
# Image ids are UUIDs (uuid4, lower case): keys, sort keys and cursors all contain one.
ID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ID_RE = re.compile(rf"^{ID_PATTERN}$")
_KEY_RE = re.compile(
    rf"^(?:{re.escape(INCOMING_PREFIX)}|{re.escape(THUMBNAILS_PREFIX)})?({ID_PATTERN})(?:\.\w+)?$"
    rf"|^{re.escape(VARIANTS_PREFIX)}({ID_PATTERN})/\d+x\d+-\w+\.\w+$"
)


def image_key(image_id: str, extension: str) -> str:
    return f"{image_id}.{extension}"


def thumbnail_key(image_id: str, extension: str) -> str:
    return f"{THUMBNAILS_PREFIX}{image_id}.{extension}"


def variants_prefix(image_id: str) -> str:
    """Where an image's variants are: one prefix, so that a delete lists them with one request."""
    return f"{VARIANTS_PREFIX}{image_id}/"


def variant_key(image_id: str, width: int, height: int, fit: str, extension: str) -> str:
    """A variant's key names all that makes it, so it is rendered once and never changes."""
    return f"{variants_prefix(image_id)}{width}x{height}-{fit}.{extension}"


def incoming_key(image_id: str) -> str:
    """Where a direct upload lands before processing."""
    return f"{INCOMING_PREFIX}{image_id}"


def incoming_id(key: str) -> str | None:
    """The image id of a direct upload's key, or None for any other key."""
    prefix, image_id = key[: len(INCOMING_PREFIX)], key[len(INCOMING_PREFIX) :]
    return image_id if prefix == INCOMING_PREFIX and ID_RE.fullmatch(image_id) else None


def key_owner(key: str) -> str | None:
    """The id of the image a key of this layout belongs to, or None for a key this service never writes."""
    match = _KEY_RE.fullmatch(key)
    return None if match is None else match.group(1) or match.group(2)


# A content item, id CONTENT_PREFIX + "<user>#<sha256 hex>", holds `image_id`: the one image of that
# user with those bytes. It is written and removed in the same transactions as that image's row,
# and is the uniqueness check a duplicate upload meets. It has no status and no user_status,
# so it is in no index and no listing; a table Scan (awslocal dynamodb scan) shows it.
CONTENT_PREFIX = "content#"


def content_id(user: str, sha256_hex: str) -> str:
    return f"{CONTENT_PREFIX}{user}#{sha256_hex}"


# All images of one status are spread over `shards` partitions of the shard index
# (status_shard = "<status>#<shard>"), so that no single partition takes every write:
# one DynamoDB partition accepts about 1,000 writes a second, and a key whose sort key
# only grows is never split for heat. A listing of all images merges the shards' queries
# (app/storage/shards.py). An image's shard follows from its id, so it never moves while
# the number of shards stays the same; see docs/capacity.md for choosing the number.
BY_SHARD_INDEX = "by-status-shard"
RETIRED_INDEXES = ("by-status",)  # one partition per status: replaced by BY_SHARD_INDEX (make migrate)
MAX_SHARDS = 64
BY_USER_INDEX = "by-user"  # one user's images of one status, by time (user_status = "<user>#<status>")

# The tags table holds one item per (tag, image): partition "<tag>#<status>",
# sort key the image's sort_key, and a copy of the fields a listing shows, so
# that one tag's images page by time from a single Query. The image row stays
# the source of truth; tag items are written and removed with it, in one transaction.
# The fields a tag item copies are app/records.py's TAG_ITEM_FIELDS.
# Its index BY_USER_TAG_INDEX ("<user>#<tag>#<status>") holds one user's images of a tag: a
# listing narrowed to a user (private images: always the caller) reads that user's items only,
# so that nothing of a page, its cursor or its timing depends on another user's images.
BY_USER_TAG_INDEX = "by-user-tag"
READY = "ready"  # processed, listed by default
PENDING = "pending"  # a direct upload whose file may not have arrived yet
REJECTED = "rejected"  # a direct upload that was not an accepted image; its object is deleted
DELETING = "deleting"  # a tombstone: out of every listing, its objects on their way out
# Rows of these statuses are in the user index and have tag items; `deleting` rows are not.
LISTED_STATUSES = (READY, PENDING, REJECTED)


def sort_key(created_ms: int, image_id: str) -> str:
    """The time-ordered, unique key of an image in every index."""
    return f"{created_ms:013d}#{image_id}"


def shard_of(image_id: str, shards: int) -> int:
    """The shard of an image: uuid4's first 32 bits are random, so ids spread evenly over any count."""
    return int(image_id[:8], 16) % shards


def status_shard(status: str, shard: int) -> str:
    """Partition value of `BY_SHARD_INDEX`."""
    return f"{status}#{shard:02d}"


def user_status(user: str, status: str) -> str:
    """Partition value of `BY_USER_INDEX`: users are `[A-Za-z0-9_.-]`, so '#' cannot collide."""
    return f"{user}#{status}"


def tag_status(tag: str, status: str) -> str:
    """Partition value of the tags table: tags are `[a-z0-9_.-]`, so '#' cannot collide."""
    return f"{tag}#{status}"


def user_tag_status(user: str, tag: str, status: str) -> str:
    """Partition value of the tags table's BY_USER_TAG_INDEX: neither users nor tags hold '#'."""
    return f"{user}#{tag}#{status}"


def _gsi(name: str, partition: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
        # ALL: a page of the listing is served by the index alone, one read per item.
        "Projection": {"ProjectionType": "ALL"},
    }


def images_table_spec(table_name: str) -> dict[str, Any]:
    """CreateTable arguments of the images table (boto3 and `aws dynamodb create-table --cli-input-json`)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in ("id", "status_shard", "user_status", "sort_key")
        ],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            _gsi(BY_SHARD_INDEX, "status_shard"),
            _gsi(BY_USER_INDEX, "user_status"),
        ],
    }


def tags_table_spec(table_name: str) -> dict[str, Any]:
    """CreateTable arguments of the tags table."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in ("tag_status", "sort_key", "user_tag_status")
        ],
        "KeySchema": [
            {"AttributeName": "tag_status", "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [_gsi(BY_USER_TAG_INDEX, "user_tag_status")],
    }


# The idempotency table holds one record per Idempotency-Key a client sent (app/web/retries.py,
# through Powertools' Idempotency utility, whose attribute names these are): id
# "<prefix>#<hash of scope, caller and key>", the answer, a hash of the request, and
# IDEMPOTENCY_EXPIRY (epoch seconds), after which DynamoDB's time to live deletes it.
# Beside them, one claim per keyed request that makes an image: id REQUEST_ID_PREFIX + <hash of
# the request>, the `image_id` its attempts make, and IDEMPOTENCY_EXPIRY (app/storage/claims.py).
IDEMPOTENCY_EXPIRY = "expiration"
REQUEST_ID_PREFIX = "image-id#"


def idempotency_table_spec(table_name: str) -> dict[str, Any]:
    """CreateTable arguments of the idempotency table."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    }


def time_to_live(idempotency_table: str) -> dict[str, Any]:
    """UpdateTimeToLive arguments: records expire on their own (CreateTable cannot say so)."""
    return {
        "TableName": idempotency_table,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": IDEMPOTENCY_EXPIRY},
    }


def table_specs(images_table: str, tags_table: str, idempotency_table: str) -> list[dict[str, Any]]:
    """Every table the service needs, in creation order."""
    return [images_table_spec(images_table), tags_table_spec(tags_table), idempotency_table_spec(idempotency_table)]
