"""The shard merge on its own: partitions held in memory, answered as DynamoDB answers a Query.

Every page of every walk is compared with one sorted list of all rows, for shard
counts from 1 to 64 (most shards empty or nearly), both orders, page sizes from 1,
and a read budget that cuts pages short.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from app.storage import shards
from app.storage.dynamo import TimeQuery


class Partitions:
    """Rows spread over `count` partitions as uuid4 ids spread them; Query honours Limit, order,
    ExclusiveStartKey (any position, present or not) and a filter on even sort keys."""

    def __init__(self, count: int, rows: int, seed: int) -> None:
        made = random.Random(seed)
        self.keys = sorted(f"{ms:013d}#{made.getrandbits(32):08x}" for ms in made.sample(range(10**6), rows))
        self.parts: dict[str, list[str]] = {str(n): [] for n in range(count)}
        for key in self.keys:
            self.parts[str(int(key[-8:], 16) % count)].append(key)
        self.calls = 0

    def query(self, request: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        newest_first = not request["ScanIndexForward"]
        keys = self.parts[request["ExpressionAttributeValues"][":p"]["S"]]
        keys = sorted(keys, reverse=newest_first)
        start = request.get("ExclusiveStartKey", {}).get("sort_key", {}).get("S")
        if start is not None:
            keys = [k for k in keys if (k < start if newest_first else k > start)]
        read = keys[: request["Limit"]]
        kept = [k for k in read if "FilterExpression" not in request or int(k[:13]) % 2 == 0]
        response: dict[str, Any] = {"Items": [{"sort_key": {"S": k}} for k in kept]}
        if len(read) == request["Limit"] and read:
            response["LastEvaluatedKey"] = {"sort_key": {"S": read[-1]}}
        return response


def sequential(calls: list[Callable[[], dict[str, Any]]]) -> list[dict[str, Any]]:
    return [call() for call in calls]


def walk(store: Partitions, limit: int, newest_first: bool, filtered: bool) -> list[list[str]]:
    contains = {"name_search": "x"} if filtered else {}
    queries = [TimeQuery("t", None, ("p", p), newest_first, contains=contains) for p in store.parts]
    pages, after = [], None
    while True:
        rows, after = shards.read_page(store.query, sequential, queries, limit, after)
        pages.append([row["sort_key"] for row in rows])
        if after is None:
            return pages
        assert len(pages) < 10_000, "the walk must end"


@pytest.mark.parametrize("count", [1, 2, 3, 7, 16, 64])
@pytest.mark.parametrize("limit", [1, 2, 5, 20, 100])
@pytest.mark.parametrize("newest_first", [True, False], ids=["newest", "oldest"])
def test_every_page_is_the_next_slice_of_one_sorted_list(count: int, limit: int, newest_first: bool) -> None:
    store = Partitions(count, rows=237, seed=count * 1000 + limit)
    expected = sorted(store.keys, reverse=newest_first)

    pages = walk(store, limit, newest_first, filtered=False)

    assert [key for page in pages for key in page] == expected
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit  # the last page is never empty: a full page proves it has a successor


@pytest.mark.parametrize("count", [1, 4, 16])
@pytest.mark.parametrize("newest_first", [True, False], ids=["newest", "oldest"])
def test_a_filter_with_a_budget_of_one_round_stops_short_and_continues_exactly(
    count: int, newest_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shards, "MAX_ROUNDS", 1)
    monkeypatch.setattr(shards, "FILTERED_READ_SIZE", count * 3)
    store = Partitions(count, rows=300, seed=count)
    expected = [k for k in sorted(store.keys, reverse=newest_first) if int(k[:13]) % 2 == 0]

    pages = walk(store, 10, newest_first, filtered=True)

    assert [key for page in pages for key in page] == expected
    assert any(len(page) < 10 for page in pages[:-1])  # the budget did cut pages short


def test_an_empty_listing_is_one_empty_page() -> None:
    assert walk(Partitions(8, rows=0, seed=1), 20, True, filtered=False) == [[]]
