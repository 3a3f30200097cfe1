"""HTTP caching at the edge: HEAD answered as GET without its body, ETag and 304 on GET answers,
and how long a redirect to a presigned URL may be kept.

It wraps the resolver (app/handler.py), so every GET route gets the same
rules without a line of its own: the ETag is a digest of the answer's body
(and its Link header), so it changes exactly when the answer does. Presigned
URLs in a body stay the same within a window (app/storage/store.py), so a
repeated /view or /list within it is a 304.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from app.storage import url_stays_for

ProxyAnswer = dict[str, Any]
# A JSON answer may be kept, but asked about again each time (If-None-Match): a 304 costs no body.
REVALIDATE = "private, no-cache"


def redirect_headers(url: str) -> dict[str, str]:
    """A redirect to a presigned URL may be kept while that URL stays the one answered."""
    return {"Location": url, "Cache-Control": f"private, max-age={url_stays_for()}"}


def answer(event: dict[str, Any], resolve: Callable[[dict[str, Any]], ProxyAnswer]) -> ProxyAnswer:
    """The resolver's answer to a proxy event, with HEAD, ETag and If-None-Match handled."""
    method = event.get("httpMethod")
    if method == "HEAD":  # API Gateway passes HEAD to ANY routes; it is GET without the body
        context = {**(event.get("requestContext") or {}), "httpMethod": "GET"}
        event = {**event, "httpMethod": "GET", "requestContext": context}
    response = resolve(event)
    if method in ("GET", "HEAD") and response.get("statusCode") == 200:
        response = _validated(event, response)
    if method == "HEAD":
        response = {**response, "body": "", "isBase64Encoded": False}
    return response


def _validated(event: dict[str, Any], response: ProxyAnswer) -> ProxyAnswer:
    """The answer with its ETag, or a 304 when the client's copy has it."""
    headers = _headers(response)
    etag = _header(headers, "etag") or _etag_of(response, _header(headers, "link"))
    headers["ETag"] = [etag]
    if not _header(headers, "cache-control") and str(_header(headers, "content-type")).startswith("application/json"):
        headers["Cache-Control"] = [REVALIDATE]
    response = {**response, "multiValueHeaders": headers}
    response.pop("headers", None)
    if _matches(_request_header(event, "if-none-match"), etag):
        return {**response, "statusCode": 304, "body": "", "isBase64Encoded": False}
    return response


def _etag_of(response: ProxyAnswer, link: str | None) -> str:
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    digest = hashlib.sha256(data + (link or "").encode()).hexdigest()
    return f'"{digest[:32]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison: W/ aside, any listed tag equal, or `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def matches_strongly(if_match: str, etag: str) -> bool:
    """RFC 9110's If-Match: `*`, or a listed tag equal to `etag`; a weak tag (W/) never matches."""
    tags = {tag.strip() for tag in if_match.split(",")}
    return "*" in tags or (not etag.startswith("W/") and etag in tags)


def _headers(response: ProxyAnswer) -> dict[str, list[str]]:
    """The answer's headers as multiValueHeaders (Powertools may use either form)."""
    merged = {name: list(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
    for name, value in (response.get("headers") or {}).items():
        merged.setdefault(name, [value])
    return merged


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    return next((values[0] for key, values in headers.items() if key.lower() == name and values), None)


def _request_header(event: dict[str, Any], name: str) -> str | None:
    return next((str(value) for key, value in (event.get("headers") or {}).items() if key.lower() == name), None)
