"""Storage adapter: the only module that talks to S3 and DynamoDB.

Clients are created once per execution environment (first use), not per
request. Rows are plain dicts of Python values; the (de)serialisation to
DynamoDB's typed JSON happens here and nowhere else.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Listing and deleting use these statuses; later stages of an upload add more.
READY = "ready"
DELETING = "deleting"


def _client_config(endpoint_url: str) -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=20,
        # A custom endpoint (LocalStack, moto) serves buckets by path, not by host name.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        signature_version="s3v4",
    )


@lru_cache(maxsize=1)
def s3_client() -> S3Client:
    settings = get_settings()
    return boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or None,
        config=_client_config(settings.endpoint_url),
    )


@lru_cache(maxsize=1)
def presign_client() -> S3Client:
    """Signs URLs for the host the user reaches S3 at (not the Lambda's internal endpoint).

    A signature covers the Host header, so the URL must be signed for the
    public endpoint rather than rewritten afterwards.
    """
    settings = get_settings()
    public = settings.public_s3_endpoint or settings.endpoint_url
    return boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=public or None,
        config=_client_config(public),
    )


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    settings = get_settings()
    return boto3.client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or None,
        config=_client_config(settings.endpoint_url),
    )


def reset_clients() -> None:
    """Forget clients and settings (tests switch endpoints and environments)."""
    for cached in (s3_client, presign_client, dynamodb_client, get_settings):
        cached.cache_clear()


def to_item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in row.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: _deserializer.deserialize(v) for k, v in item.items()}
    # DynamoDB numbers come back as Decimal; every number this service stores is an integer.
    return {k: int(v) if type(v).__name__ == "Decimal" else v for k, v in row.items()}


class ImageStore:
    """Objects in one bucket and their rows in one table."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.bucket = self.settings.bucket
        self.table = self.settings.table

    # --- objects -----------------------------------------------------------
    def put_object(self, key: str, data: bytes, content_type: str, sha256: bytes, image_id: str) -> None:
        s3_client().put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            # S3 recomputes the checksum and refuses the write if a byte changed on the way.
            ChecksumSHA256=base64.b64encode(sha256).decode(),
            # Lets reconciliation tie an object back to its row.
            Metadata={"image-id": image_id},
        )

    def delete_object(self, key: str) -> None:
        s3_client().delete_object(Bucket=self.bucket, Key=key)  # idempotent: a missing key is fine

    def presigned_get(self, key: str, expires_in: int, disposition: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        return presign_client().generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    # --- rows --------------------------------------------------------------
    def put_new_row(self, row: Mapping[str, Any]) -> None:
        """Write a row whose id must not exist yet."""
        dynamodb_client().put_item(
            TableName=self.table,
            Item=to_item(row),
            ConditionExpression="attribute_not_exists(id)",
        )

    def get_row(self, image_id: str) -> dict[str, Any] | None:
        response = dynamodb_client().get_item(TableName=self.table, Key={"id": {"S": image_id}}, ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def mark_deleting(self, image_id: str) -> dict[str, Any] | None:
        """Take a row out of every listing before its object goes; None when there is no row.

        A row in status `deleting` is a tombstone: the object may or may not
        still exist, and any later DELETE (or reconciliation) finishes the job.
        """
        try:
            response = dynamodb_client().update_item(
                TableName=self.table,
                Key={"id": {"S": image_id}},
                # Out of the user index (sparse) and into the `deleting` partition
                # of the status index, where reconciliation finds unfinished deletes.
                UpdateExpression="SET #status = :deleting REMOVE user_status",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":deleting": {"S": DELETING}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return from_item(response["Attributes"])

    def delete_row(self, image_id: str) -> None:
        dynamodb_client().delete_item(TableName=self.table, Key={"id": {"S": image_id}})

    def query_by_time(
        self,
        index: str,
        partition: tuple[str, str],
        limit: int,
        after: str | None,
        newest_first: bool = True,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `limit` rows of one index partition in time order, starting after sort key `after`.

        Reads `limit + 1` rows so that it knows whether another page exists
        without an extra, possibly empty, round trip; keeps reading when
        DynamoDB's 1 MB page cut a page short. Returns (rows, more).
        """
        attribute, value = partition
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": attribute},
            "ExpressionAttributeValues": {":p": {"S": value}},
            "ScanIndexForward": not newest_first,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = {
                attribute: {"S": value},
                "sort_key": {"S": after},
                "id": {"S": after.split("#", 1)[1]},
            }
        rows: list[dict[str, Any]] = []
        while True:
            kwargs["Limit"] = limit + 1 - len(rows)
            response = dynamodb_client().query(**kwargs)
            rows.extend(from_item(item) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if len(rows) > limit or not last:
                break
            kwargs["ExclusiveStartKey"] = last
        return rows[:limit], len(rows) > limit
