"""HTTP helpers for the end-to-end suite: curl for uploads (as users do), requests for the rest."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests


@dataclass
class CurlReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def curl(*args: str, url: str) -> CurlReply:
    """Run curl as a user would and return status, headers (lower-case names) and body."""
    result = subprocess.run(
        ["curl", "-sS", "-D", "-", "-o", "-", *args, url], capture_output=True, check=True, timeout=120
    )
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100"):  # "Expect: 100-continue" answers come first
        head, _, body = body.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return CurlReply(int(status_line.split()[1]), headers, body)


def upload(base_url: str, *fields: str) -> CurlReply:
    args: list[str] = []
    for field in fields:
        args += ["-F", field]
    return curl(*args, url=f"{base_url}/upload")


def next_link(response: requests.Response) -> str | None:
    """The absolute URL of Link rel="next", resolved as a browser would against the request URL."""
    link = response.headers.get("Link")
    if not link:
        return None
    target = link.split(";", 1)[0].strip()[1:-1]
    return urljoin(response.url, target)


def assert_error(response: requests.Response | CurlReply, status: int, code: str) -> None:
    actual = response.status_code if isinstance(response, requests.Response) else response.status
    assert actual == status, response.json()
    body = response.json()
    assert body["code"] == code, body
    assert set(body) == {"error", "code", "request_id"}
    assert body["request_id"]
