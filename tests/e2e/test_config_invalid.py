"""A deployed function whose environment is edited by hand into a bad setting serves nothing.

The function deploy.sh made on LocalStack has its AUTH set to `JWT` (the capital-letter slip,
as made in a console), then every route is asked for: each answers 500 CONFIG_INVALID naming
AUTH, and nothing is stored. Its environment is then put back and it serves again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from app.settings import get_settings
from tests.e2e.client import Target
from tests.events import DATA

pytestmark = pytest.mark.e2e


@contextmanager
def auth_set_to(target: Target, value: str) -> Iterator[None]:
    """The deployed function with AUTH=`value` in its environment, put back afterwards."""
    functions = boto3.client(
        "lambda", endpoint_url=target.aws_endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1")
    )
    name = get_settings().function_name
    environment = functions.get_function_configuration(FunctionName=name)["Environment"]
    _configure(functions, name, {"Variables": {**environment["Variables"], "AUTH": value}})
    try:
        yield
    finally:
        _configure(functions, name, environment)


def _configure(functions: Any, name: str, environment: dict[str, Any]) -> None:
    functions.update_function_configuration(FunctionName=name, Environment=environment)
    functions.get_waiter("function_updated_v2").wait(FunctionName=name)


def test_every_route_answers_config_invalid_naming_the_setting_until_it_is_corrected(target: Target) -> None:
    if os.environ.get("BASE_URL") or os.environ.get("E2E_TARGET", "localstack") != "localstack":
        pytest.skip("edits the function's environment: deploy.sh's deployment on LocalStack only")
    some_id = str(uuid.uuid4())
    with auth_set_to(target, "JWT"):
        replies = [
            target.get("/list"),
            target.get(f"/view/{some_id}"),
            target.get("/v1/images", params={"user_id": "mallory"}),
            target.delete(f"/delete/{some_id}"),
            target.request("PATCH", f"/images/{some_id}", json={"description": "x"}),
            target.request("POST", "/uploads", json={"filename": "a.png", "content_type": "image/png", "size": 9}),
            target.get("/"),
            target.get("/openapi.json"),
            target.get("/no/such/route"),
        ]
        upload = target.upload("user=mallory", f"file=@{DATA / 'sample.png'}")
    for reply in replies:
        assert reply.status_code == 500, (reply.url, reply.text)
        body = reply.json()
        assert body["code"] == "CONFIG_INVALID", reply.url
        assert "AUTH must be one of none, api-key, jwt" in body.get("message", body["error"])
        assert body["request_id"]
    assert (upload.status, upload.json()["code"]) == (500, "CONFIG_INVALID")
    listed = target.get("/list", params={"user": "mallory"})  # put back: it serves, and stored nothing meanwhile
    assert (listed.status_code, listed.json()) == (200, [])
