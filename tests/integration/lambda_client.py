"""Call lambda_handler as API Gateway would, and look at what ended up stored."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.utilities.typing import LambdaContext as PowertoolsContext

from app import layout, storage
from tests.curl_form import curl_form
from tests.events import DATA, proxy_event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    data: bytes = b""  # a binary answer (an image's bytes), decoded from base64

    def json(self) -> Any:
        return json.loads(self.body)


class LambdaContext(PowertoolsContext):
    """What the runtime passes as `context`, as far as the handler reads it."""

    function_name = "image-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:image-api"
    aws_request_id = "lambda-request-id"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000  # a minute left: an idempotency record in progress holds its key that long


def invoke(event: dict[str, Any]) -> Reply:
    from app.handler import lambda_handler

    result = lambda_handler(event, LambdaContext())
    headers = {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
    headers.update(result.get("headers") or {})
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        assert headers["Content-Type"].startswith("image/"), "only images are answered in binary"
        return Reply(result["statusCode"], headers, "", base64.b64decode(body))
    return Reply(result["statusCode"], headers, body)


def call(method: str, path: str, **kwargs: Any) -> Reply:
    return invoke(proxy_event(method, path, **kwargs))


def upload(*fields: str, headers: dict[str, str] | None = None) -> Reply:
    """POST /upload with the body curl builds for `-F field ...` (run from tests/data)."""
    content_type, body = curl_form(*fields, cwd=str(DATA))
    return call("POST", "/upload", headers={"Content-Type": content_type, **(headers or {})}, body=body)


def objects_of(image: dict[str, Any]) -> list[str]:
    """The keys an uploaded image owns: the image and its thumbnail."""
    return sorted([image["key"], f"thumbnails/{image['id']}.webp"])


def stored(aws: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """(object keys, rows) as they are in the bucket and table right now."""
    objects = aws["s3"].list_objects_v2(Bucket="images-bucket").get("Contents", [])
    items = [storage.from_item(r) for r in aws["dynamodb"].scan(TableName="images")["Items"]]
    return sorted(o["Key"] for o in objects), [item for item in items if layout.ID_RE.match(item["id"])]


def content_items(aws: dict[str, Any]) -> dict[str, str]:
    """The images table's content items: content id -> the image that holds those bytes."""
    items = [storage.from_item(r) for r in aws["dynamodb"].scan(TableName="images")["Items"]]
    return {item["id"]: item["image_id"] for item in items if item["id"].startswith(layout.CONTENT_PREFIX)}


def next_query(reply: Reply) -> dict[str, str] | None:
    """The query of Link rel="next", which must be a relative reference (`<?...>`), or None."""
    link = reply.headers.get("Link")
    if link is None:
        return None
    target, rel = link.split(";", 1)
    assert rel.strip() == 'rel="next"'
    # Relative to the list URL, so that the stage prefix is kept.
    assert target.startswith("<?")
    assert target.endswith(">")
    return {k: v[0] for k, v in parse_qs(target[2:-1]).items()}


def all_pages(query: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """Every page of GET /list for `query`, following the Link headers."""
    current: dict[str, str] | None = dict(query)
    while current is not None:
        reply = call("GET", "/list", query=current)
        assert reply.status == 200, reply.body
        yield reply.json()
        current = next_query(reply)
