"""DynamoDB's side of the adapter: rows to and from typed items, and time-ordered queries of one partition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from app.storage.clients import Boto

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(row: Mapping[str, Any]) -> Boto:
    return {k: _serializer.serialize(v) for k, v in row.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> Boto:
    row = {k: _deserializer.deserialize(v) for k, v in item.items()}
    # DynamoDB numbers come back as Decimal; every number this service stores is an integer.
    return {k: int(v) if type(v).__name__ == "Decimal" else v for k, v in row.items()}


def content_put(table: str, content_id: str, image_id: str, stale_owner: str | None) -> Boto:
    """The Put of a content item (layout.content_id): only where none is, or where `stale_owner`'s is."""
    condition, values = "attribute_not_exists(id)", {}
    if stale_owner:
        condition += " OR image_id = :stale"
        values[":stale"] = {"S": stale_owner}
    put: Boto = {
        "TableName": table,
        "Item": to_item({"id": content_id, "image_id": image_id}),
        "ConditionExpression": condition,
    }
    if values:
        put["ExpressionAttributeValues"] = values
    return put


def tag_key(item: Mapping[str, Any]) -> Boto:
    """The key of a tags-table item."""
    return {"tag_status": {"S": item["tag_status"]}, "sort_key": {"S": item["sort_key"]}}


def held(write: Callable[[], object]) -> bool:
    """Run a conditional write: True when it was made, False when its condition did not hold."""
    try:
        write()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def failed_check(reason: Mapping[str, Any]) -> bool:
    """A transaction's cancellation reason is a condition that did not hold."""
    return reason.get("Code") == "ConditionalCheckFailed"


@dataclass(frozen=True)
class TimeQuery:
    """One index partition read in time order, optionally bounded and filtered.

    `table` and `index` (None: the table itself) say what is read; `partition` is
    (attribute, value). `sort_range` bounds `sort_key` (inclusive, either end
    optional). `contains` becomes a FilterExpression: DynamoDB still reads the
    rows it drops, which is why reads are bounded (app/storage/shards.py).
    `table_partition` is the table's own partition key where an index of the tags
    table is read (the images table's indexes have the id, which the position holds).
    """

    table: str
    index: str | None
    partition: tuple[str, str]
    newest_first: bool = True
    sort_range: tuple[str | None, str | None] = (None, None)
    contains: dict[str, str] = field(default_factory=dict)
    table_partition: tuple[str, str] | None = None

    def start_key(self, position: str) -> Boto:
        """The ExclusiveStartKey of the row at sort key `position` (index keys plus table keys)."""
        attribute, value = self.partition
        key = {attribute: {"S": value}, "sort_key": {"S": position}}
        if self.table_partition is not None:
            key[self.table_partition[0]] = {"S": self.table_partition[1]}
        elif self.index is not None:
            key["id"] = {"S": position.split("#", 1)[1]}
        return key

    def request(self) -> Boto:
        names = {"#p": self.partition[0]}
        values: Boto = {":p": {"S": self.partition[1]}}
        condition = "#p = :p"
        low, high = self.sort_range
        if low is not None:
            values[":low"] = {"S": low}
        if high is not None:
            values[":high"] = {"S": high}
        if low is not None and high is not None:
            condition += " AND sort_key BETWEEN :low AND :high"
        elif low is not None:
            condition += " AND sort_key >= :low"
        elif high is not None:
            condition += " AND sort_key <= :high"
        filters = []
        for n, (name, value) in enumerate(sorted(self.contains.items())):
            names[f"#c{n}"], values[f":c{n}"] = name, {"S": value}
            filters.append(f"contains(#c{n}, :c{n})")
        request: Boto = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not self.newest_first,
        }
        if self.index is not None:
            request["IndexName"] = self.index
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        return request
