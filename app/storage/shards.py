"""Several index partitions read as one time-ordered listing: the merge behind every page of GET /list.

The listing of all images is spread over the shards of one index
(app/layout.py); a user's or a tag's listing is one partition, the same
code with one query. Each partition is read in time order a batch at a time.
A row joins the page only while every partition that may still hold an
earlier row has one buffered, so a page is exactly what one sorted partition
would give, and its cursor (a sort key) is a position in every partition.

Batches are sized so that a page reads about `limit` rows whatever the
number of partitions (docs/capacity.md), and the partitions that need one are
read in parallel: one round trip per round, at most MAX_ROUNDS per page.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.storage.clients import Boto
from app.storage.dynamo import TimeQuery, from_item

MAX_ROUNDS = 10  # rounds of reads per page; a filter that matches little stops short, with a cursor
FILTERED_READ_SIZE = 200  # rows a round reads in all when a filter may drop most of them

Query = Callable[[Boto], Boto]  # a Query request -> its response
Parallel = Callable[[list[Callable[[], Boto]]], list[Boto]]


@dataclass
class _Partition:
    request: Boto
    rows: deque[Boto] = field(default_factory=deque)
    done: bool = False  # read to its end
    frontier: str = ""  # sort key of the last row read: everything before it in listing order is read

    @property
    def live(self) -> bool:
        return bool(self.rows) or not self.done


def read_page(
    query: Query, parallel: Parallel, queries: Sequence[TimeQuery], limit: int, after: str | None
) -> tuple[list[Boto], str | None]:
    """Up to `limit` rows of all `queries` merged in time order after position `after`, and the
    position to continue from (None when every partition is exhausted).

    A full page is proven to have a successor by its `limit + 1`th row. When the rounds run
    out first (a filter that matches little), the page is short and continues from the
    furthest position every partition has been read to.
    """
    parts = [_Partition(q.request()) for q in queries]
    if after is not None:
        for part, q in zip(parts, queries, strict=True):
            part.request["ExclusiveStartKey"] = q.start_key(after)
    newest_first = queries[0].newest_first
    filtered = "FilterExpression" in parts[0].request
    page: list[Boto] = []
    for _ in range(MAX_ROUNDS):
        _read(query, parallel, parts, limit + 1 - len(page), filtered)
        _take(parts, page, limit + 1, newest_first)
        if len(page) > limit:
            return page[:limit], page[limit - 1]["sort_key"]
        if not any(part.live for part in parts):
            return page, None
    return _stop_short(parts, page, limit, newest_first)


def batch_size(wanted: int, live: int, filtered: bool) -> int:
    """Rows to hold from each of `live` partitions for `wanted` more rows of the page.

    One partition: exactly `wanted`. Several: rows fall on them at random (app/layout.py),
    so each gets its even share m plus 1.5 standard deviations (1.5 sqrt(m), the spread
    of a binomial share) plus one: most pages then take one round, the rest two or three
    (docs/capacity.md has the figures, tests/integration/test_capacity.py checks them). With a filter, which may
    drop most rows, at least a share of FILTERED_READ_SIZE.
    """
    if live == 1:
        share = wanted
    else:
        mean = wanted / live
        share = math.ceil(mean + 1.5 * math.sqrt(mean)) + 1
    return max(share, -(-FILTERED_READ_SIZE // live)) if filtered else share


def _read(query: Query, parallel: Parallel, parts: list[_Partition], wanted: int, filtered: bool) -> None:
    """One round, when some partition with more to read has nothing buffered: every partition holding
    less than its batch is topped up to it, all in parallel (topping up only the empty one would
    leave the next one to run dry a round later)."""
    if all(part.rows or part.done for part in parts):
        return
    size = batch_size(wanted, sum(part.live for part in parts), filtered)
    low = [part for part in parts if not part.done and len(part.rows) < size]
    for part in low:
        part.request["Limit"] = size - len(part.rows)
    responses = parallel([lambda request=part.request: query(request) for part in low])  # type: ignore[misc]
    for part, response in zip(low, responses, strict=True):
        part.rows.extend(from_item(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if last:
            part.request["ExclusiveStartKey"] = last
            part.frontier = last["sort_key"]["S"]
        else:
            part.done = True


def _take(parts: list[_Partition], page: list[Boto], wanted: int, newest_first: bool) -> None:
    """Move rows to the page in order while every partition that may hold the next one has a row buffered."""
    pick = max if newest_first else min
    while len(page) < wanted:
        live = [part for part in parts if part.live]
        if not live or any(not part.rows for part in live):
            return
        page.append(pick(live, key=lambda part: part.rows[0]["sort_key"]).rows.popleft())


def _stop_short(
    parts: list[_Partition], page: list[Boto], limit: int, newest_first: bool
) -> tuple[list[Boto], str | None]:
    """The page when reads ran out: the buffered rows up to the position every partition has reached."""
    open_frontiers = [part.frontier for part in parts if not part.done]
    reached = max(open_frontiers) if newest_first else min(open_frontiers)  # the least far of them

    def before_reached(row: Boto) -> bool:
        return bool(row["sort_key"] >= reached) if newest_first else bool(row["sort_key"] <= reached)

    safe = sorted(
        (row for part in parts for row in part.rows if before_reached(row)),
        key=lambda row: row["sort_key"],
        reverse=newest_first,
    )
    page = page + safe
    if len(page) > limit:
        return page[:limit], page[limit - 1]["sort_key"]
    return page, reached
