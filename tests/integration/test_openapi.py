"""The OpenAPI document: generated from the code, committed, served, and complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.web import openapi
from app.web.resolver import app
from tests.integration.lambda_client import call

COMMITTED = Path(__file__).parents[2] / "openapi.json"


def test_the_committed_document_is_the_generated_one() -> None:
    assert COMMITTED.read_text() == openapi.document(app), "openapi.json is stale: run make openapi"


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/upload", "post", {"200", "201", "400", "401", "403", "409", "413", "415", "422", "500"}),
        ("/images/{image_id}", "patch", {"200", "400", "401", "403", "404", "409", "412", "422", "500"}),
        ("/images/delete", "post", {"200", "400", "401", "409", "422", "500"}),
        ("/list", "get", {"200", "400", "401", "500"}),
        ("/view/{image_id}", "get", {"200", "302", "400", "401", "404", "409", "500"}),
        ("/delete/{image_id}", "delete", {"200", "400", "401", "403", "404", "409", "422", "500"}),
    ],
)
def test_every_route_and_its_errors_are_documented(path: str, method: str, statuses: set[str]) -> None:
    document = json.loads(COMMITTED.read_text())

    responses = document["paths"][path][method]["responses"]

    assert set(responses) == statuses
    for status in statuses - {"200", "201", "302"}:
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}


def test_every_write_documents_its_idempotency_key_and_no_read_does() -> None:
    document = json.loads(COMMITTED.read_text())
    takes_a_key = {
        (path, method)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if any(parameter["name"] == "Idempotency-Key" for parameter in operation.get("parameters", []))
    }
    assert takes_a_key == {
        ("/upload", "post"),
        ("/uploads", "post"),
        ("/delete/{image_id}", "delete"),
        ("/images/{image_id}", "patch"),
        ("/images/delete", "post"),
        ("/v1/images", "post"),
        ("/v1/images/{image_id}", "delete"),
    }


def test_the_upload_form_and_list_parameters_are_documented() -> None:
    document = json.loads(COMMITTED.read_text())

    form = document["paths"]["/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/list"]["get"]["parameters"]}

    assert form["required"] == ["file"]  # user: required unless signed in (AUTH=jwt)
    file = {key: value for key, value in form["properties"]["file"].items() if key != "title"}
    assert file == {"type": "string", "format": "binary", "description": "JPEG, PNG, GIF, WebP, AVIF or HEIC"}
    assert (form["properties"]["tags"]["maxItems"], form["properties"]["description"]["maxLength"]) == (10, 1000)
    assert set(parameters) == {
        *("limit", "cursor", "user", "tag", "name_contains", "from", "to", "order", "status", "thumbnails", "mine")
    }
    assert (parameters["limit"]["minimum"], parameters["limit"]["maximum"]) == (1, 1000)
    assert parameters["order"]["enum"] == ["newest", "oldest"]


def test_openapi_json_is_served(aws: dict[str, Any]) -> None:
    reply = call("GET", "/openapi.json")

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert json.loads(reply.body) == json.loads(COMMITTED.read_text())


def test_swagger_ui_is_served_with_its_assets_inline(aws: dict[str, Any]) -> None:
    reply = call("GET", "/swagger")

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"
    assert "SwaggerUIBundle" in reply.body
    assert "<script src=" not in reply.body  # nothing fetched from a CDN: works offline


def test_both_ways_to_prove_who_calls_are_declared() -> None:
    document = json.loads(COMMITTED.read_text())

    assert document["components"]["securitySchemes"] == {
        "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "AUTH=api-key"},
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "AUTH=jwt: an ID token of the issuer",
        },
    }
    assert document["security"] == [{}, {"bearerAuth": []}, {"apiKey": []}]
