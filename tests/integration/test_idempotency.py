"""Idempotency-Key on every write: a retry gets the first answer, and nothing is stored twice."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from typing import Any

import pytest

from app import layout
from app.logic import uploads
from tests.images import image_bytes, write
from tests.integration.lambda_client import Reply, call, stored, upload

PNG = image_bytes("PNG")


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def v1_post(headers: dict[str, str], data: bytes = PNG, user: str = "dana_1") -> Reply:
    body = json.dumps({"user_id": user, "image_name": "cat.png", "file": base64.b64encode(data).decode()})
    return call("POST", "/v1/images", headers={"Content-Type": "application/json", **headers}, body=body.encode())


def start_direct(headers: dict[str, str], size: int = 5_000_000) -> Reply:
    body = json.dumps({"user": "dana", "filename": "big.jpg", "content_type": "image/jpeg", "size": size})
    return call("POST", "/uploads", headers={"Content-Type": "application/json", **headers}, body=body.encode())


def assert_replayed(first: Reply, again: Reply, status: int) -> None:
    """`again` is `first`'s answer, given back as a replay."""
    assert first.status == again.status == status
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def assert_refused(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    body = reply.json()
    assert body["code"] == code
    assert body["request_id"]


def test_a_retried_upload_gets_the_first_answer_and_one_image(aws: dict[str, Any]) -> None:
    headers = key()
    first = upload("user=alice", "description=once", "tags=a", "file=@sample.png", headers=headers)
    # curl draws a new multipart boundary for the retry: the same request all the same.
    again = upload("user=alice", "description=once", "tags=a", "file=@sample.png", headers=headers)

    assert first.status == again.status == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"] == f"view/{first.json()['id']}"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    objects, rows = stored(aws)
    assert [row["id"] for row in rows] == [first.json()["id"]]
    assert len(objects) == 2  # the image and its thumbnail


def test_without_a_key_a_repeat_upload_is_the_first_image_again(aws: dict[str, Any]) -> None:
    first, again = upload("user=alice", "file=@sample.png"), upload("user=alice", "file=@sample.png")
    assert (first.status, again.status) == (201, 200)
    assert (again.json()["id"], again.json()["duplicate"]) == (first.json()["id"], True)
    assert len(stored(aws)[1]) == 1


@pytest.mark.usefixtures("repeats_stored")
def test_without_a_key_a_repeat_upload_is_a_second_image_where_repeats_are_stored(aws: dict[str, Any]) -> None:
    assert upload("user=alice", "file=@sample.png").status == 201
    assert upload("user=alice", "file=@sample.png").status == 201
    assert len(stored(aws)[1]) == 2


def test_the_same_key_with_another_request_is_a_422_and_stores_nothing(aws: dict[str, Any], tmp_path: Any) -> None:
    headers = key()
    first = upload("user=alice", "description=once", "file=@sample.png", headers=headers)
    other_file = write(tmp_path, "other.png", image_bytes("PNG", color=(1, 2, 3)))
    changes = (
        ("user=alice", "description=twice", "file=@sample.png"),
        ("user=bob", "description=once", "file=@sample.png"),
        ("user=alice", "description=once", f"file=@{other_file}"),
    )
    for fields in changes:
        assert_refused(upload(*fields, headers=headers), 422, "IDEMPOTENCY_KEY_REUSED")
    assert [row["id"] for row in stored(aws)[1]] == [first.json()["id"]]


def test_a_refused_request_does_not_hold_its_key(aws: dict[str, Any], tmp_path: Any) -> None:
    headers = key()
    text = write(tmp_path, "notes.png", b"not an image at all")
    assert_refused(upload("user=alice", f"file=@{text}", headers=headers), 415, "UNSUPPORTED_MEDIA_TYPE")
    # The corrected retry is carried out, not refused as another request under a used key.
    corrected = upload("user=alice", "file=@sample.png", headers=headers)
    assert corrected.status == 201
    assert "Idempotent-Replayed" not in corrected.headers
    assert len(stored(aws)[1]) == 1


@pytest.mark.parametrize(
    "value", ["", " ", "x" * 256, "tab\there", "caf\u00e9"], ids=["empty", "space", "long", "control", "non-ascii"]
)
def test_a_malformed_key_is_a_400_and_stores_nothing(aws: dict[str, Any], value: str) -> None:
    reply = upload("user=alice", "file=@sample.png", headers={"Idempotency-Key": value})
    assert_refused(reply, 400, "INVALID_IDEMPOTENCY_KEY")
    assert stored(aws) == ([], [])


def test_one_key_on_two_routes_is_two_requests(aws: dict[str, Any]) -> None:
    headers = key()
    image = upload("user=alice", "file=@sample.png", headers=headers).json()
    deleted = call("DELETE", f"/delete/{image['id']}", headers=headers)
    assert deleted.status == 200
    assert deleted.json() == {"deleted": image["id"], "key": image["key"]}
    assert stored(aws) == ([], [])


def test_a_retried_delete_gets_its_first_answer_not_a_404(aws: dict[str, Any]) -> None:
    image = upload("user=alice", "file=@sample.png").json()
    headers = key()
    first = call("DELETE", f"/delete/{image['id']}", headers=headers)
    again = call("DELETE", f"/delete/{image['id']}", headers=headers)
    assert first.status == again.status == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_refused(call("DELETE", f"/delete/{image['id']}"), 404, "NOT_FOUND")  # a new request: it is gone
    other = upload("user=alice", "description=other", "file=@sample.png").json()
    # The same key for another image is another request under a used key.
    assert_refused(call("DELETE", f"/delete/{other['id']}", headers=headers), 422, "IDEMPOTENCY_KEY_REUSED")
    assert [row["id"] for row in stored(aws)[1]] == [other["id"]]


def test_a_retried_direct_upload_start_answers_the_same_form_and_one_pending_row(aws: dict[str, Any]) -> None:
    headers = key()
    first, again = start_direct(headers), start_direct(headers)
    assert_replayed(first, again, 201)
    assert [row["status"] for row in stored(aws)[1]] == ["pending"]
    assert_refused(start_direct(headers, size=6_000_000), 422, "IDEMPOTENCY_KEY_REUSED")


def test_v1_upload_and_delete_retries_replay_instead_of_409_or_404(aws: dict[str, Any]) -> None:
    headers = key()
    first, again = v1_post(headers), v1_post(headers)
    assert_replayed(first, again, 201)
    assert v1_post({}).json()["code"] == "DUPLICATE_IMAGE"  # without the key the repeat is refused, as before
    refused = v1_post(headers, data=image_bytes("PNG", color=(9, 9, 9)))
    assert refused.status == 422
    assert refused.json()["error"] == "Unprocessable Entity"  # /v1's own error shape
    assert refused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    image_id = first.json()["image_id"]
    delete_key = key()
    gone = [call("DELETE", f"/v1/images/{image_id}", headers=delete_key) for _ in range(2)]
    assert [reply.status for reply in gone] == [200, 200]
    assert gone[1].json() == gone[0].json() == {"image_id": image_id, "message": "Image deleted successfully"}
    assert stored(aws) == ([], [])


def test_a_retry_while_the_first_attempt_runs_is_a_409_with_retry_after(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = key()
    during: list[Reply] = []
    store_upload = uploads.store_upload

    def slow_first_attempt(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if not during:  # the client gives up and retries while this attempt is still storing
            during.append(upload("user=alice", "file=@sample.png", headers=headers))
        return store_upload(*args, **kwargs)

    monkeypatch.setattr(uploads, "store_upload", slow_first_attempt)
    first = upload("user=alice", "file=@sample.png", headers=headers)

    assert first.status == 201
    assert_refused(during[0], 409, "IDEMPOTENCY_IN_PROGRESS")
    assert during[0].headers["Retry-After"] == "1"
    assert upload("user=alice", "file=@sample.png", headers=headers).headers["Idempotent-Replayed"] == "true"
    assert len(stored(aws)[1]) == 1


def test_after_idempotency_expires_in_a_key_may_stand_for_another_request(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from app import storage

    monkeypatch.setenv("IDEMPOTENCY_EXPIRES_IN", "1")
    storage.reset_clients()
    headers = key()
    first = upload("user=alice", "file=@sample.png", headers=headers)
    time.sleep(2.1)  # records expire in whole seconds: past the next one
    other = write(tmp_path, "other.png", image_bytes("PNG", color=(7, 7, 7)))
    later = upload("user=alice", f"file=@{other}", headers=headers)  # no 422: the key was forgotten
    assert (first.status, later.status) == (201, 201)
    assert "Idempotent-Replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert len(stored(aws)[1]) == 2


def test_records_expire_through_the_tables_time_to_live(aws: dict[str, Any]) -> None:
    described = aws["dynamodb"].describe_time_to_live(TableName="images-idempotency")["TimeToLiveDescription"]
    assert described == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}
    image = upload("user=alice", "file=@sample.png", headers=key()).json()
    record, claim = sorted(aws["dynamodb"].scan(TableName="images-idempotency")["Items"], key=lambda i: i["id"]["S"])
    assert record["status"] == {"S": "COMPLETED"}
    assert record["id"]["S"].startswith("image-api#")
    assert int(record["expiration"]["N"]) > time.time() + 86_000
    # The id the request claimed, which expires with the record, never after it.
    assert claim["id"]["S"].startswith(layout.REQUEST_ID_PREFIX)
    assert claim["image_id"] == {"S": image["id"]}
    assert time.time() + 86_000 < int(claim["expiration"]["N"]) < int(record["expiration"]["N"])


def forget_answers(aws: dict[str, Any]) -> None:
    """As when an attempt died after storing, before its answer was recorded, and the deadline its record
    held the key until passed: a retry runs again. The id its request claimed is still claimed."""
    for item in aws["dynamodb"].scan(TableName="images-idempotency")["Items"]:
        if not item["id"]["S"].startswith(layout.REQUEST_ID_PREFIX):
            aws["dynamodb"].delete_item(TableName="images-idempotency", Key={"id": item["id"]})


def test_a_retry_after_an_attempt_died_unrecorded_finds_its_image_instead_of_storing_another(
    aws: dict[str, Any],
) -> None:
    headers = key()
    first = upload("user=alice", "tags=a", "file=@sample.png", headers=headers)
    forget_answers(aws)
    again = upload("user=alice", "tags=a", "file=@sample.png", headers=headers)

    assert (first.status, again.status) == (201, 201)
    assert "Idempotent-Replayed" not in again.headers  # carried out again, and it found the image
    assert again.json()["id"] == first.json()["id"]
    objects, rows = stored(aws)
    assert [row["id"] for row in rows] == [first.json()["id"]]
    assert len(objects) == 2
    assert call("GET", "/list", query={"tag": "a"}).json()[0]["id"] == first.json()["id"]


def test_the_same_after_a_died_v1_upload_and_direct_upload_start(aws: dict[str, Any]) -> None:
    headers = key()
    first = v1_post(headers)
    forget_answers(aws)
    again = v1_post(headers)
    assert (first.status, again.status) == (201, 201)  # not 409 DUPLICATE_IMAGE: it is its own image
    assert again.json()["image_id"] == first.json()["image_id"]
    started = start_direct(headers)
    forget_answers(aws)
    restarted = start_direct(headers)
    assert (started.status, restarted.status) == (201, 201)
    assert restarted.json()["id"] == started.json()["id"]
    assert restarted.json()["upload"]["fields"]["key"] == f"incoming/{started.json()['id']}"
    assert sorted(row["status"] for row in stored(aws)[1]) == ["pending", "ready"]


@pytest.mark.usefixtures("repeats_stored")
def test_keyed_requests_make_ids_of_their_own(aws: dict[str, Any]) -> None:
    ids = {upload("user=alice", f"description={n}", "file=@sample.png", headers=key()).json()["id"] for n in range(3)}
    same_key = key()
    ids.add(upload("user=alice", "file=@sample.png", headers=same_key).json()["id"])
    ids.add(
        upload("user=alice", "file=@sample.png", headers={"Idempotency-Key": same_key["Idempotency-Key"] + "x"}).json()[
            "id"
        ]
    )
    assert len(ids) == 5
    assert all(re.fullmatch(layout.ID_PATTERN, image_id) for image_id in ids)


def test_a_retried_start_never_gets_a_form_once_its_upload_was_processed(aws: dict[str, Any]) -> None:
    headers = key()
    started = start_direct(headers, size=len(PNG)).json()
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{started['id']}", Body=PNG, ContentType="image/png")
    assert call("POST", f"/uploads/{started['id']}/complete").json()["status"] == "ready"
    forget_answers(aws)  # e.g. its record expired (its form's life), its claim not (a day)

    again = start_direct(headers, size=len(PNG))

    assert_refused(again, 409, "ALREADY_UPLOADED")  # a form now would reach the image's own key
    assert [row["status"] for row in stored(aws)[1]] == ["ready"]


def test_a_start_is_replayed_only_while_its_form_is_valid(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from app import storage

    monkeypatch.setenv("DIRECT_UPLOAD_EXPIRES_IN", "1")
    storage.reset_clients()
    headers = key()
    first = start_direct(headers)
    time.sleep(2.1)  # past the form's expiry (records expire in whole seconds)
    later = start_direct(headers)

    assert (first.status, later.status) == (201, 201)
    assert "Idempotent-Replayed" not in later.headers  # a new answer, with a new form
    assert later.json()["id"] == first.json()["id"]
    assert later.json()["upload"]["fields"]["key"] == f"incoming/{first.json()['id']}"
    assert len(stored(aws)[1]) == 1


def test_a_retry_whose_image_was_deleted_meanwhile_leaves_no_objects(aws: dict[str, Any]) -> None:
    headers = key()
    image = upload("user=alice", "file=@sample.png", headers=headers).json()
    row = aws["dynamodb"].get_item(TableName="images", Key={"id": {"S": image["id"]}})["Item"]
    aws["dynamodb"].put_item(TableName="images", Item={**row, "status": {"S": "deleting"}})  # a delete under way
    forget_answers(aws)

    assert_refused(upload("user=alice", "file=@sample.png", headers=headers), 409, "DELETED")
    objects, _ = stored(aws)
    assert objects == []  # what the retry wrote again went with the deleting image's


def test_a_refusal_stands_when_its_record_cannot_be_deleted(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    def fail(*_: Any, **__: Any) -> None:
        raise RuntimeError("the records' table is down")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_delete_record", fail)
    text = write(tmp_path, "notes.png", b"not an image at all")
    assert_refused(upload("user=alice", f"file=@{text}", headers=key()), 415, "UNSUPPORTED_MEDIA_TYPE")
