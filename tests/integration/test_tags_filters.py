"""Tags on upload: normalised, validated, stored with their tag items, removed with the image."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.lambda_client import call, stored, upload

USERS = ("ann", "Bob.B", "cy_3")
TAGS = ("cat", "dog", "bird", "sea", "x-ray")
DAY_MS = 86_400_000
T0 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)


def test_tags_are_trimmed_lowercased_deduplicated_and_returned_everywhere(aws: dict[str, Any]) -> None:
    reply = upload("user=bob", "tags=Cat", "tags= dog ,CAT,bird,", "tags=sea.side_2-b", "file=@sample.png")

    assert reply.status == 201
    tags = ["cat", "dog", "bird", "sea.side_2-b"]
    assert reply.json()["tags"] == tags
    image_id = reply.json()["id"]
    assert call("GET", f"/view/{image_id}").json()["tags"] == tags
    assert call("GET", "/list").json()[0]["tags"] == tags
    assert [item["id"] for item in call("GET", "/list", query={"tag": "BIRD"}).json()] == [image_id]


@pytest.mark.parametrize(
    "tags",
    [
        [",".join(f"t{i}" for i in range(11))],
        ["a" * 51],
        ["bad tag"],
        ["naïve"],
        ["slash/tag"],
    ],
)
def test_invalid_tags_are_400_and_nothing_is_stored(aws: dict[str, Any], tags: list[str]) -> None:
    reply = upload("user=bob", *(f"tags={tag}" for tag in tags), "file=@sample.png")

    assert (reply.status, reply.json()["code"]) == (400, "INVALID_FIELD")
    assert stored(aws) == ([], [])
    assert aws["dynamodb"].scan(TableName="images-tags")["Count"] == 0


def test_ten_tags_of_fifty_characters_are_accepted(aws: dict[str, Any]) -> None:
    tags = [f"{i}" * 50 for i in range(10)]

    reply = upload("user=bob", f"tags={','.join(tags)}", "file=@sample.png")

    assert (reply.status, reply.json()["tags"]) == (201, tags)


def test_delete_removes_the_tag_items_too(aws: dict[str, Any]) -> None:
    image = upload("user=bob", "tags=cat,dog", "file=@sample.png").json()
    assert aws["dynamodb"].scan(TableName="images-tags")["Count"] == 2

    assert call("DELETE", f"/delete/{image['id']}").status == 200

    assert aws["dynamodb"].scan(TableName="images-tags")["Count"] == 0
    assert call("GET", "/list", query={"tag": "cat"}).json() == []
    assert stored(aws) == ([], [])


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"order": "sideways"}, "order"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
        ({"user": "not a user"}, "user"),
        ({"tag": "no spaces"}, "tag"),
        ({"name_contains": ""}, "name_contains"),
        ({"tag": ["cat", "dog"]}, "tag"),
        ({"limit": ["5", "6"]}, "limit"),
    ],
)
def test_invalid_filters_are_400_naming_the_parameter(
    aws: dict[str, Any], query: dict[str, Any], parameter: str
) -> None:
    reply = call("GET", "/list", query=query)

    assert (reply.status, reply.json()["code"]) == (400, "INVALID_PARAMETER")
    assert reply.json()["error"].startswith(parameter)


def test_thumbnails_come_with_every_kind_of_listing(aws: dict[str, Any]) -> None:
    image = upload("user=bob", "tags=cat", "file=@sample.png").json()

    for query in ({}, {"user": "bob"}, {"tag": "cat"}):
        (item,) = call("GET", "/list", query={**query, "thumbnails": "1"}).json()
        assert item["thumbnail_url"].split("?")[0].endswith(f"/thumbnails/{image['id']}.webp")
    assert call("GET", "/list").json()[0]["thumbnail_url"] is None  # only when asked for
