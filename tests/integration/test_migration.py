"""Upgrading a table that predates the sharded listing, and changing the number of shards.

The path README and docs/capacity.md describe: deploy adds the shard index, `make
migrate` gives every row its shard key, deploy drops the old index. At every step
the user listing stays whole and reconciliation never takes an object for an orphan.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app import layout
from app.settings import get_settings
from deploy import resources
from ops import maintenance
from tests.integration.conftest import moto_backend
from tests.integration.lambda_client import all_pages, upload
from tests.integration.test_fault_injection import kinds

# The images table's index of all images as the release before the shard index made it.
OLD_INDEX = {
    "IndexName": "by-status",
    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "sort_key", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "ALL"},
}


# These tests need many images and upload one sample file for each.
pytestmark = pytest.mark.usefixtures("repeats_stored")


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """A backend whose images table is the earlier release's: the old index, rows without shard keys."""
    with moto_backend() as clients:
        table = get_settings().table
        clients["dynamodb"].delete_table(TableName=table)
        spec = layout.images_table_spec(table)
        spec["AttributeDefinitions"] = [
            *(a for a in spec["AttributeDefinitions"] if a["AttributeName"] != "status_shard"),
            {"AttributeName": "status", "AttributeType": "S"},
        ]
        spec["GlobalSecondaryIndexes"] = [
            OLD_INDEX,
            *(i for i in spec["GlobalSecondaryIndexes"] if i["IndexName"] == layout.BY_USER_INDEX),
        ]
        clients["dynamodb"].create_table(**spec)
        yield clients


def as_old_release_wrote_it(aws: dict[str, Any], image_id: str) -> None:
    aws["dynamodb"].update_item(
        TableName=get_settings().table, Key={"id": {"S": image_id}}, UpdateExpression="REMOVE status_shard"
    )


def update_indexes(aws: dict[str, Any], which: Any) -> None:
    """What deploy.sh does with `resources missing-indexes` / `retired-indexes`."""
    description = aws["dynamodb"].describe_table(TableName=get_settings().table)
    for request in which(description):
        aws["dynamodb"].update_table(**request)


def listed(query: dict[str, str]) -> list[str]:
    return [item["id"] for page in all_pages({**query, "limit": "3"}) for item in page]


def test_an_old_table_is_migrated_without_losing_an_image_from_any_listing(aws: dict[str, Any]) -> None:
    old = [upload("user=ann", f"description={n}", "file=@sample.png").json()["id"] for n in range(5)]
    for image_id in old:
        as_old_release_wrote_it(aws, image_id)

    update_indexes(aws, resources.missing_indexes)  # deploy.sh: the shard index
    new = upload("user=ann", "file=@sample.png").json()["id"]

    newest_first = [new, *reversed(old)]
    assert listed({"user": "ann"}) == newest_first  # the user index never depended on shards
    assert listed({}) == [new]  # the old rows are not in the shard index yet
    assert kinds() == ["unindexed-row"] * 10  # their objects: never taken for orphans

    assert maintenance.migrate(out=None) == 5

    assert listed({}) == newest_first
    assert listed({"order": "oldest"}) == newest_first[::-1]
    assert kinds() == []
    update_indexes(aws, resources.retired_indexes)  # deploy.sh, once nothing is left to migrate
    indexes = aws["dynamodb"].describe_table(TableName=get_settings().table)["Table"]["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in indexes) == [layout.BY_SHARD_INDEX, layout.BY_USER_INDEX]
    assert listed({}) == newest_first
    assert maintenance.migrate(out=None) == 0


def test_reconcile_fix_indexes_a_row_it_finds_through_its_objects(aws: dict[str, Any]) -> None:
    image_id = upload("user=ann", "file=@sample.png").json()["id"]
    as_old_release_wrote_it(aws, image_id)
    update_indexes(aws, resources.missing_indexes)

    assert maintenance.reconcile(fix=True, grace_minutes=0, out=None) == []

    assert listed({}) == [image_id]
    assert kinds() == []


def test_fewer_shards_after_a_migration_list_every_image(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    update_indexes(aws, resources.missing_indexes)
    monkeypatch.setenv("LISTING_SHARDS", "8")
    get_settings.cache_clear()
    images = [upload("user=bo", "file=@sample.png").json()["id"] for _ in range(12)]
    monkeypatch.setenv("LISTING_SHARDS", "2")
    get_settings.cache_clear()

    moved = maintenance.migrate(out=None)

    assert moved == sum(int(image_id[:8], 16) % 8 >= 2 for image_id in images)  # where shard of 8 != shard of 2
    assert listed({}) == images[::-1]


@pytest.fixture
def old_tags(aws: dict[str, Any]) -> dict[str, Any]:
    """The tags table as the release before the user's tag index made it: no index, items without its key."""
    table = get_settings().tags_table
    aws["dynamodb"].delete_table(TableName=table)
    spec = layout.tags_table_spec(table)
    spec.pop("GlobalSecondaryIndexes")
    spec["AttributeDefinitions"] = [a for a in spec["AttributeDefinitions"] if a["AttributeName"] != "user_tag_status"]
    aws["dynamodb"].create_table(**spec)
    return aws


def test_old_tag_items_join_the_users_tag_index_through_migrate(old_tags: dict[str, Any]) -> None:
    dynamodb, table = old_tags["dynamodb"], get_settings().tags_table
    update_indexes(old_tags, resources.missing_indexes)  # the images table's shard index
    old = [upload("user=ann", "tags=t", "file=@sample.png").json()["id"] for _ in range(3)]
    for item in dynamodb.scan(TableName=table)["Items"]:  # as the earlier release wrote them
        dynamodb.update_item(
            TableName=table,
            Key={"tag_status": item["tag_status"], "sort_key": item["sort_key"]},
            UpdateExpression="REMOVE user_tag_status",
        )
    for request in resources.missing_indexes(dynamodb.describe_table(TableName=table)):  # deploy.sh: the index
        dynamodb.update_table(**request)
    new = upload("user=ann", "tags=t", "file=@sample.png").json()["id"]

    assert listed({"tag": "t"}) == [new, *reversed(old)]  # the tag's own partition never needed it
    assert listed({"tag": "t", "user": "ann"}) == [new]  # the old items are not in the user's tag index yet
    assert maintenance.migrate(out=None) == 3
    assert listed({"tag": "t", "user": "ann"}) == [new, *reversed(old)]
    assert maintenance.migrate(out=None) == 0
