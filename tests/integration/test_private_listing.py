"""Private images leak nothing through a listing: no cursor, Link, count or timing depends on them.

The leak as the hostile run found it: with VISIBILITY=private, bob's `GET /list?tag=T&limit=1`,
where only alice has images tagged T (about 2,000), answered `[]` with a Link whose cursor named
alice's image: the listing read the tag's partition, filtered it to bob, and the cut-short
cursor pointed at the last row read. Bob's tag listing now reads his own items of the tag
(the tags table's index by user), so what he gets, and what the function reads to answer
him, is the same whether alice has none or thousands.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest

from app import layout, storage
from app.logic.images import NewImage, new_row
from app.settings import get_settings
from app.storage import ImageStore, to_item
from tests.curl_form import curl_form
from tests.images import unique_png, write
from tests.integration.lambda_client import Reply, call, next_query
from tests.integration.test_auth import bearer, jwt_mode, private

pytestmark = pytest.mark.usefixtures(jwt_mode.__name__, private.__name__)
HIDDEN = 2000  # as many as the hostile run's alice had
TAG = "t"


def hide_images_of(aws: dict[str, Any], user: str, tag: str, count: int) -> None:
    """`count` ready images of `user` tagged `tag`, written as the store writes rows and tag items."""
    store, dynamodb = ImageStore(), aws["dynamodb"]
    requests = []
    for n in range(count):
        row = new_row(NewImage(user, f"hidden {n}", "secret.png", [tag]), layout.READY)
        row |= {"key": layout.image_key(row["id"], "png"), "content_type": "image/png", "size": 1, "sha256": "0" * 64}
        row |= {"width": 1, "height": 1, "thumbnail_key": layout.thumbnail_key(row["id"], "webp")}
        requests += [{store.table: to_item(row)}, *({store.tags_table: to_item(item)} for item in store.tag_items(row))]
    for start in range(0, len(requests), 25):
        batch: dict[str, list[Any]] = {}
        for request in requests[start : start + 25]:
            for table, item in request.items():
                batch.setdefault(table, []).append({"PutRequest": {"Item": item}})
        dynamodb.batch_write_item(RequestItems=batch)


def bobs_image(directory: Path) -> str:
    """An image bob uploads, tagged TAG, through POST /upload as curl sends it."""
    content_type, form = curl_form(f"tags={TAG}", f"file=@{write(directory, f'{uuid.uuid4()}.png', unique_png())}")
    reply = call("POST", "/upload", headers={"Content-Type": content_type, **bearer("bob")}, body=form)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


class Reads:
    """Every DynamoDB request the function makes, with what it read: (operation, items scanned, returned)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __enter__(self) -> Reads:
        storage.dynamodb_client().meta.events.register("after-call.dynamodb", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        storage.dynamodb_client().meta.events.unregister("after-call.dynamodb", self._seen)

    def _seen(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, parsed.get("ScannedCount", -1), parsed.get("Count", -1)))


def bobs_pages(query: dict[str, str]) -> tuple[list[tuple[int, list[str], str | None]], list[Any]]:
    """Every page bob is given for `query` (status, ids, Link), and every read the function made."""
    pages: list[tuple[int, list[str], str | None]] = []
    current: dict[str, str] | None = query
    with Reads() as reads:
        while current is not None:
            reply: Reply = call("GET", "/list", query=current, headers=bearer("bob"))
            pages.append((reply.status, [image["id"] for image in reply.json()], reply.headers.get("Link")))
            current = next_query(reply)
    return pages, reads.calls


def test_bobs_tag_listing_is_the_same_with_none_or_thousands_of_alices_hidden_images(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    mine = [bobs_image(tmp_path) for _ in range(2)]
    queries = [{"tag": TAG, "limit": "1"}, {"tag": TAG, "limit": "1", "mine": "true"}, {"tag": TAG}]
    before = [bobs_pages(query) for query in queries]

    hide_images_of(aws, "alice", TAG, HIDDEN)
    after = [bobs_pages(query) for query in queries]

    assert after == before  # the same pages, Links and reads: nothing depends on alice's images
    (pages, _), _, _ = after
    assert [ids for _, ids, _ in pages] == [[mine[1]], [mine[0]]]
    assert all(status == 200 for status, _, _ in pages)
    assert pages[-1][2] is None  # the last page has no Link
    for _, _, link in pages[:-1]:
        cursor = str(link).split("cursor=", 1)[1].split(">", 1)[0]
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        assert position.split("#", 1)[1] in mine  # a position bob may see


def test_bob_with_no_images_of_the_tag_gets_an_empty_page_and_no_link(aws: dict[str, Any]) -> None:
    hide_images_of(aws, "alice", TAG, HIDDEN)
    pages, reads = bobs_pages({"tag": TAG, "limit": "1"})
    assert pages == [(200, [], None)]
    assert reads == [("Query", 0, 0)]  # not one of alice's items was read


def test_an_admin_still_sees_every_users_images_of_the_tag(aws: dict[str, Any], tmp_path: Path) -> None:
    hide_images_of(aws, "alice", TAG, 3)
    bobs_image(tmp_path)
    reply = call("GET", "/list", query={"tag": TAG}, headers=bearer("root", admin=True))
    assert reply.status == 200
    assert sorted(image["user"] for image in reply.json()) == ["alice", "alice", "alice", "bob"]
    assert get_settings().visibility == "private"
