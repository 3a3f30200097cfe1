"""API Gateway REST proxy events (payload 1.0), shaped like ones recorded from a deployed `{proxy+}` API."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

from app.settings import is_binary_type

DATA = Path(__file__).parent / "data"
# Recorded from LocalStack: curl -F ... $BASE/upload through ANY /{proxy+} with binary media types.
RECORDED = json.loads((DATA / "events" / "post_upload_multipart.json").read_text())


def proxy_event(
    method: str,
    path: str,
    *,
    query: dict[str, str | list[str]] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends for this request, binary bodies base64-encoded as the API is configured."""
    event: dict[str, Any] = copy.deepcopy(RECORDED)
    headers = {"Host": "localhost:4566", "User-Agent": "curl/7.88.1", "Accept": "*/*", **(headers or {})}
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    binary = body is not None and is_binary_type(content_type)
    event.update(
        httpMethod=method,
        path=path,
        resource="/" if path == "/" else "/{proxy+}",
        pathParameters=None if path == "/" else {"proxy": path.lstrip("/")},
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters={k: v[-1] for k, v in multi_query.items()} or None,
        multiValueQueryStringParameters=multi_query or None,
        body=None if body is None else (base64.b64encode(body).decode() if binary else body.decode("utf-8")),
        isBase64Encoded=binary,
    )
    event["requestContext"].update(
        httpMethod=method, path=f"/dev{path}", requestId=str(uuid.uuid4()), resourcePath=event["resource"]
    )
    return event
