"""Call lambda_handler as API Gateway would, and look at what ended up stored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app import storage
from tests.curl_form import curl_form
from tests.events import DATA, proxy_event


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class LambdaContext:
    function_name = "image-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:image-api"
    aws_request_id = "lambda-request-id"


def invoke(event: dict[str, Any]) -> Reply:
    from app.handler import lambda_handler

    result = lambda_handler(event, LambdaContext())
    headers = {k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
    headers.update(result.get("headers") or {})
    body = result.get("body") or ""
    assert not result.get("isBase64Encoded"), "JSON routes answer text"
    return Reply(result["statusCode"], headers, body)


def call(method: str, path: str, **kwargs: Any) -> Reply:
    return invoke(proxy_event(method, path, **kwargs))


def upload(*fields: str) -> Reply:
    """POST /upload with the body curl builds for `-F field ...` (run from tests/data)."""
    content_type, body = curl_form(*fields, cwd=str(DATA))
    return call("POST", "/upload", headers={"Content-Type": content_type}, body=body)


def stored(aws: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """(object keys, rows) as they are in the bucket and table right now."""
    objects = aws["s3"].list_objects_v2(Bucket="images-bucket").get("Contents", [])
    rows = aws["dynamodb"].scan(TableName="images")["Items"]
    return sorted(o["Key"] for o in objects), [storage.from_item(r) for r in rows]
