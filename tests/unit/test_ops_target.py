"""ops.target: the store the maintenance tools find when none is named, and one line when none answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ops import target

ROOT = Path(__file__).parents[2]


def test_aws_endpoint_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")
    assert target.store_endpoint() == ("http://127.0.0.1:9999", "AWS_ENDPOINT_URL")


def test_the_running_local_server_comes_before_localstack(monkeypatch: pytest.MonkeyPatch) -> None:
    import localserver.server

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    state = {"base_url": "http://127.0.0.1:3000", "aws_endpoint": "http://127.0.0.1:3001"}
    monkeypatch.setattr(localserver.server, "running_state", lambda: state)
    assert target.store_endpoint() == ("http://127.0.0.1:3001", "the local server at http://127.0.0.1:3000")
    monkeypatch.setattr(localserver.server, "running_state", lambda: None)
    assert target.store_endpoint() == (target.LOCALSTACK, "LocalStack")


def test_reconcile_with_nothing_answering_says_so_in_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens once this closes
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed}", "AWS_MAX_ATTEMPTS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "ops.maintenance", "--find-store", "reconcile"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"# the store of AWS_ENDPOINT_URL: http://127.0.0.1:{closed}",
        f"python -m ops.maintenance: nothing answers at http://127.0.0.1:{closed}. Start a store first: make dev "
        "(the local server) or make run (LocalStack), or point AWS_ENDPOINT_URL at one.",
    ]
