"""Whole-store reads, for maintenance (reconcile, migrate): never on a request's path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app import layout
from app.settings import get_settings
from app.storage.clients import Boto, dynamodb_client, s3_client
from app.storage.dynamo import from_item, held


def _scan(table: str, fields: tuple[str, ...]) -> Iterator[Boto]:
    names = {f"#f{n}": name for n, name in enumerate(fields)}
    paginator = dynamodb_client().get_paginator("scan")
    pages = paginator.paginate(TableName=table, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
    for page in pages:
        yield from (from_item(item) for item in page.get("Items", []))


class Inventory:
    """Every object and every row, a page at a time; ImageStore has these as methods."""

    bucket: str
    table: str
    tags_table: str

    def scan_rows(self, fields: tuple[str, ...]) -> Iterator[Boto]:
        """Every item of the images table, only `fields`: a Scan, which only a migration may use."""
        return _scan(self.table, fields)

    def scan_tag_items(self, fields: tuple[str, ...]) -> Iterator[Boto]:
        """Every item of the tags table, only `fields` (a Scan: migrations only)."""
        return _scan(self.tags_table, fields)

    def index_tag_item(self, tag_status: str, sort_key: str, user_tag_status: str) -> bool:
        """Give a tag item its key of the user's tag index, if it still exists; False if it is gone."""
        return held(
            lambda: dynamodb_client().update_item(
                TableName=self.tags_table,
                Key={"tag_status": {"S": tag_status}, "sort_key": {"S": sort_key}},
                UpdateExpression="SET user_tag_status = :key",
                ConditionExpression="attribute_exists(tag_status)",  # never recreate one a write removed
                ExpressionAttributeValues={":key": {"S": user_tag_status}},
            )
        )

    def iter_objects(self) -> Iterator[Any]:
        """Every object in the bucket ({"Key", "LastModified", "Size", ...}), a page of 1,000 at a time."""
        for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            yield from page.get("Contents", [])

    def iter_rows(self, status: str, fields: tuple[str, ...]) -> Iterator[Boto]:
        """Every row of one status, only `fields`, paging a Query on each shard of the shard index (no Scan)."""
        names = {f"#f{n}": name for n, name in enumerate(fields)}
        paginator = dynamodb_client().get_paginator("query")
        for shard in range(get_settings().listing_shards):
            pages = paginator.paginate(
                TableName=self.table,
                IndexName=layout.BY_SHARD_INDEX,
                KeyConditionExpression="status_shard = :shard",
                ProjectionExpression=", ".join(names),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={":shard": {"S": layout.status_shard(status, shard)}},
            )
            for page in pages:
                yield from (from_item(item) for item in page.get("Items", []))
