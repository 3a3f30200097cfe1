"""`python -m localserver` as a process: start-up message, busy port, clean stop on Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "localserver", "--port", str(port), "--state="],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_up(base_url: str) -> None:
    for _ in range(200):
        try:
            requests.get(f"{base_url}/list", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise AssertionError("the local server did not come up")


def test_serves_refuses_a_busy_port_and_stops_cleanly_on_ctrl_c() -> None:
    port = free_port()
    server = start(port)
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        assert requests.get(f"http://127.0.0.1:{port}/list", timeout=5).json() == []

        second = start(port)
        _, second_err = second.communicate(timeout=30)
        assert second.returncode == 2
        assert f"cannot listen on 127.0.0.1:{port}" in second_err

        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=10)
    finally:
        server.kill()
    assert server.returncode == 0
    assert f"Image API (local mode) on http://127.0.0.1:{port}" in out
    assert "in memory only" in out
    assert "curl -s -F user=alice" in out


def test_sigterm_twice_stops_quietly_and_the_state_file_says_where_it_ran(tmp_path: Path) -> None:
    """make forwards a SIGTERM of its own: the second signal must not break the stop with a traceback."""
    port, state = free_port(), tmp_path / "local-server.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "localserver", "--port", str(port), f"--state={state}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        assert json.loads(state.read_text())["base_url"] == f"http://127.0.0.1:{port}"
        server.send_signal(signal.SIGTERM)
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=15)
    finally:
        server.kill()
    assert (server.returncode, out.splitlines()[-1]) == (0, "Stopped.")
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert not state.exists()
