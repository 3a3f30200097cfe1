"""Starting the local server as a process of its own, on free ports (the tests and the benchmark do)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from deploy.endpoints import Api, UnavailableError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_server(
    api_key: str | None = None,
    quiet: bool = True,
    storage: str | None = None,
    env: dict[str, str] | None = None,
    data_dir: Path | None = None,
    module: str = "localserver",
) -> Iterator[Api]:
    """`python -m localserver` on free ports until the block ends, with its own embedded S3 and
    DynamoDB (in memory, or kept in `data_dir`), or with those at `storage` (another local
    server's: two execution environments); `env` sets the service's settings (AUTH=jwt, ...);
    `module` is what runs it (a test's wrapper of localserver)."""
    port, aws_port = free_port(), free_port()
    command = [sys.executable, "-m", module, "--port", str(port), "--aws-port", str(aws_port), "--state="]
    command += [f"--data-dir={data_dir}"] if data_dir is not None else ["--fresh"]
    if api_key:
        command.append(f"--api-key={api_key}")  # a key may start with "-"
    settings = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "LOCAL_API_KEY")}
    settings.update(env or {})
    if storage:  # moto takes any credentials; the embedded one sets these itself
        settings.update(AWS_ENDPOINT_URL=storage, PUBLIC_S3_ENDPOINT=storage)
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_REGION", "us-east-1"),
        ):
            settings.setdefault(name, value)
    stderr = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(command, env=settings, stdout=subprocess.DEVNULL, stderr=stderr)
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
            # (an answer of any status will do: with AUTH=jwt it is a 401)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise UnavailableError("the local server did not answer within 30 s")
