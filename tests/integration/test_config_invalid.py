"""A function with a bad setting serves nothing: 500 CONFIG_INVALID on every route, naming the setting.

Through lambda_handler with real proxy events: the routes of the OpenAPI document, the
public pages, an unknown path, a preflight, and an S3 notification.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app import storage
from app.setting_rules import ConfigError
from tests.curl_form import curl_form
from tests.events import DATA, proxy_event
from tests.integration.lambda_client import call, invoke, stored

SOME_ID = "0d6f2c1e-7a41-4b3e-9c5d-2f8e6a1b4c70"  # fixed: the test ids must be the same in every xdist worker
OPENAPI = json.loads((DATA.parents[1] / "openapi.json").read_text())
ROUTES = sorted(
    (method.upper(), path.replace("{image_id}", SOME_ID))
    for path, item in OPENAPI["paths"].items()
    for method in item
    if method in ("get", "post", "patch", "delete", "put")
)
PAGES = [("GET", "/"), ("GET", "/gallery.js"), ("GET", "/auth.json"), ("GET", "/openapi.json"), ("GET", "/swagger")]
ELSE = [("GET", "/no/such/route"), ("OPTIONS", "/list"), ("HEAD", "/list")]


@pytest.fixture
def bad(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AUTH=JWT: the one-letter slip that used to let anyone in."""
    monkeypatch.setenv("AUTH", "JWT")
    storage.reset_clients()
    yield "AUTH"
    monkeypatch.delenv("AUTH")
    storage.reset_clients()


def assert_refused(reply: Any, event: dict[str, Any], setting: str) -> None:
    assert reply.status == 500, reply.body
    body = reply.json()
    assert body["code"] == "CONFIG_INVALID"
    assert body["request_id"] == event["requestContext"]["requestId"]
    message = body.get("message", body["error"])  # /v1's shape names the status in `error`
    assert f"{setting} must be" in message
    assert "'JWT'" not in reply.body  # the rule, never the value
    assert reply.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(("method", "path"), ROUTES + PAGES + ELSE)
def test_every_route_is_refused_naming_the_setting(bad: str, method: str, path: str) -> None:
    event = proxy_event(method, path, query={"user_id": "dana_1"} if path == "/v1/images" else None)
    assert_refused(invoke(event), event, bad)


def test_v1_answers_in_its_own_error_shape(bad: str) -> None:
    event = proxy_event("GET", "/v1/images", query={"user_id": "dana_1"})
    body = invoke(event).json()
    assert body["error"] == "Internal Server Error"
    assert body["message"].startswith("this deployment's settings are invalid")


def test_an_upload_is_refused_before_anything_is_read_or_stored(bad: str, aws: dict[str, Any]) -> None:
    content_type, body = curl_form("user=mallory", "file=@sample.png", cwd=str(DATA))
    event = proxy_event("POST", "/upload", headers={"Content-Type": content_type}, body=body)
    assert_refused(invoke(event), event, bad)
    assert stored(aws) == ([], [])


def test_an_s3_notification_raises_so_that_lambda_retries_it(bad: str) -> None:
    from app.handler import lambda_handler
    from tests.integration.lambda_client import LambdaContext

    event = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": f"incoming/{SOME_ID}"}}}]}
    with pytest.raises(ConfigError, match="AUTH='JWT' must be one of none, api-key, jwt"):
        lambda_handler(event, LambdaContext())


def test_the_problem_is_logged_once_per_environment(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    value = f"{uuid.uuid4().int % 10**6}x"  # a value no other test used: its first time here
    monkeypatch.setenv("MAX_UPLOAD_BYTES", value)
    storage.reset_clients()
    for _ in range(3):
        assert call("GET", "/list").status == 500
    logged = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(logged) == 1
    assert logged[0].problems == f"MAX_UPLOAD_BYTES={value!r} must be a whole number from 1 to 4400000"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VISIBILITY", "Private"),
        ("MAX_UPLOAD_BYTES", "abc"),
        ("VARIANT_SIZES", "128, 256"),
        ("API_CORS_ORIGINS", "*"),
        ("STRIP_METADATA", "False"),
        ("JWT_ISSUER", "http://issuer.example.com"),
    ],
)
def test_each_kind_of_bad_value_is_refused(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    storage.reset_clients()
    event = proxy_event("GET", "/list")
    reply = invoke(event)
    assert reply.status == 500
    assert reply.json()["code"] == "CONFIG_INVALID"
    assert f"{variable} must be" in reply.json()["error"]


def test_private_images_without_sign_in_are_refused_not_shown_to_everyone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY", "private")  # with AUTH=none: every caller would see every image
    storage.reset_clients()
    reply = call("GET", "/list")
    assert (reply.status, reply.json()["code"]) == (500, "CONFIG_INVALID")
    assert "VISIBILITY must be shared unless AUTH=jwt" in reply.json()["error"]


def test_once_corrected_the_function_serves_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH", "JWT")
    storage.reset_clients()
    assert call("GET", "/list").status == 500
    monkeypatch.setenv("AUTH", "none")
    storage.reset_clients()
    assert call("GET", "/list").status == 200
