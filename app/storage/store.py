"""The image store: objects in one bucket and their rows in two tables, as app/layout.py lays them out.

Rows are plain dicts of Python values; their (de)serialisation to DynamoDB's
typed items happens in dynamo.py and nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from typing import Any, cast

from botocore.exceptions import ClientError

from app import layout
from app.records import TAG_ITEM_FIELDS, ImageRow, ListedImage, TagItem
from app.settings import get_settings
from app.storage import shards
from app.storage.clients import Boto, dynamodb_client, in_parallel, presign_client, s3_client, signed_as_of
from app.storage.dynamo import TimeQuery, content_put, failed_check, from_item, held, tag_key, to_item
from app.storage.inventory import Inventory


class ContentTakenError(Exception):
    """Another image of the same user holds these bytes (the content item's condition failed)."""


class RowExistsError(Exception):
    """A row with this id exists already (the new row's condition failed)."""


MAX_PRESIGNED_SECONDS = 7 * 24 * 3600
DELETE_BATCH = 1000  # keys S3's DeleteObjects takes at once


def url_window_start(window: int, now: float | None = None) -> int:
    """The start (epoch seconds) of the window of presigned URLs that `now` falls in."""
    now = time.time() if now is None else now
    return int(now // window * window) if window > 0 else int(now)


def url_stays_for(now: float | None = None) -> int:
    """Seconds until presigned URLs change (the window ends): how long an answer naming one may be cached."""
    now = time.time() if now is None else now
    window = get_settings().url_window
    return max(0, url_window_start(window, now) + window - int(now))


class ImageStore(Inventory):
    """Objects in one bucket and their rows in one table."""

    def __init__(self) -> None:
        settings = get_settings()
        self.bucket = settings.bucket
        self.table = settings.table
        self.tags_table = settings.tags_table

    # --- objects -----------------------------------------------------------
    def put_object(self, key: str, data: bytes, content_type: str, image_id: str, sha256: bytes | None = None) -> None:
        """Write an object; `sha256` is the data's digest when the caller has it already."""
        s3_client().put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            # S3 recomputes the checksum and refuses the write if a byte changed on the way.
            ChecksumSHA256=base64.b64encode(sha256 or hashlib.sha256(data).digest()).decode(),
            # Lets reconciliation tie an object back to its row.
            Metadata={"image-id": image_id},
            CacheControl=layout.OBJECT_CACHE_CONTROL,  # S3 answers it with the bytes: browsers keep them
        )

    def read_object(self, key: str, first_bytes: int | None = None) -> bytes | None:
        """The object's bytes (only the first `first_bytes` if given), or None when there is no such object."""
        kwargs: Boto = {"Bucket": self.bucket, "Key": key}
        if first_bytes is not None:
            kwargs["Range"] = f"bytes=0-{first_bytes - 1}"
        try:
            return s3_client().get_object(**kwargs)["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "InvalidRange"):
                return None
            raise

    def object_size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""
        try:
            return s3_client().head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def keys_under(self, prefix: str) -> list[str]:
        """The keys of every object under `prefix` (an image's variants: a few hundred at most)."""
        pages = s3_client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def delete_object(self, key: str) -> None:
        s3_client().delete_object(Bucket=self.bucket, Key=key)  # idempotent: a missing key is fine

    def delete_objects(self, keys: list[str]) -> None:
        """Delete objects, a request per 1,000 (missing ones are fine); raises if any was not deleted."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = s3_client().delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
            if response.get("Errors"):  # S3 answers 200 and lists the keys it could not delete
                error = response["Errors"][0]
                raise ClientError(
                    {"Error": {"Code": error.get("Code", ""), "Message": error.get("Message", "")}}, "DeleteObjects"
                )

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> Boto:
        """A form POST straight to S3 whose policy pins the key, the Content-Type and the size range."""
        post: Boto = presign_client().generate_presigned_post(
            Bucket=self.bucket,
            Key=key,  # boto3 adds the exact-key condition itself
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return post

    def presigned_get(self, key: str, expires_in: int, disposition: str | None = None) -> str:
        """A URL valid for at least `expires_in` seconds, the same one all through a window of
        `url_window` seconds: signed as of the window's start, valid for that much longer."""
        params: Boto = {"Bucket": self.bucket, "Key": key}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        window = get_settings().url_window
        lifetime = max(expires_in, min(expires_in + window, MAX_PRESIGNED_SECONDS))  # SigV4 allows 7 days
        with signed_as_of(url_window_start(window)):
            return presign_client().generate_presigned_url("get_object", Params=params, ExpiresIn=lifetime)

    # --- rows --------------------------------------------------------------
    def tag_items(self, row: ImageRow) -> list[TagItem]:
        """The tags table's items of a row: one per tag, with the fields a listing shows."""
        if row["status"] not in layout.LISTED_STATUSES:
            return []
        copy = {name: row[name] for name in TAG_ITEM_FIELDS if name in row}  # type: ignore[literal-required]
        return [
            cast(
                TagItem,
                {
                    **copy,
                    "tag_status": layout.tag_status(tag, row["status"]),
                    "user_tag_status": layout.user_tag_status(row["user"], tag, row["status"]),
                    "sort_key": row["sort_key"],
                },
            )
            for tag in row.get("tags", [])
        ]

    def put_new_row(self, row: ImageRow, stale_owner: str | None = None) -> None:
        """Write a row whose id must not exist yet (RowExistsError), with its tag items and content item,
        all or nothing.

        A row with `content_id` claims those bytes for its user: ContentTakenError when another image
        holds them, unless that image is `stale_owner` (one found gone or being deleted).
        """
        if not row.get("tags") and not row.get("content_id"):
            item, new = to_item(row), "attribute_not_exists(id)"
            if not held(lambda: dynamodb_client().put_item(TableName=self.table, Item=item, ConditionExpression=new)):
                raise RowExistsError()
            return
        writes: list[Any] = [
            {"Put": {"TableName": self.table, "Item": to_item(row), "ConditionExpression": "attribute_not_exists(id)"}},
            *({"Put": {"TableName": self.tags_table, "Item": to_item(item)}} for item in self.tag_items(row)),
        ]
        if row.get("content_id"):
            writes.append({"Put": content_put(self.table, row["content_id"], row["id"], stale_owner)})
        try:
            dynamodb_client().transact_write_items(TransactItems=writes)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if len(reasons) == len(writes) and failed_check(reasons[0]):
                raise RowExistsError() from exc  # before the content item: it is likely this row's own
            if row.get("content_id") and len(reasons) == len(writes) and failed_check(reasons[-1]):
                raise ContentTakenError() from exc
            raise

    def content_owner(self, content_id: str) -> str | None:
        """The id of the image that holds a user's bytes (layout.content_id), or None."""
        response = dynamodb_client().get_item(TableName=self.table, Key={"id": {"S": content_id}}, ConsistentRead=True)
        item = response.get("Item")
        return str(item["image_id"]["S"]) if item else None

    def get_row(self, image_id: str) -> ImageRow | None:
        response = dynamodb_client().get_item(TableName=self.table, Key={"id": {"S": image_id}}, ConsistentRead=True)
        item = response.get("Item")
        return cast(ImageRow, from_item(item)) if item else None  # the item is a row: the table holds rows

    def replace_row(self, old: ImageRow, new: ImageRow, stale_owner: str | None = None) -> bool:
        """Replace a row and move its tag items, all or nothing, if the row is still as `old` saw it.

        Every change of a row goes through here: pending to ready or rejected,
        any status to the `deleting` tombstone, a tombstone to its new deleter, an
        edit (which counts up `revision`). False when the row is gone, or its status,
        revision or deleter changed meanwhile: the caller's view of it is stale.
        A `new` row that gains a `content_id` claims those bytes as put_new_row does
        (ContentTakenError, `stale_owner`); one that loses it frees them.
        """
        condition, values = "#status = :seen", {":seen": {"S": old["status"]}}
        if old.get("delete_claim"):
            condition += " AND delete_claim = :claim"
            values[":claim"] = {"S": old["delete_claim"]}
        if old.get("revision"):
            condition += " AND revision = :revision"
            values[":revision"] = {"N": str(old["revision"])}
        else:
            condition += " AND attribute_not_exists(revision)"
        put_row = {
            "TableName": self.table,
            "Item": to_item(new),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
        new_items = self.tag_items(new)
        kept = {(item["tag_status"], item["sort_key"]) for item in new_items}
        writes: list[Any] = [
            {"Put": put_row},
            # A transaction may touch an item once: a tag the row keeps is overwritten, not deleted.
            *(
                {"Delete": {"TableName": self.tags_table, "Key": tag_key(item)}}
                for item in self.tag_items(old)
                if (item["tag_status"], item["sort_key"]) not in kept
            ),
            *({"Put": {"TableName": self.tags_table, "Item": to_item(item)}} for item in new_items),
        ]
        if old.get("content_id") and not new.get("content_id"):  # the bytes are free again (a tombstone)
            writes.append({"Delete": {"TableName": self.table, "Key": {"id": {"S": old["content_id"]}}}})
        elif new.get("content_id") and not old.get("content_id"):  # a processed direct upload holds its bytes
            writes.append({"Put": content_put(self.table, new["content_id"], new["id"], stale_owner)})
        try:
            dynamodb_client().transact_write_items(TransactItems=writes)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            claims = new.get("content_id") and not old.get("content_id") and len(reasons) == len(writes)
            if claims and not failed_check(reasons[0]) and failed_check(reasons[-1]):
                raise ContentTakenError() from exc
            if any(failed_check(reason) for reason in reasons):
                return False
            raise
        return True

    def restore_tombstone(self, tombstone: ImageRow) -> None:
        """Put back a tombstone that was removed too early (its objects could not be deleted)."""
        dynamodb_client().put_item(
            TableName=self.table, Item=to_item(tombstone), ConditionExpression="attribute_not_exists(id)"
        )

    def delete_row(self, image_id: str, claim: str) -> bool:
        """Delete a tombstone if `claim` still holds it; False when another deleter took it over (or it is gone)."""
        return held(
            lambda: dynamodb_client().delete_item(
                TableName=self.table,
                Key={"id": {"S": image_id}},
                ConditionExpression="delete_claim = :claim",
                ExpressionAttributeValues={":claim": {"S": claim}},
            )
        )

    def release_claim(self, image_id: str, claim: str) -> None:
        """End a failed deleter's hold on its tombstone, so that a retry takes over at once."""
        dynamodb_client().update_item(
            TableName=self.table,
            Key={"id": {"S": image_id}},
            UpdateExpression="SET delete_until = :zero",
            ConditionExpression="delete_claim = :claim",
            ExpressionAttributeValues={":claim": {"S": claim}, ":zero": {"N": "0"}},
        )

    def query_page(
        self, queries: Sequence[TimeQuery], limit: int, after: str | None
    ) -> tuple[list[ListedImage], str | None]:
        """Up to `limit` rows of the partitions `queries` read, merged in time order after position
        `after`, and the position to continue from (None at the end): see shards.py."""
        rows, position = shards.read_page(
            lambda request: dict(dynamodb_client().query(**request)), in_parallel, queries, limit, after
        )
        return cast(list[ListedImage], rows), position  # every index item carries what a listing shows

    def set_status_shard(self, image_id: str, status: str, status_shard: str) -> bool:
        """Move a row to its partition of the shard index, if it still has `status`; False if not."""
        return held(
            lambda: dynamodb_client().update_item(
                TableName=self.table,
                Key={"id": {"S": image_id}},
                UpdateExpression="SET status_shard = :shard",
                ConditionExpression="#status = :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":shard": {"S": status_shard}, ":status": {"S": status}},
            )
        )
