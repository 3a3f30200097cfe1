"""Where the end-to-end suite sends its requests.

    BASE_URL=http://...            any deployed API (AWS_ENDPOINT_URL: where to check S3 and
                                   DynamoDB; E2E_API_KEY: its key, if it needs one)
    E2E_TARGET=localstack          the API deploy.sh made on LocalStack, found by its name (default)
    E2E_TARGET=local               a local server (python -m deploy.local) started for the session,
                                   requiring an API key so that the key tests run there too

Nothing deployed means the suite is skipped, with the reason; E2E_REQUIRED=1
(set by CI and make test) turns that skip into a failure, so a green run always ran it.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.client import Target

LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")
API_NAME = os.environ.get("API_NAME", "image-api")


def _unavailable(reason: str) -> None:
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _localstack_api() -> Target:
    try:
        requests.get(f"{LOCALSTACK}/_localstack/health", timeout=3).raise_for_status()
    except requests.RequestException:
        _unavailable(f"nothing answers at {LOCALSTACK} (start LocalStack and run bash deploy.sh, or set BASE_URL)")
    apigateway = Target("", LOCALSTACK).client("apigateway")
    ids = [api["id"] for api in apigateway.get_rest_apis(limit=500)["items"] if api["name"] == API_NAME]
    if not ids:
        _unavailable(f"no REST API named {API_NAME} on {LOCALSTACK} (run bash deploy.sh)")
    target = Target(f"{LOCALSTACK}/_aws/execute-api/{ids[0]}/dev", LOCALSTACK)
    proxy = next(r for r in apigateway.get_resources(restApiId=ids[0])["items"] if r["path"] == "/{proxy+}")
    if apigateway.get_method(restApiId=ids[0], resourceId=proxy["id"], httpMethod="ANY").get("apiKeyRequired"):
        keys = apigateway.get_api_keys(nameQuery=f"{API_NAME}-key", includeValues=True)["items"]
        target.api_key = keys[0]["value"]
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    if os.environ.get("BASE_URL"):
        yield Target(
            os.environ["BASE_URL"].rstrip("/"), os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("E2E_API_KEY")
        )
        return
    if os.environ.get("E2E_TARGET", "localstack") == "localstack":
        yield _localstack_api()
        return
    port, aws_port, key = _free_port(), _free_port(), secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "deploy.local", "--port", str(port), "--aws-port", str(aws_port)]
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    server = subprocess.Popen([*command, "--api-key", key], env=env, stdout=subprocess.DEVNULL)
    target = Target(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{aws_port}", key, s3_notifies=False)
    try:
        for _ in range(300):
            if server.poll() is not None:
                pytest.fail(f"the local server exited with {server.returncode}", pytrace=False)
            try:
                target.get("/list?limit=1", timeout=10)  # the first request also imports the handler
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield target
    finally:
        server.terminate()
        server.wait(10)
