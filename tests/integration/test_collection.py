"""Managing a collection through lambda_handler: PATCH /images/{id} under If-Match, POST /images/delete,
and a user's repeated bytes (POST /upload, direct uploads)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app import storage
from app.logic import edits
from ops import maintenance
from tests.events import DATA
from tests.images import image_bytes
from tests.integration.lambda_client import Reply, call, content_items, objects_of, stored, upload

JSON = {"Content-Type": "application/json"}
SAMPLE = (DATA / "sample.png").read_bytes()


def patch(image_id: str, changes: Any, **headers: str) -> Reply:
    return call("PATCH", f"/images/{image_id}", headers={**JSON, **headers}, body=json.dumps(changes).encode())


def delete_many(ids: list[str], **headers: str) -> Reply:
    return call("POST", "/images/delete", headers={**JSON, **headers}, body=json.dumps({"ids": ids}).encode())


def listed(**query: str) -> list[dict[str, Any]]:
    reply = call("GET", "/list", query=query)
    assert reply.status == 200, reply.body
    return list(reply.json())


def findings() -> list[tuple[str, str]]:
    later = datetime.now().astimezone() + timedelta(hours=1)
    return [(f.kind, f.image_id) for f in maintenance.find(storage.ImageStore(), later, 0)]


def image(user: str = "alice", *fields: str) -> dict[str, Any]:
    reply = upload(f"user={user}", *fields, "file=@sample.png")
    assert reply.status == 201, reply.body
    return dict(reply.json())


def images(count: int) -> list[str]:
    """`count` images of distinct users (the same sample file is a new image for each)."""
    return [image(f"user{n}")["id"] for n in range(count)]


# --- PATCH /images/{id} -------------------------------------------------------------------------------
def test_an_edit_changes_the_row_and_its_tag_items_together(aws: dict[str, Any]) -> None:
    first = image("alice", "tags=cat,old", "description=before")
    etag = call("GET", f"/images/{first['id']}").headers["ETag"]

    reply = patch(first["id"], {"description": "after", "tags": "Cat, new"}, **{"If-Match": etag})

    assert reply.status == 200, reply.body
    body = reply.json()
    assert (body["id"], body["description"], body["tags"], body["status"]) == (
        first["id"],
        "after",
        ["cat", "new"],
        "ready",
    )
    now = call("GET", f"/images/{first['id']}")
    assert now.json() == body
    assert reply.headers["ETag"] == now.headers["ETag"] != etag
    assert [(row["id"], row["description"]) for row in listed(tag="new")] == [(first["id"], "after")]
    assert [(row["id"], row["description"]) for row in listed(tag="cat")] == [(first["id"], "after")]
    assert listed(tag="old") == []
    assert call("GET", f"/view/{first['id']}").json()["description"] == "after"
    assert findings() == []


def test_only_the_fields_given_change(aws: dict[str, Any]) -> None:
    first = image("alice", "tags=cat", "description=kept")

    tags_only = patch(first["id"], {"tags": []}).json()
    description_only = patch(first["id"], {"description": "new"}).json()

    assert (tags_only["description"], tags_only["tags"]) == ("kept", [])
    assert (description_only["description"], description_only["tags"]) == ("new", [])
    assert listed(tag="cat") == []


def test_a_stale_etag_is_412_and_changes_nothing(aws: dict[str, Any]) -> None:
    first = image("alice", "tags=cat")
    stale = call("GET", f"/images/{first['id']}").headers["ETag"]
    assert patch(first["id"], {"description": "one"}, **{"If-Match": stale}).status == 200

    reply = patch(first["id"], {"description": "two", "tags": []}, **{"If-Match": stale})

    assert (reply.status, reply.json()["code"]) == (412, "PRECONDITION_FAILED")
    assert reply.json()["error"] == "the image changed since that version (If-Match); GET it again for its current ETag"
    assert call("GET", f"/images/{first['id']}").json()["description"] == "one"
    assert [row["id"] for row in listed(tag="cat")] == [first["id"]]


@pytest.mark.parametrize(("if_match", "status"), [("*", 200), ('"nope", *', 200), ('W/"{etag}"', 412), ('"x"', 412)])
def test_if_match_compares_strongly_and_star_matches_any_version(
    aws: dict[str, Any], if_match: str, status: int
) -> None:
    first = image()
    etag = call("GET", f"/images/{first['id']}").headers["ETag"].strip('"')

    assert patch(first["id"], {"description": "d"}, **{"If-Match": if_match.format(etag=etag)}).status == status


def test_the_etag_is_a_304_for_an_unchanged_image_and_changes_with_it(aws: dict[str, Any]) -> None:
    first = image()
    etag = call("GET", f"/images/{first['id']}").headers["ETag"]

    assert call("GET", f"/images/{first['id']}", headers={"If-None-Match": etag}).status == 304
    patch(first["id"], {"description": "changed"})
    assert call("GET", f"/images/{first['id']}", headers={"If-None-Match": etag}).status == 200


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        ({}, "INVALID_FIELD", "give description, tags or both"),
        ({"user": "bob"}, "INVALID_FIELD", "user: Extra inputs are not permitted"),
        ({"tags": ["Bad Tag"]}, "INVALID_FIELD", "tags: tag"),
        ({"description": "x" * 1001}, "INVALID_FIELD", "description"),
        ({"description": "a\x00b"}, "INVALID_FIELD", "description: must not contain control characters"),
        ([], "INVALID_FIELD", ""),
    ],
)
def test_a_bad_edit_is_400_and_changes_nothing(aws: dict[str, Any], changes: Any, code: str, message: str) -> None:
    first = image("alice", "description=kept")

    reply = patch(first["id"], changes)

    assert (reply.status, reply.json()["code"]) == (400, code), reply.body
    assert message in reply.json()["error"]
    assert reply.json()["request_id"]
    assert call("GET", f"/images/{first['id']}").json()["description"] == "kept"


def test_an_edit_of_no_image_is_404_and_of_a_pending_one_409(aws: dict[str, Any]) -> None:
    body = json.dumps({"user": "dana", "filename": "a.png", "content_type": "image/png", "size": 100}).encode()
    pending = call("POST", "/uploads", headers=JSON, body=body).json()["id"]

    assert patch("0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69", {"description": "x"}).status == 404
    assert patch("not-an-id", {"description": "x"}).status == 404
    reply = patch(pending, {"description": "x"})
    assert (reply.status, reply.json()["code"]) == (409, "NOT_READY")


def test_an_edit_from_a_version_another_edit_just_replaced_is_412(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = image("alice", "tags=cat")
    etag = call("GET", f"/images/{first['id']}").headers["ETag"]
    get_row, reads = storage.ImageStore.get_row, []

    def another_edit_lands_after_the_read(store: storage.ImageStore, image_id: str) -> dict[str, Any] | None:
        row = get_row(store, image_id)
        reads.append(image_id)
        if len(reads) == 1:  # between this edit's read and its write, one from the same version wins
            edits.edit_image(store, image_id, {"tags": ["bird"]})
        return row

    monkeypatch.setattr(storage.ImageStore, "get_row", another_edit_lands_after_the_read)

    reply = patch(first["id"], {"tags": ["dog"]}, **{"If-Match": etag})

    assert (reply.status, reply.json()["code"]) == (412, "PRECONDITION_FAILED")
    monkeypatch.setattr(storage.ImageStore, "get_row", get_row)
    assert call("GET", f"/images/{first['id']}").json()["tags"] == ["bird"]
    assert [tag for tag in ("cat", "dog", "bird") if listed(tag=tag)] == ["bird"]


def test_without_if_match_an_edit_that_meets_another_is_made_on_the_new_version(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = image("alice", "tags=cat", "description=old")
    get_row, reads = storage.ImageStore.get_row, []

    def another_edit_lands_after_the_read(store: storage.ImageStore, image_id: str) -> dict[str, Any] | None:
        row = get_row(store, image_id)
        reads.append(image_id)
        if len(reads) == 1:
            edits.edit_image(store, image_id, {"tags": ["bird"]})
        return row

    monkeypatch.setattr(storage.ImageStore, "get_row", another_edit_lands_after_the_read)

    reply = patch(first["id"], {"description": "new"})

    assert (reply.status, reply.json()["description"], reply.json()["tags"]) == (200, "new", ["bird"])
    assert len(reads) == 3  # its read, the other edit's, and its read again after its write failed


def test_an_edit_with_an_idempotency_key_is_answered_once(aws: dict[str, Any]) -> None:
    first = image()
    etag = call("GET", f"/images/{first['id']}").headers["ETag"]
    headers = {"If-Match": etag, "Idempotency-Key": "edit-1"}

    once, again = (
        patch(first["id"], {"description": "d"}, **headers),
        patch(first["id"], {"description": "d"}, **headers),
    )

    assert (once.status, again.status, again.headers.get("Idempotent-Replayed")) == (200, 200, "true")
    assert again.json() == once.json()


# --- POST /images/delete ------------------------------------------------------------------------------
def test_a_batch_delete_answers_a_status_for_each_id_in_order(aws: dict[str, Any]) -> None:
    ids = images(3)
    kept = image("keeper")
    unknown, malformed = "0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69", "../etc"

    reply = delete_many([ids[0], unknown, ids[1], malformed, ids[2]])

    assert reply.status == 200, reply.body
    assert reply.json() == {
        "results": [
            {"id": ids[0], "status": 200, "code": "DELETED", "error": None},
            {"id": unknown, "status": 404, "code": "NOT_FOUND", "error": "No image with this id"},
            {"id": ids[1], "status": 200, "code": "DELETED", "error": None},
            {"id": malformed, "status": 404, "code": "NOT_FOUND", "error": "No image with this id"},
            {"id": ids[2], "status": 200, "code": "DELETED", "error": None},
        ],
        "deleted": 3,
        "failed": 2,
    }
    keys, rows = stored(aws)
    assert (keys, [row["id"] for row in rows]) == (objects_of(kept), [kept["id"]])
    assert list(content_items(aws).values()) == [kept["id"]]
    assert findings() == []


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"ids": []}, "INVALID_FIELD", "ids"),
        ({"ids": [f"id-{n}" for n in range(101)]}, "INVALID_FIELD", "ids"),
        ({"ids": "one"}, "INVALID_FIELD", "ids"),
        ({}, "MISSING_FIELD", "ids"),
        ({"ids": ["a"], "all": True}, "INVALID_FIELD", "all"),
    ],
)
def test_a_bad_batch_is_400_and_deletes_nothing(
    aws: dict[str, Any], body: dict[str, Any], code: str, message: str
) -> None:
    first = image()

    reply = call("POST", "/images/delete", headers=JSON, body=json.dumps(body).encode())

    assert (reply.status, reply.json()["code"]) == (400, code), reply.body
    assert message in reply.json()["error"]
    assert [row["id"] for row in stored(aws)[1]] == [first["id"]]


def test_an_s3_failure_halfway_through_a_batch_leaves_only_what_a_retry_finishes(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = images(4)
    failing = ids[2]
    delete_objects = storage.ImageStore.delete_objects

    def s3_fails_for_one(store: storage.ImageStore, keys: list[str]) -> None:
        if any(failing in key for key in keys):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, "DeleteObjects")
        delete_objects(store, keys)

    monkeypatch.setattr(storage.ImageStore, "delete_objects", s3_fails_for_one)
    headers = {"Idempotency-Key": "batch-1"}

    first = delete_many(ids, **headers)

    assert [(item["status"], item["code"]) for item in first.json()["results"]] == [
        (200, "DELETED"),
        (200, "DELETED"),
        (500, "INTERNAL_ERROR"),
        (200, "DELETED"),
    ]
    assert (first.json()["deleted"], first.json()["failed"]) == (3, 1)
    # The failed one is what a failed single delete leaves: out of every listing, its delete unfinished.
    assert call("GET", f"/view/{failing}").status == 404
    assert listed() == []
    assert findings() == [("unfinished-delete", failing)]

    monkeypatch.setattr(storage.ImageStore, "delete_objects", delete_objects)
    retried = delete_many(ids, **headers)  # not replayed: the first answer had a failure

    assert "Idempotent-Replayed" not in retried.headers
    assert [item["status"] for item in retried.json()["results"]] == [404, 404, 200, 404]
    assert stored(aws) == ([], [])
    assert content_items(aws) == {}
    assert findings() == []


def test_a_batch_that_succeeded_is_replayed_to_a_retry_with_its_key(aws: dict[str, Any]) -> None:
    ids = images(2)
    once = delete_many(ids, **{"Idempotency-Key": "batch-2"})
    again = delete_many(ids, **{"Idempotency-Key": "batch-2"})

    assert (once.json()["deleted"], again.json()["deleted"], again.headers["Idempotent-Replayed"]) == (2, 2, "true")


# --- duplicates ---------------------------------------------------------------------------------------
def test_the_same_bytes_again_answer_the_first_image_and_store_nothing(aws: dict[str, Any]) -> None:
    first = image("alice", "description=first")
    before = stored(aws)

    again = upload("user=alice", "description=second", "tags=x", "file=@sample.png")

    assert again.status == 200
    assert again.json() == {
        **first,
        "message": "Already stored: this user uploaded these bytes before",
        "duplicate": True,
    }
    assert again.headers["Location"] == f"view/{first['id']}"
    assert stored(aws) == before
    assert upload("user=bob", "file=@sample.png").status == 201  # another user's bytes are their own


def test_after_a_delete_the_same_bytes_are_a_new_image(aws: dict[str, Any]) -> None:
    first = image()
    assert call("DELETE", f"/delete/{first['id']}").status == 200

    again = upload("user=alice", "file=@sample.png")

    assert (again.status, again.json()["duplicate"]) == (201, False)
    assert again.json()["id"] != first["id"]
    assert content_items(aws) == {next(iter(content_items(aws))): again.json()["id"]}


def test_an_upload_that_loses_the_race_to_its_bytes_answers_the_winner(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = image()
    before = stored(aws)
    content_owner, calls = storage.ImageStore.content_owner, []

    def not_yet_the_first_time(store: storage.ImageStore, content_id: str) -> str | None:
        calls.append(content_id)  # the loser checked before the winner wrote; its transaction then fails
        return None if len(calls) == 1 else content_owner(store, content_id)

    monkeypatch.setattr(storage.ImageStore, "content_owner", not_yet_the_first_time)

    again = upload("user=alice", "file=@sample.png")

    assert (again.status, again.json()["id"], again.json()["duplicate"]) == (200, first["id"], True)
    assert stored(aws) == before


def start_direct(user: str = "alice") -> str:
    body = json.dumps({"user": user, "filename": "again.png", "content_type": "image/png", "size": 290}).encode()
    reply = call("POST", "/uploads", headers=JSON, body=body)
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def test_a_direct_upload_of_stored_bytes_completes_as_the_first_image(aws: dict[str, Any]) -> None:
    first = image()
    upload_id = start_direct()
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{upload_id}", Body=SAMPLE)

    completed = call("POST", f"/uploads/{upload_id}/complete")
    again = call("POST", f"/uploads/{upload_id}/complete")

    assert completed.status == 200, completed.body
    assert (completed.json()["id"], completed.json()["duplicate"], completed.json()["status"]) == (
        first["id"],
        True,
        "ready",
    )
    assert again.json()["id"] == first["id"]
    rejected = call("GET", f"/view/{upload_id}").json()
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", f"the same bytes as image {first['id']}")
    keys, _ = stored(aws)
    assert keys == objects_of(first)
    assert findings() == []


def test_a_direct_upload_holds_its_bytes_against_a_later_upload(aws: dict[str, Any]) -> None:
    upload_id = start_direct()
    data = image_bytes("PNG", (5, 5), (1, 2, 3))
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{upload_id}", Body=data)
    assert call("POST", f"/uploads/{upload_id}/complete").json()["duplicate"] is False

    again = call(
        "POST", "/v1/images", headers=JSON,
        body=json.dumps({"user_id": "alice", "image_name": "b.png", "file": base64.b64encode(data).decode()}).encode(),
    )  # fmt: skip

    assert (again.status, again.json()["code"]) == (409, "DUPLICATE_IMAGE")
    assert list(content_items(aws).values()) == [upload_id]


@pytest.mark.usefixtures("repeats_stored")
def test_allow_duplicates_stores_a_repeat_as_a_second_image_by_either_path(aws: dict[str, Any]) -> None:
    first = image()
    again = upload("user=alice", "file=@sample.png")
    upload_id = start_direct()
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{upload_id}", Body=SAMPLE)
    direct = call("POST", f"/uploads/{upload_id}/complete")

    assert (again.status, again.json()["duplicate"]) == (201, False)
    assert (direct.status, direct.json()["id"], direct.json()["duplicate"]) == (200, upload_id, False)
    assert len(stored(aws)[1]) == 3
    assert list(content_items(aws).values()) == [first["id"]]  # the first keeps the bytes
    assert findings() == []


def test_a_repeated_id_in_a_batch_counts_once(aws: dict[str, Any]) -> None:
    (only,) = images(1)

    reply = delete_many([only, only])

    assert reply.json() == {
        "results": [{"id": only, "status": 200, "code": "DELETED", "error": None}],
        "deleted": 1,
        "failed": 0,
    }
