"""docs/capacity.md's numbers, checked against the code.

The model rests on what each operation asks of DynamoDB and S3, and on how the
shards share the rows and the reads of a page; both are measured here on moto
and compared with the tables the document states, so that the document changes
when the code does.
"""

from __future__ import annotations

import base64
import json
import math
import re
import statistics
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import layout, storage
from app.logic.images import with_status
from app.settings import get_settings
from tests.images import image_bytes
from tests.integration.conftest import moto_backend
from tests.integration.lambda_client import Reply, call, next_query, upload

DOC = Path(__file__).parents[2] / "docs" / "capacity.md"
JSON = {"Content-Type": "application/json"}


def doc_table(marker: str) -> list[list[str]]:
    """The rows of the table that follows `<!-- marker -->` in docs/capacity.md, as cells."""
    text = DOC.read_text()
    lines = [*text[text.index(f"<!-- {marker} -->") :].splitlines()[1:], ""]
    table = lines[: next(n for n, line in enumerate(lines) if not line.startswith("|"))]
    return [[cell.strip().strip("`") for cell in line.strip("|").split("|")] for line in table[2:]]


def requests_named(cell: str) -> Counter[str]:
    """'GetItem + 2 PutObject' -> {GetItem: 1, PutObject: 2}."""
    counted: Counter[str] = Counter()
    for part in cell.split(" + "):
        match = re.fullmatch(r"(?:(\d+) )?(\w+)", part.strip())
        assert match, f"cannot read {part!r} in docs/capacity.md"
        counted[match.group(2)] += int(match.group(1) or 1)
    return counted


class Requests:
    """Every request the code makes to S3 and DynamoDB, by operation name."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()
        for client in (storage.s3_client(), storage.dynamodb_client()):
            client.meta.events.register("before-call.*.*", self.count)

    def count(self, model: Any, **_: Any) -> None:
        self.made[model.name] += 1

    def during(self, action: Any) -> Counter[str]:
        self.made.clear()
        action()
        return Counter(self.made)


def assert_status(reply: Reply, status: int) -> None:
    assert reply.status == status, reply.body


def direct_upload(s3: Any, started: dict[str, Any]) -> None:
    """POST /uploads, then the file straight to S3 as the client sends it (with a client of its own)."""
    body = json.dumps({"user": "ann", "filename": "a.png", "content_type": "image/png", "size": 100}).encode()
    started.update(call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=body).json())
    s3.put_object(Bucket=get_settings().bucket, Key=layout.incoming_key(started["id"]), Body=image_bytes("PNG"))


def test_each_operation_makes_the_requests_the_model_counts(aws: dict[str, Any]) -> None:
    requests = Requests()
    image = upload("user=ann", "tags=cat", "file=@sample.png").json()
    two = [upload(f"user={user}", "file=@sample.png").json()["id"] for user in ("cy", "di")]
    v1 = {"user_id": "ann", "image_name": "b.png", "file": base64.b64encode(image_bytes("PNG", (3, 3))).decode()}
    started: dict[str, Any] = {}
    measured = {
        "POST /upload": requests.during(lambda: upload("user=bob", "file=@sample.png")),
        "POST /upload, bytes the user stored before": requests.during(lambda: upload("user=bob", "file=@sample.png")),
        "POST /v1/images": requests.during(
            lambda: call(
                "POST", "/v1/images", headers={"Content-Type": "application/json"}, body=json.dumps(v1).encode()
            )
        ),
        "GET /view/{id}": requests.during(lambda: call("GET", f"/view/{image['id']}")),
        "GET /list?user=": requests.during(lambda: call("GET", "/list", query={"user": "ann"})),
        "GET /list?tag=": requests.during(lambda: call("GET", "/list", query={"tag": "cat"})),
        "GET /list?user=&tag=": requests.during(lambda: call("GET", "/list", query={"user": "ann", "tag": "cat"})),
        "GET /list": requests.during(lambda: call("GET", "/list")),
        "POST /uploads, then the file to S3": requests.during(lambda: direct_upload(aws["s3"], started)),
        "POST /uploads/{id}/complete": requests.during(lambda: call("POST", f"/uploads/{started['id']}/complete")),
        "GET /images/{id}/variant, first request": requests.during(
            lambda: call("GET", f"/images/{image['id']}/variant", query={"w": "128"})
        ),
        "GET /images/{id}/variant, stored": requests.during(
            lambda: call("GET", f"/images/{image['id']}/variant", query={"w": "128"})
        ),
        "GET /images/{id}": requests.during(lambda: call("GET", f"/images/{image['id']}")),
        "PATCH /images/{id}": requests.during(
            lambda: call("PATCH", f"/images/{image['id']}", headers=JSON, body=b'{"tags": ["dog"]}')
        ),
        "DELETE /delete/{id}": requests.during(lambda: call("DELETE", f"/delete/{image['id']}")),
        "POST /images/delete, 2 ids": requests.during(
            lambda: call("POST", "/images/delete", headers=JSON, body=json.dumps({"ids": two}).encode())
        ),
    }

    stated = {row[0]: requests_named(row[1]) for row in doc_table("requests per operation")}
    assert measured == stated


ROW = {"user": "u", "description": "", "original_name": "a.png", "content_type": "image/png", "size": 1}
ROW |= {"created_at": 1_780_000_000, "tags": []}


@pytest.fixture(params=[1, 4, 16], ids=lambda n: f"{n}-shards")
def filled(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """1,500 ready rows with random ids (as uploads make them), in a table of `request.param` shards."""
    with moto_backend(shards=request.param) as clients:
        ids = [str(uuid.uuid4()) for _ in range(1500)]
        base = 1_780_000_000_000
        for first in range(0, len(ids), 25):
            rows = [
                with_status({**ROW, "id": i, "key": f"{i}.png", "sort_key": layout.sort_key(base + n, i)}, "ready")
                for n, i in enumerate(ids[first : first + 25], start=first)
            ]
            clients["dynamodb"].batch_write_item(
                RequestItems={get_settings().table: [{"PutRequest": {"Item": storage.to_item(r)}} for r in rows]}
            )
        yield ids


def test_rows_spread_evenly_and_a_page_reads_what_the_model_says(filled: list[str]) -> None:
    shards = get_settings().listing_shards
    share = Counter(layout.shard_of(image_id, shards) for image_id in filled)
    even = len(filled) / shards
    # Random ids: every shard within four standard deviations of an even share (a binomial's).
    assert len(share) == shards
    assert all(abs(count - even) <= 4 * math.sqrt(even) for count in share.values())

    reads: list[int] = []
    storage.dynamodb_client().meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: reads.append(parsed["ScannedCount"])
    )
    rows_read, queries = [], []
    query: dict[str, str] | None = {"limit": "100"}
    for _ in range(12):
        reads.clear()
        reply = call("GET", "/list", query=query)
        assert len(reply.json()) == 100
        rows_read.append(sum(reads))
        queries.append(len(reads))
        query = next_query(reply)

    stated = {int(row[0]): row for row in doc_table("rows read per page")}[shards]
    assert statistics.mean(rows_read) == pytest.approx(float(stated[1]), rel=0.1)
    assert max(queries) <= int(stated[2])


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: names plus values (strings in UTF-8, numbers at most 21 bytes,
    lists 3 bytes plus 1 per element)."""

    def size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return min(21, len(inner) // 2 + 2)
        if kind == "L":
            return 3 + sum(size(element) + 1 for element in inner)
        return 1

    return sum(len(name.encode()) + size(value) for name, value in item.items())


def test_a_row_is_one_write_unit(aws: dict[str, Any]) -> None:
    image = upload("user=ann", "description=" + "d" * 200, "tags=a1,b2,c3,d4,e5", "file=@sample.png").json()

    item = aws["dynamodb"].get_item(TableName=get_settings().table, Key={"id": {"S": image["id"]}})["Item"]

    assert 700 <= item_bytes(item) <= 800  # docs/capacity.md: "about 770 bytes"; a write unit is 1 KB
