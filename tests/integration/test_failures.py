"""Partial failure between S3 and DynamoDB, and the error format of everything that goes wrong."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app import storage
from app.observability import logger
from tests.events import proxy_event
from tests.integration.lambda_client import call, invoke, objects_of, stored, upload


def failing(operation: str):  # type: ignore[no-untyped-def]
    def fail(*_: Any, **__: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"}}, operation)

    return fail


def assert_clean_500(reply: Any) -> None:
    assert reply.status == 500
    body = reply.json()
    assert body["code"] == "INTERNAL_ERROR"
    assert body["request_id"]
    assert "Traceback" not in reply.body
    assert "injected" not in reply.body


def test_row_write_failure_removes_the_object(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.ImageStore, "put_new_row", failing("PutItem"))

    reply = upload("user=bob", "file=@sample.png")

    assert_clean_500(reply)
    assert stored(aws) == ([], [])


def test_object_write_failure_stores_nothing(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.ImageStore, "put_object", failing("PutObject"))

    reply = upload("user=bob", "file=@sample.png")

    assert_clean_500(reply)
    assert stored(aws) == ([], [])


def test_object_delete_failure_hides_the_image_and_a_retry_finishes(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload("user=bob", "file=@sample.png").json()
    with monkeypatch.context() as patch:
        patch.setattr(storage.ImageStore, "delete_objects", failing("DeleteObjects"))
        assert_clean_500(call("DELETE", f"/delete/{image['id']}"))

    # The row is a tombstone: out of the listing and of /view, the object still there for the retry.
    keys, rows = stored(aws)
    assert keys == objects_of(image)
    assert [(row["id"], row["status"]) for row in rows] == [(image["id"], "deleting")]
    assert call("GET", "/list").json() == []
    assert call("GET", f"/view/{image['id']}").status == 404

    reply = call("DELETE", f"/delete/{image['id']}")

    assert (reply.status, reply.json()) == (200, {"deleted": image["id"], "key": image["key"]})
    assert stored(aws) == ([], [])


def test_row_delete_failure_leaves_a_tombstone_that_a_retry_removes(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload("user=bob", "file=@sample.png").json()
    with monkeypatch.context() as patch:
        patch.setattr(storage.ImageStore, "delete_row", failing("DeleteItem"))
        assert_clean_500(call("DELETE", f"/delete/{image['id']}"))

    keys, rows = stored(aws)
    assert keys == []
    assert [row["status"] for row in rows] == ["deleting"]
    assert call("GET", f"/view/{image['id']}").status == 404

    assert call("DELETE", f"/delete/{image['id']}").status == 200
    assert stored(aws) == ([], [])


def test_tombstone_failure_touches_nothing(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    image = upload("user=bob", "file=@sample.png").json()
    monkeypatch.setattr(storage.ImageStore, "replace_row", failing("TransactWriteItems"))

    assert_clean_500(call("DELETE", f"/delete/{image['id']}"))

    keys, rows = stored(aws)
    assert (keys, [row["status"] for row in rows]) == (objects_of(image), ["ready"])


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/upload", "POST"),
        ("POST", "/list", "GET"),
        ("PUT", "/view/abc", "GET"),
        ("GET", "/delete/abc", "DELETE"),
    ],
)
def test_wrong_method_is_405_with_allow(aws: dict[str, Any], method: str, path: str, allow: str) -> None:
    reply = call(method, path)

    assert (reply.status, reply.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert reply.headers["Allow"] == allow


@pytest.mark.parametrize("path", ["/nothing", "/view", "/view/a/b", "/upload/x"])
def test_unknown_routes_are_404_json(aws: dict[str, Any], path: str) -> None:
    reply = call("GET", path)

    assert (reply.status, reply.json()["code"]) == (404, "NOT_FOUND")
    assert reply.headers["Content-Type"] == "application/json"


def test_error_body_carries_the_api_gateway_request_id(aws: dict[str, Any]) -> None:
    event = proxy_event("GET", "/view/nope")
    event["requestContext"]["requestId"] = "req-1234"

    assert invoke(event).json() == {"error": "No image with this id", "code": "NOT_FOUND", "request_id": "req-1234"}


def test_unexpected_errors_are_logged_in_full_and_answered_without_detail(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(storage.ImageStore, "query_page", boom)
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    event = proxy_event("GET", "/list")

    reply = invoke(event)

    assert_clean_500(reply)
    assert "secret internal detail" not in reply.body
    records = [json.loads(line) for line in log.getvalue().splitlines()]
    (record,) = [record for record in records if record["level"] == "ERROR"]  # (the last line is memory's)
    assert "secret internal detail" in record["exception"]
    assert record["correlation_id"] == event["requestContext"]["requestId"] == reply.json()["request_id"]


def test_a_response_that_breaks_its_model_is_a_500_not_a_client_error(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload("user=bob", "file=@sample.png").json()
    from app.logic import deletes

    monkeypatch.setattr(deletes, "delete_image", lambda *_: {"id": image["id"], "key": None})

    assert_clean_500(call("DELETE", f"/delete/{image['id']}"))
