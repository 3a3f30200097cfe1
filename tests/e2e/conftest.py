"""Where the end-to-end suite sends its requests.

    BASE_URL=http://...            any deployed API (AWS_ENDPOINT_URL: where to check S3 and DynamoDB)
    E2E_TARGET=localstack          the API deploy.sh made on LocalStack, found by its name (default)
    E2E_TARGET=local               a local server (python -m deploy.local) started for the session

Nothing deployed means the suite is skipped, with the reason; E2E_REQUIRED=1
(set by CI) turns that skip into a failure, so a green run always ran it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests

LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")
API_NAME = os.environ.get("API_NAME", "image-api")


@dataclass
class Target:
    base_url: str
    aws_endpoint: str | None  # where the API keeps its data, to check it directly

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        )


def _unavailable(reason: str) -> None:
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _localstack_api() -> Target:
    try:
        requests.get(f"{LOCALSTACK}/_localstack/health", timeout=3).raise_for_status()
    except requests.RequestException:
        _unavailable(f"nothing answers at {LOCALSTACK} (start LocalStack and run bash deploy.sh, or set BASE_URL)")
    apis = Target("", LOCALSTACK).client("apigateway").get_rest_apis(limit=500)["items"]
    ids = [api["id"] for api in apis if api["name"] == API_NAME]
    if not ids:
        _unavailable(f"no REST API named {API_NAME} on {LOCALSTACK} (run bash deploy.sh)")
    return Target(f"{LOCALSTACK}/_aws/execute-api/{ids[0]}/dev", LOCALSTACK)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    if os.environ.get("BASE_URL"):
        yield Target(os.environ["BASE_URL"].rstrip("/"), os.environ.get("AWS_ENDPOINT_URL"))
        return
    if os.environ.get("E2E_TARGET", "localstack") == "localstack":
        yield _localstack_api()
        return
    port, aws_port = _free_port(), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "deploy.local", "--port", str(port), "--aws-port", str(aws_port)],
        env={k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if server.poll() is not None:
                pytest.fail(f"the local server exited with {server.returncode}", pytrace=False)
            try:
                requests.get(f"{base_url}/list?limit=1", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield Target(base_url, f"http://127.0.0.1:{aws_port}")
    finally:
        server.terminate()
        server.wait(10)
