"""Every /list filter alone and combined, on 300 images, checked against a brute-force filter.

One moto backend for the whole module: the gallery is built once, then every test runs
with 1, 4 and 16 shards of the all-images listing (`make migrate` moves the rows between).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app import storage
from app.logic import images, listing, uploads
from app.models import UploadForm
from ops import maintenance
from tests.images import image_bytes
from tests.integration.conftest import moto_backend
from tests.integration.lambda_client import all_pages, call, next_query

USERS = ("ann", "Bob.B", "cy_3")
TAGS = ("cat", "dog", "bird", "sea", "x-ray")
DAY_MS = 86_400_000
T0 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    """This module's own moto backend (overrides the per-test one of conftest)."""
    with moto_backend() as clients:
        yield clients


@pytest.fixture(scope="module", autouse=True, params=[1, 4, 16], ids=lambda n: f"{n}-shards")
def shards(request: pytest.FixtureRequest, gallery: list[dict[str, Any]]) -> Iterator[int]:
    """The gallery spread over this many shards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LISTING_SHARDS", str(request.param))
        storage.reset_clients()  # and settings; new clients also forget the tests' hooks (migrate Scans)
        maintenance.migrate(out=io.StringIO())
        yield request.param
    storage.reset_clients()


@pytest.fixture(scope="module")
def gallery(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """300 images over 3 users and 5 tags, 6 hours apart from 2026-03-01, names in mixed case."""
    rows = []
    clock = iter(range(T0, T0 + 300 * DAY_MS // 4, DAY_MS // 4))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(images, "now_ms", lambda: next(clock))
        for i in range(300):
            tags = UploadForm(user="x", tags=[TAGS[i % 5], TAGS[(i * 7) % 5], TAGS[(i // 3) % 5]][: 1 + i % 3]).tags
            name = f"{'CAT' if i % 4 == 0 else 'dog'}-photo-{i:03d}.png"
            png = image_bytes("PNG", (2, 2), (i % 256, i // 256, 7))  # distinct bytes: 300 images, not repeats
            rows.append(
                uploads.store_upload(storage.ImageStore(), images.NewImage(USERS[i % 3], f"n{i}", name, tags), png)
            )
    return rows


def brute_force(rows: list[dict[str, Any]], query: dict[str, str]) -> list[str]:
    def keep(row: dict[str, Any]) -> bool:
        created = int(row["sort_key"][:13])
        return (
            ("user" not in query or row["user"] == query["user"])
            and ("tag" not in query or query["tag"].lower() in row["tags"])
            and ("name_contains" not in query or query["name_contains"].lower() in row["original_name"].lower())
            and ("from" not in query or created >= listing.time_bound(query["from"], "from", end=False))
            and ("to" not in query or created <= listing.time_bound(query["to"], "to", end=True))
        )

    chosen = sorted((row for row in rows if keep(row)), key=lambda row: row["sort_key"])
    if query.get("order", "newest") == "newest":
        chosen.reverse()
    return [row["id"] for row in chosen]


FILTERS = [
    {},
    {"user": "Bob.B"},
    {"tag": "dog"},
    {"tag": "X-Ray"},
    {"name_contains": "cAt-PhOtO"},
    {"from": "2026-03-20"},
    {"to": "2026-03-10T00:00:00Z"},
    {"from": "2026-03-05", "to": "2026-03-25"},
    {"order": "oldest"},
    {"user": "ann", "tag": "cat"},
    {"user": "cy_3", "name_contains": "dog", "order": "oldest"},
    {"tag": "sea", "from": "2026-03-15T06:00:00+00:00", "to": "2026-04-10", "order": "oldest"},
    {"user": "ann", "tag": "bird", "name_contains": "CAT", "from": "2026-03-02", "to": "2026-04-30"},
    {"user": "nobody"},
    {"tag": "cat", "from": "2027-01-01"},
]


@pytest.mark.parametrize("query", FILTERS, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()) or "all")
def test_every_page_is_full_ordered_and_matches_a_brute_force_filter(
    gallery: list[dict[str, Any]], query: dict[str, str], shards: int
) -> None:
    storage.dynamodb_client().meta.events.register(
        "before-call.dynamodb.Scan", lambda **_: pytest.fail("listing must never Scan")
    )
    expected = brute_force(gallery, query)
    limit = 7 if shards < 16 else 19  # moto reads its whole table per Query: fewer pages keep 16 shards quick

    pages = list(all_pages({**query, "limit": str(limit)}))

    seen = [item["id"] for page in pages for item in page]
    assert seen == expected  # same images, same order, no duplicates, no gaps
    assert all(len(page) == limit for page in pages[:-1]), "only the last page may be short"
    assert len(pages[-1]) <= limit
    if query.get("tag"):
        assert all(query["tag"].lower() in item["tags"] for page in pages for item in page)


@pytest.mark.parametrize("query", [{"name_contains": "photo-1", "user": "ann"}, {"name_contains": "photo-1"}])
def test_a_selective_filter_with_a_read_budget_still_reaches_every_match(
    gallery: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, query: dict[str, str]
) -> None:
    # Tiny reads and a budget of one round of Queries per page: pages may come back short,
    # but their cursor continues exactly where every partition has been read to.
    monkeypatch.setattr(storage.shards, "MAX_ROUNDS", 1)
    monkeypatch.setattr(storage.shards, "FILTERED_READ_SIZE", 10)

    pages = list(all_pages({**query, "limit": "5"}))

    assert [item["id"] for page in pages for item in page] == brute_force(gallery, query)
    assert any(len(page) < 5 for page in pages[:-1])  # the budget did cut pages short


def test_a_cursor_outside_the_date_range_is_400(gallery: list[dict[str, Any]]) -> None:
    first = call("GET", "/list", query={"limit": "2"})
    cursor = next_query(first)["cursor"]  # type: ignore[index]  # positioned in late April

    reply = call("GET", "/list", query={"cursor": cursor, "to": "2026-03-10"})

    assert (reply.status, reply.json()["code"]) == (400, "INVALID_CURSOR")


def test_a_cursor_carries_over_to_other_filters_as_a_position(gallery: list[dict[str, Any]]) -> None:
    cursor = next_query(call("GET", "/list", query={"limit": "10"}))["cursor"]  # type: ignore[index]

    page = call("GET", "/list", query={"cursor": cursor, "user": "ann", "limit": "3"}).json()

    expected = [i for i in brute_force(gallery, {"user": "ann"}) if i not in brute_force(gallery, {})[:10]][:3]
    assert [item["id"] for item in page] == expected


@pytest.mark.parametrize(
    ("value", "end", "expected"),
    [
        ("2026-03-01", False, T0),
        ("2026-03-01", True, T0 + DAY_MS - 1),
        ("2026-03-01T00:00:00Z", True, T0 + 999),
        ("2026-03-01T01:00:00+01:00", False, T0),
        ("2026-03-01T00:00:00.250", True, T0 + 250),
        ("2026-03-01T00:00:00", False, T0),
        ("20260301", True, T0 + DAY_MS - 1),
        ("2026-03-01T00", True, T0 + 3_600_000 - 1),
        ("2026-03-01T00:00", True, T0 + 60_000 - 1),
        ("2026-W09", True, T0 + DAY_MS - 1),  # the week: Monday 23 February to Sunday 1 March
    ],
)
def test_time_bounds_are_inclusive_and_utc(value: str, end: bool, expected: int) -> None:
    assert listing.time_bound(value, "to" if end else "from", end=end) == expected


def test_combinations_never_scan(gallery: list[dict[str, Any]]) -> None:
    storage.dynamodb_client().meta.events.register(
        "before-call.dynamodb.Scan", lambda **_: pytest.fail("listing must never Scan")
    )
    keys = {"user": "ann", "tag": "cat", "name_contains": "cat", "from": "2026-03-03", "to": "2026-04-01"}
    for size in range(len(keys) + 1):
        for combination in itertools.combinations(keys, size):
            assert call("GET", "/list", query={k: keys[k] for k in combination}).status == 200
