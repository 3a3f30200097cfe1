"""The API under test, as a client sees it: curl for uploads (as users do), requests for the rest."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import boto3
import pytest
import requests


@dataclass
class CurlReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Target:
    base_url: str
    aws_endpoint: str | None  # where the API keeps its data, to check it directly
    api_key: str | None = None  # sent as x-api-key when the API requires one
    s3_notifies: bool = True  # S3 invokes the Lambda for direct uploads (not with the local server's moto)

    @property
    def key_header(self) -> dict[str, str]:
        return {"x-api-key": self.api_key} if self.api_key else {}

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, with_key: bool = True, **kwargs: Any) -> requests.Response:
        headers = {**(self.key_header if with_key else {}), **kwargs.pop("headers", {})}
        timeout = kwargs.pop("timeout", 60)
        return requests.request(method, self.url(path), headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def curl(self, *args: str, path: str, with_key: bool = True, output: Path | None = None) -> CurlReply:
        """Run curl as a user would (saving the body with --output when given one); headers come back
        with lower-case names."""
        key = ["-H", f"x-api-key: {self.api_key}"] if with_key and self.api_key else []
        result = subprocess.run(
            ["curl", "-sS", "-D", "-", *key, *args, self.url(path), "--output", str(output or "-")],
            capture_output=True,
            check=True,
            timeout=120,
        )
        head, _, body = result.stdout.partition(b"\r\n\r\n")
        body = output.read_bytes() if output else body
        while head.startswith(b"HTTP/1.1 100"):  # "Expect: 100-continue" answers come first
            head, _, body = body.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
        return CurlReply(int(status_line.split()[1]), headers, body)

    def upload(self, *fields: str, with_key: bool = True) -> CurlReply:
        args: list[str] = []
        for field in fields:
            args += ["-F", field]
        return self.curl(*args, path="/upload", with_key=with_key)

    def start_direct_upload(self, **request: Any) -> requests.Response:
        return self.request("POST", "/uploads", json=request)

    def post_to_s3(self, upload: dict[str, Any], path: str) -> CurlReply:
        """The second step of a direct upload, as the API guide shows it: the form's fields, then the file."""
        fields = [arg for name, value in upload["fields"].items() for arg in ("--form-string", f"{name}={value}")]
        return self.curl(*fields, "-F", f"file=@{path}", path=upload["url"], with_key=False)

    def findings(self) -> list[str]:
        """What reconciliation finds in this API's storage right now (objects of any age), foreign keys aside."""
        from app import storage
        from ops import maintenance

        assert self.aws_endpoint, "the target's storage is not reachable"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", self.aws_endpoint)
            patch.setenv("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "test"))
            patch.setenv("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
            storage.reset_clients()
            try:
                found = maintenance.find(storage.ImageStore(), datetime.now().astimezone(), grace_minutes=0)
            finally:
                storage.reset_clients()
        return [str(finding) for finding in found if finding.kind != "foreign-object"]

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        )


@contextmanager
def environments(target: Target) -> Iterator[list[Target]]:
    """Targets that reach the same storage through different execution environments: on the local
    server (one invocation at a time, as a Lambda environment) a second server on the same storage;
    LocalStack and AWS start as many environments as concurrent requests need."""
    from localserver.launcher import local_server

    if not target.base_url.startswith("http://127.0.0.1:"):
        yield [target]
        return
    with local_server(api_key=target.api_key, storage=target.aws_endpoint) as second:
        yield [target, Target(second.base_url, target.aws_endpoint, target.api_key, s3_notifies=False)]


def doc_block(page: str, heading: str) -> str:
    """The first bash block under a heading of the README or of a docs page, as a user would copy it."""
    text = (Path(__file__).parents[2] / page).read_text()
    section = text[text.index(heading) :]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def run_doc_lines(target: Target, *parts: str) -> subprocess.CompletedProcess[str]:
    """Documented lines (doc_block's, and any of the test's own) run by bash from the repository's folder,
    with BASE set to the target as a user sets it; the documented lines send no API key."""
    if target.api_key:
        pytest.skip("the documented lines send no API key")
    script = "\n".join([f"BASE={target.base_url}", *parts])
    root = Path(__file__).parents[2]
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=180, cwd=root)


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
