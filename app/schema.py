"""The shape of the stored data: DynamoDB tables, their indexes and key formats.

This is the single description of the tables. The Lambda queries the indexes
named here, deploy.sh creates the tables from `table_specs()` (through
`python3 -m deploy.resources`), and the local server creates them from the
same function, so the three cannot drift. Standard library only.
"""

from __future__ import annotations

from typing import Any

# Image rows, keyed by id.  Every row carries `status` and a `sort_key`
# ("<created_ms, 13 digits>#<id>"): a string that orders by creation time and
# is unique, so pages never tie and cursors name one exact position.
# Image ids are UUIDs (uuid4, lower case): keys, sort keys and cursors all contain one.
ID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

BY_STATUS_INDEX = "by-status"  # all images of one status, by time
BY_USER_INDEX = "by-user"  # one user's images of one status, by time (user_status = "<user>#<status>")

# The tags table holds one item per (tag, image): partition "<tag>#<status>",
# sort key the image's sort_key, and a copy of the fields a listing shows, so
# that one tag's images page by time from a single Query. The image row stays
# the source of truth; tag items are written and removed with it, in one transaction.
TAG_ITEM_FIELDS = (
    "id",
    "key",
    "user",
    "description",
    "original_name",
    "name_search",
    "content_type",
    "size",
    "created_at",
    "tags",
    "status",
    "width",
    "height",
    "thumbnail_key",
)
READY = "ready"  # processed, listed by default
PENDING = "pending"  # a direct upload whose file may not have arrived yet
REJECTED = "rejected"  # a direct upload that was not an accepted image; its object is deleted
DELETING = "deleting"  # a tombstone: out of every listing, its objects on their way out
# Rows of these statuses are in the user index and have tag items; `deleting` rows are not.
LISTED_STATUSES = (READY, PENDING, REJECTED)


def sort_key(created_ms: int, image_id: str) -> str:
    """The time-ordered, unique key of an image in every index."""
    return f"{created_ms:013d}#{image_id}"


def user_status(user: str, status: str) -> str:
    """Partition value of `BY_USER_INDEX`: users are `[A-Za-z0-9_.-]`, so '#' cannot collide."""
    return f"{user}#{status}"


def tag_status(tag: str, status: str) -> str:
    """Partition value of the tags table: tags are `[a-z0-9_.-]`, so '#' cannot collide."""
    return f"{tag}#{status}"


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
            {"AttributeName": name, "AttributeType": "S"} for name in ("id", "status", "user_status", "sort_key")
        ],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            _gsi(BY_STATUS_INDEX, "status"),
            _gsi(BY_USER_INDEX, "user_status"),
        ],
    }


def tags_table_spec(table_name: str) -> dict[str, Any]:
    """CreateTable arguments of the tags table."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "tag_status", "AttributeType": "S"},
            {"AttributeName": "sort_key", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "tag_status", "KeyType": "HASH"},
            {"AttributeName": "sort_key", "KeyType": "RANGE"},
        ],
    }


def table_specs(images_table: str, tags_table: str) -> list[dict[str, Any]]:
    """Every table the service needs, in creation order."""
    return [images_table_spec(images_table), tags_table_spec(tags_table)]
