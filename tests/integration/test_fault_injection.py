"""S3 or DynamoDB failing at each step of upload, direct-upload processing and delete.

After every failure the API answers a clean JSON error with a request id, and
reconciliation finds nothing to fix but the states the design documents as
self-healing (app/images.py): a `deleting` tombstone, or a stray `incoming/`
object once an upload is processed. Retrying the request then leaves the store
consistent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app import storage
from ops import maintenance
from tests.images import image_bytes
from tests.integration.lambda_client import Reply, call, objects_of, stored, upload


@contextmanager
def failing(service: str, operation: str, nth: int = 1) -> Iterator[list[int]]:
    """Make the `nth` call of `operation` raise as if AWS had failed it; yields the call counter."""
    client = storage.s3_client() if service == "s3" else storage.dynamodb_client()
    calls = [0]

    def hook(**_: Any) -> None:
        calls[0] += 1
        if calls[0] == nth:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, operation)

    event = f"before-call.{service}.{operation}"
    client.meta.events.register(event, hook)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, hook)


def kinds() -> list[str]:
    now = datetime.now().astimezone()
    return sorted(finding.kind for finding in maintenance.find(storage.ImageStore(), now, grace_minutes=0))


def assert_clean_error(reply: Reply) -> None:
    assert reply.status == 500
    body = reply.json()
    assert (body["code"], set(body)) == ("INTERNAL_ERROR", {"error", "code", "request_id"})
    assert "Traceback" not in reply.body
    assert "injected" not in reply.body


def start_direct() -> str:
    body = json.dumps({"user": "dana", "filename": "a.png", "content_type": "image/png", "size": 100}).encode()
    reply = call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=body)
    assert reply.status == 201
    return str(reply.json()["id"])


@pytest.mark.parametrize(
    ("service", "operation", "nth", "tags"),
    [
        ("s3", "PutObject", 1, "cat"),  # the image
        ("s3", "PutObject", 2, "cat"),  # its thumbnail
        ("dynamodb", "TransactWriteItems", 1, "cat"),  # row, tag items and content item
        ("dynamodb", "TransactWriteItems", 1, ""),  # row and content item
    ],
)
def test_upload(aws: dict[str, Any], service: str, operation: str, nth: int, tags: str) -> None:
    with failing(service, operation, nth) as calls:
        reply = upload("user=bob", f"tags={tags}", "file=@sample.png")

    assert calls[0] >= nth, "the injected failure happened"
    assert_clean_error(reply)
    assert stored(aws) == ([], [])
    assert kinds() == []


def test_a_repeat_upload_whose_holder_cannot_be_read_stores_nothing_more(aws: dict[str, Any]) -> None:
    first = upload("user=bob", "file=@sample.png").json()
    with failing("dynamodb", "GetItem") as calls:  # who holds these bytes, once the row's condition said someone does
        reply = upload("user=bob", "file=@sample.png")

    assert calls[0] == 1
    assert_clean_error(reply)
    assert stored(aws)[0] == objects_of(first)
    assert [row["id"] for row in stored(aws)[1]] == [first["id"]]
    assert kinds() == []


def test_upload_whose_clean_up_fails_too_leaves_what_reconciliation_removes(aws: dict[str, Any]) -> None:
    with failing("dynamodb", "TransactWriteItems"), failing("s3", "DeleteObject"):
        assert_clean_error(upload("user=bob", "file=@sample.png"))

    assert kinds() == ["object-without-row"]  # the image; its thumbnail's delete went through
    maintenance.reconcile(fix=True, grace_minutes=0, out=None)
    assert stored(aws) == ([], [])


def test_start_of_a_direct_upload(aws: dict[str, Any]) -> None:
    body = json.dumps({"user": "dana", "filename": "a.png", "content_type": "image/png", "size": 100}).encode()
    with failing("dynamodb", "PutItem"):
        reply = call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=body)

    assert_clean_error(reply)
    assert stored(aws) == ([], [])


@pytest.mark.parametrize(
    ("service", "operation", "nth", "left"),
    [
        ("s3", "HeadObject", 1, []),
        ("s3", "GetObject", 1, []),  # the first bytes
        ("s3", "GetObject", 2, []),  # the whole file
        ("s3", "PutObject", 1, []),  # the image at its final key
        ("s3", "PutObject", 2, []),  # the thumbnail
        ("dynamodb", "TransactWriteItems", 1, []),  # pending -> ready
        ("s3", "DeleteObject", 1, None),  # incoming/ after success: not a failure for the client
    ],
)
def test_processing(aws: dict[str, Any], service: str, operation: str, nth: int, left: list[str] | None) -> None:
    image_id = start_direct()
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{image_id}", Body=image_bytes("PNG"))

    with failing(service, operation, nth):
        reply = call("POST", f"/uploads/{image_id}/complete")

    if left is None:  # the image is ready; only its incoming/ copy is left behind
        assert (reply.status, reply.json()["status"]) == (200, "ready")
        assert kinds() == ["stray-object"]
        maintenance.reconcile(fix=True, grace_minutes=0, out=None)
    else:
        assert_clean_error(reply)
        assert call("GET", f"/view/{image_id}").json()["status"] == "pending"
        assert kinds() == left
        assert call("POST", f"/uploads/{image_id}/complete").json()["status"] == "ready"
    assert kinds() == []
    assert stored(aws)[0] == sorted([f"{image_id}.png", f"thumbnails/{image_id}.webp"])


@pytest.mark.parametrize(
    ("service", "operation", "nth", "left"),
    [
        ("dynamodb", "GetItem", 1, []),
        ("dynamodb", "TransactWriteItems", 1, []),  # the tombstone
        ("s3", "DeleteObjects", 1, ["unfinished-delete"]),  # all of the image's objects, with the row at once
        ("dynamodb", "DeleteItem", 1, ["unfinished-delete"]),
    ],
)
def test_delete(aws: dict[str, Any], service: str, operation: str, nth: int, left: list[str]) -> None:
    image = upload("user=bob", "tags=cat", "file=@sample.png").json()

    with failing(service, operation, nth):
        reply = call("DELETE", f"/delete/{image['id']}")

    assert_clean_error(reply)
    assert kinds() == left
    assert call("GET", "/list", query={"tag": "cat"}).json() == ([] if left else call("GET", "/list").json())
    assert call("DELETE", f"/delete/{image['id']}").status == 200  # the retry finishes it
    assert stored(aws) == ([], [])
    assert kinds() == []
