"""Finding a running API: the one deploy.sh made on LocalStack, or a local server started for the occasion.

Shared by the end-to-end tests and the benchmark, so that both aim at the
same thing the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import requests

LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")
API_NAME = os.environ.get("API_NAME", "image-api")


@dataclass
class Api:
    base_url: str
    aws_endpoint: str | None  # where its S3 and DynamoDB answer
    api_key: str | None = None


class UnavailableError(Exception):
    """Nothing to aim at; the message says why and what to do."""


def localstack_api(endpoint: str = LOCALSTACK, name: str = API_NAME) -> Api:
    """The REST API named `name` on LocalStack, with its key if its methods require one."""
    try:
        requests.get(f"{endpoint}/_localstack/health", timeout=3).raise_for_status()
    except requests.RequestException as exc:
        raise UnavailableError(f"nothing answers at {endpoint} (start LocalStack and run bash deploy.sh)") from exc
    apigateway = boto3.client(
        "apigateway",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    ids = [api["id"] for api in apigateway.get_rest_apis(limit=500)["items"] if api["name"] == name]
    if not ids:
        raise UnavailableError(f"no REST API named {name} on {endpoint} (run bash deploy.sh)")
    api = Api(f"{endpoint}/_aws/execute-api/{ids[0]}/dev", endpoint)
    proxy = next(r for r in apigateway.get_resources(restApiId=ids[0])["items"] if r["path"] == "/{proxy+}")
    if apigateway.get_method(restApiId=ids[0], resourceId=proxy["id"], httpMethod="ANY").get("apiKeyRequired"):
        api.api_key = apigateway.get_api_keys(nameQuery=f"{name}-key", includeValues=True)["items"][0]["value"]
    return api


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_server(api_key: str | None = None, quiet: bool = True, storage: str | None = None) -> Iterator[Api]:
    """`python -m deploy.local` on free ports until the block ends, with its own embedded S3 and
    DynamoDB, or with those at `storage` (another local server's: two execution environments)."""
    port, aws_port = free_port(), free_port()
    command = [sys.executable, "-m", "deploy.local", "--port", str(port), "--aws-port", str(aws_port)]
    if api_key:
        command += ["--api-key", api_key]
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "LOCAL_API_KEY")}
    if storage:  # moto takes any credentials; the embedded one sets these itself
        env.update(AWS_ENDPOINT_URL=storage, PUBLIC_S3_ENDPOINT=storage)
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_REGION", "us-east-1"),
        ):
            env.setdefault(name, value)
    stderr = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    api = Api(f"http://127.0.0.1:{port}", storage or f"http://127.0.0.1:{aws_port}", api_key)
    try:
        _wait_until_up(server, api)
        yield api
    finally:
        server.terminate()
        server.wait(10)


def _wait_until_up(server: subprocess.Popen[bytes], api: Api) -> None:
    headers = {"x-api-key": api.api_key} if api.api_key else {}
    for _ in range(300):
        if server.poll() is not None:
            raise UnavailableError(f"the local server exited with {server.returncode}")
        try:
            requests.get(f"{api.base_url}/list?limit=1", headers=headers, timeout=10)  # also imports the handler
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise UnavailableError("the local server did not answer within 30 s")
