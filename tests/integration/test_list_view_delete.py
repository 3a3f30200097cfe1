"""GET /list, GET /view/{id}, DELETE /delete/{id} through lambda_handler."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app import storage
from app.logic import images
from app.settings import get_settings
from tests.integration.lambda_client import call, next_query, objects_of, stored, upload

LIST_FIELDS = {
    *("id", "filename", "original_name", "user", "description", "created_at", "content_type", "size", "tags"),
    *("width", "height", "status", "thumbnail_url"),
}


# These tests need many images and upload one sample file for each.
pytestmark = pytest.mark.usefixtures("repeats_stored")


def uploaded(count: int, user: str = "bob") -> list[str]:
    return [upload(f"user={user}", f"description=image {i}", "file=@sample.png").json()["id"] for i in range(count)]


def test_list_is_newest_first_with_the_documented_fields(aws: dict[str, Any]) -> None:
    ids = uploaded(3)

    reply = call("GET", "/list")

    assert reply.status == 200
    items = reply.json()
    assert [item["id"] for item in items] == ids[::-1]
    assert all(set(item) == LIST_FIELDS for item in items)
    assert items[0]["filename"] == f"{ids[2]}.png"
    assert all(isinstance(item["created_at"], int) for item in items)
    assert "Link" not in reply.headers


def test_empty_list_is_an_empty_array(aws: dict[str, Any]) -> None:
    reply = call("GET", "/list")

    assert (reply.status, reply.json()) == (200, [])


def test_paging_through_250_images_returns_each_exactly_once(aws: dict[str, Any]) -> None:
    # Rows are written directly (uploading 250 files adds nothing to what paging proves).
    store = storage.ImageStore()
    now = int(time.time() * 1000)
    expected = []
    for i in range(250):
        image_id = f"00000000-0000-4000-8000-{i:012d}"
        created = now - i * 7 // 3  # several rows share a millisecond: ties must not break paging
        row = {
            "id": image_id,
            "key": f"{image_id}.png",
            "user": "bob",
            "description": "",
            "original_name": "a.png",
            "content_type": "image/png",
            "size": 1,
            "sha256": "0" * 64,
            "created_at": created // 1000,
            "sort_key": f"{created:013d}#{image_id}",
        }
        store.put_new_row(images.with_status(row, "ready"))
        expected.append(image_id)

    seen: list[str] = []
    pages = 0
    query: dict[str, str] | None = {"limit": "100"}
    while query is not None:
        reply = call("GET", "/list", query=query)
        assert reply.status == 200
        seen += [item["id"] for item in reply.json()]
        pages += 1
        query = next_query(reply)
        if query is not None:
            assert query["limit"] == "100"

    assert pages == 3
    assert len(seen) == len(set(seen)) == 250
    assert set(seen) == set(expected)


def test_a_page_reads_about_limit_items_whatever_the_table_holds(aws: dict[str, Any]) -> None:
    uploaded(30)
    read: list[int] = []

    def count_items(parsed: dict[str, Any], **_: Any) -> None:
        read.append(len(parsed.get("Items", [])))

    storage.dynamodb_client().meta.events.register("after-call.dynamodb.Query", count_items)
    storage.dynamodb_client().meta.events.register(
        "before-call.dynamodb.Scan", lambda **_: pytest.fail("listing must never Scan")
    )

    reply = call("GET", "/list", query={"limit": "5"})

    shards = get_settings().listing_shards
    assert len(reply.json()) == 5
    # One Query per shard, for its share of the page and of the row that proves a next page
    # exists (with one shard: exactly those 6 rows); docs/capacity.md.
    assert len(read) == shards
    assert sum(read) <= shards * storage.shards.batch_size(5 + 1, shards, filtered=False)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"limit": "0"}, "INVALID_PARAMETER"),
        ({"limit": "1001"}, "INVALID_PARAMETER"),
        ({"limit": "ten"}, "INVALID_PARAMETER"),
        ({"cursor": "not-a-cursor"}, "INVALID_CURSOR"),
        ({"cursor": "eyJpZCI6ICJ4In0"}, "INVALID_CURSOR"),  # base64 of JSON: forged
        ({"cursor": "MTIzNDU2Nzg5MDEyMyMuLi8uLi8"}, "INVALID_CURSOR"),  # base64 of a broken position
        ({"cursor": "%%%"}, "INVALID_CURSOR"),
    ],
)
def test_bad_list_parameters_are_400(aws: dict[str, Any], query: dict[str, str], code: str) -> None:
    reply = call("GET", "/list", query=query)

    assert (reply.status, reply.json()["code"]) == (400, code)
    assert reply.json()["request_id"]


def test_limit_1000_is_allowed(aws: dict[str, Any]) -> None:
    uploaded(2)

    reply = call("GET", "/list", query={"limit": "1000"})

    assert (reply.status, len(reply.json())) == (200, 2)


def test_view_returns_metadata_and_a_url_signed_for_the_public_endpoint(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_S3_ENDPOINT", "http://localhost:4566")
    storage.reset_clients()
    created = upload("user=carol", "description=view me", "file=@sample.jpg").json()

    reply = call("GET", f"/view/{created['id']}")

    assert reply.status == 200
    body = reply.json()
    assert set(body) == LIST_FIELDS | {"bucket", "url", "thumbnail_url", "expires_in", "rejection_reason"}
    assert {k: body[k] for k in ("id", "filename", "user", "description", "content_type", "bucket", "expires_in")} == {
        "id": created["id"],
        "filename": created["key"],
        "user": "carol",
        "description": "view me",
        "content_type": "image/jpeg",
        "bucket": "images-bucket",
        "expires_in": 3600,
    }
    url = urlsplit(body["url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "localhost:4566", f"/images-bucket/{created['key']}")
    # Signed as of the start of its URL_WINDOW (900 s), and valid that much longer: 3600 s at least.
    assert parse_qs(url.query)["X-Amz-Expires"] == ["4500"]


def test_url_expiry_is_configurable(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("URL_EXPIRES_IN", "60")
    storage.reset_clients()
    created = upload("user=carol", "file=@sample.png").json()

    body = call("GET", f"/view/{created['id']}").json()

    assert body["expires_in"] == 60
    assert parse_qs(urlsplit(body["url"]).query)["X-Amz-Expires"] == [str(60 + get_settings().url_window)]


@pytest.mark.parametrize("image_id", ["0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69", "nope", "x" * 3000, "..%2F..%2Fetc"])
def test_view_and_delete_of_unknown_ids_are_404(aws: dict[str, Any], image_id: str) -> None:
    for method, path in (("GET", f"/view/{image_id}"), ("DELETE", f"/delete/{image_id}")):
        reply = call(method, path)
        assert (reply.status, reply.json()["code"]) == (404, "NOT_FOUND")


def test_delete_removes_object_and_row(aws: dict[str, Any]) -> None:
    keep = upload("user=bob", "file=@sample.png").json()
    gone = upload("user=bob", "file=@sample.jpg").json()

    reply = call("DELETE", f"/delete/{gone['id']}")

    assert (reply.status, reply.json()) == (200, {"deleted": gone["id"], "key": gone["key"]})
    assert call("GET", f"/view/{gone['id']}").status == 404
    assert call("DELETE", f"/delete/{gone['id']}").status == 404
    keys, rows = stored(aws)
    assert keys == objects_of(keep)
    assert [row["id"] for row in rows] == [keep["id"]]
    assert [item["id"] for item in call("GET", "/list").json()] == [keep["id"]]


def disposition_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["response-content-disposition"][0]


def test_view_url_is_inline_by_default_and_attachment_with_download(aws: dict[str, Any]) -> None:
    image = upload("user=bob", "file=@sample.png;filename=Été à Paris.png").json()

    inline = call("GET", f"/view/{image['id']}").json()["url"]
    attachment = call("GET", f"/view/{image['id']}", query={"download": "1"}).json()["url"]

    expected_name = "filename=\"Ete a Paris.png\"; filename*=utf-8''%C3%89t%C3%A9%20%C3%A0%20Paris.png"
    assert disposition_of(inline) == f"inline; {expected_name}"
    assert disposition_of(attachment) == f"attachment; {expected_name}"


def test_redirect_answers_302_to_the_presigned_url(aws: dict[str, Any]) -> None:
    image = upload("user=bob", "file=@sample.png").json()

    reply = call("GET", f"/view/{image['id']}", query={"redirect": "1", "download": "1"})

    assert reply.status == 302
    location = urlsplit(reply.headers["Location"])
    assert location.path == f"/{image['key']}" or location.path.endswith(f"/images-bucket/{image['key']}")
    assert disposition_of(reply.headers["Location"]).startswith("attachment;")
    # The redirect may be kept while its URL stays the one answered (the rest of its window).
    assert reply.headers["Cache-Control"].startswith("private, max-age=")


@pytest.mark.parametrize("query", [{"download": "maybe"}, {"redirect": "2"}])
def test_view_options_must_be_booleans(aws: dict[str, Any], query: dict[str, str]) -> None:
    image = upload("user=bob", "file=@sample.png").json()

    reply = call("GET", f"/view/{image['id']}", query=query)

    assert (reply.status, reply.json()["code"]) == (400, "INVALID_PARAMETER")
