"""localserver.gateway turns HTTP requests into the events a deployed `{proxy+}` API sends, and results back."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app.settings import is_binary_type
from localserver.gateway import to_event, to_response
from tests.events import DATA

RECORDED_UPLOAD = json.loads((DATA / "events" / "post_upload_multipart.json").read_text())
RECORDED_LIST = json.loads((DATA / "events" / "get_list_repeated_query.json").read_text())


def request(method: str, path: str, *, headers: dict[str, str] | None = None, data: bytes | None = None) -> Request:
    return Request(EnvironBuilder(method=method, path=path, headers=headers, data=data).get_environ())


def test_multipart_upload_matches_the_recorded_event() -> None:
    recorded = RECORDED_UPLOAD
    body = base64.b64decode(recorded["body"])

    event = to_event(request("POST", "/upload", headers=recorded["headers"], data=body))

    assert set(event) == set(recorded)
    for key in ("resource", "path", "httpMethod", "pathParameters", "queryStringParameters", "isBase64Encoded"):
        assert event[key] == recorded[key], key
    assert base64.b64decode(event["body"]) == body
    for name in ("Content-Type", "User-Agent", "Accept"):
        assert event["headers"][name] == recorded["headers"][name]
        assert event["multiValueHeaders"][name] == recorded["multiValueHeaders"][name]
    assert set(recorded["requestContext"]) >= {"requestId", "stage", "httpMethod", "resourcePath", "path"}
    assert event["requestContext"]["requestId"]
    assert event["requestContext"]["resourcePath"] == recorded["requestContext"]["resourcePath"]
    assert event["requestContext"]["httpMethod"] == "POST"


def test_repeated_query_parameters_match_the_recorded_event() -> None:
    event = to_event(request("GET", "/list?limit=2&limit=3&cursor=abc"))

    assert event["queryStringParameters"] == RECORDED_LIST["queryStringParameters"] == {"limit": "3", "cursor": "abc"}
    assert event["multiValueQueryStringParameters"] == RECORDED_LIST["multiValueQueryStringParameters"]
    assert (event["body"], event["isBase64Encoded"]) == (RECORDED_LIST["body"], RECORDED_LIST["isBase64Encoded"])
    assert event["pathParameters"] == RECORDED_LIST["pathParameters"] == {"proxy": "list"}


def test_binary_body_is_base64_and_text_is_not() -> None:
    png = bytes(range(256))
    binary = to_event(request("POST", "/x", headers={"Content-Type": "image/png"}, data=png))
    text = to_event(request("POST", "/x", headers={"Content-Type": "application/json"}, data=b'{"a": "\xc3\xa9"}'))

    assert (binary["isBase64Encoded"], base64.b64decode(binary["body"])) == (True, png)
    assert (text["isBase64Encoded"], text["body"]) == (False, '{"a": "é"}')


def test_missing_body_is_null() -> None:
    event = to_event(request("DELETE", "/delete/abc"))

    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_root_has_no_proxy_parameter() -> None:
    event = to_event(request("GET", "/"))

    assert (event["resource"], event["pathParameters"]) == ("/", None)


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PATCH"])
def test_every_method_is_passed_through(method: str) -> None:
    event = to_event(request(method, "/list"))

    assert event["httpMethod"] == event["requestContext"]["httpMethod"] == method


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("multipart/form-data; boundary=x", True),
        ("image/png", True),
        ("IMAGE/JPEG", True),
        ("application/octet-stream", True),
        ("application/json", False),
        ("text/plain; charset=utf-8", False),
        (None, False),
    ],
)
def test_binary_media_types_are_those_deploy_sh_configures(content_type: str | None, binary: bool) -> None:
    assert is_binary_type(content_type) is binary


@pytest.mark.parametrize(
    ("accept", "binary"),
    [("image/*", True), ("image/png,*/*;q=0.8", True), ("*/*", False), ("*/*,image/png", False), (None, False)],
)
def test_base64_answers_become_bytes_only_for_a_binary_accept_as_api_gateway_does(
    accept: str | None, binary: bool
) -> None:
    result = {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}

    data = to_response(result, accept).get_data()

    assert data == (b"\x89PNG" if binary else base64.b64encode(b"\x89PNG"))


def test_results_become_responses_with_all_headers_and_decoded_bodies() -> None:
    result: dict[str, Any] = {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["image/png"]},
        "body": base64.b64encode(b"\x89PNG\x00\xff").decode(),
        "isBase64Encoded": True,
    }

    response = to_response(result, "image/png")

    assert response.status_code == 201
    assert response.get_data() == b"\x89PNG\x00\xff"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers.getlist("Content-Type") == ["image/png"]
