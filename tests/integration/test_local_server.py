"""`python -m localserver` as a process: start-up message, busy port, clean stop, data kept across restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from deploy.resources import TRY_IT
from localserver import journal
from localserver.launcher import local_server
from tests.crash_server import HEADER
from tests.images import image_bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "localserver", "--port", str(port), "--aws-port=0", "--state=", "--fresh"],
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
    assert "\n  " + "\n  ".join(TRY_IT) + "\n" in out  # the README's Try it, as printed
    assert "\n  make inspect\n" in out  # works in any shell from the repository's folder


def test_the_storage_keeps_its_port_across_restarts_so_printed_lines_and_urls_stay_valid(tmp_path: Path) -> None:
    """The embedded S3 listens on the API's port + 1 at every start (presigned URLs name it)."""
    port = next(p for p in iter(free_port, 0) if p < 65535 and _free(p + 1))
    state = tmp_path / "local-server.json"
    endpoints = []
    for _ in range(2):
        server = subprocess.Popen(
            [sys.executable, "-m", "localserver", "--port", str(port), f"--state={state}", "--fresh"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}")
            endpoints.append(json.loads(state.read_text())["aws_endpoint"])
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=15)
        finally:
            server.kill()
    assert endpoints == [f"http://127.0.0.1:{port + 1}"] * 2


def test_a_busy_storage_port_is_refused_in_one_line() -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "localserver", "--port", str(port), "--aws-port", str(busy), "--state=", "--fresh"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.startswith(f"localserver: cannot start the embedded storage on 127.0.0.1:{busy}")
    assert "--aws-port N or LOCAL_AWS_PORT=N" in result.stderr
    assert "Traceback" not in result.stderr


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_sigterm_twice_stops_quietly_and_the_state_file_says_where_it_ran(tmp_path: Path) -> None:
    """make forwards a SIGTERM of its own: the second signal must not break the stop with a traceback."""
    port, state = free_port(), tmp_path / "local-server.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "localserver", "--port", str(port), "--aws-port=0", f"--state={state}", "--fresh"],
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


def test_what_was_acknowledged_survives_a_kill_and_a_restart_keeps_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    kept: dict[str, bytes] = {}
    with local_server(data_dir=data_dir, module="tests.crash_server") as api:
        for color in ((1, 2, 3), (4, 5, 6)):
            png = image_bytes("PNG", color=color)
            answer = requests.post(
                f"{api.base_url}/upload", data={"user": "erin"}, files={"file": ("a.png", png)}, timeout=30
            )
            assert answer.status_code == 201, answer.text
            kept[answer.json()["id"]] = png
        deleted = next(iter(kept))
        assert requests.delete(f"{api.base_url}/delete/{deleted}", timeout=30).status_code == 200
        kept.pop(deleted)
        # SIGKILL, storage and all: no chance to save anything on the way out.
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{api.base_url}/list", headers={HEADER: "0"}, timeout=30)
    with local_server(data_dir=data_dir) as api:
        listed = requests.get(f"{api.base_url}/list", timeout=30).json()
        assert [image["id"] for image in listed] == list(kept)
        for image_id, png in kept.items():
            view = requests.get(f"{api.base_url}/view/{image_id}", timeout=30).json()
            assert requests.get(view["url"], timeout=30).content == png
        assert requests.get(f"{api.base_url}/view/{deleted}", timeout=30).status_code == 404
    with local_server() as api:  # --fresh: memory only, empty
        assert requests.get(f"{api.base_url}/list", timeout=30).json() == []


@pytest.mark.parametrize(
    "after", [b'{"method": "PU', b'{"meth\n{"method": "PUT", "url": "http://x/c"}\n'], ids=["cut short", "damaged"]
)
def test_a_journal_keeps_its_whole_lines_up_to_any_damage(
    tmp_path: Path, after: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_RECORDER_FILEPATH", "")  # prepare points it at the journal: undone afterwards
    journal_file = journal.journal_of(tmp_path)
    journal_file.write_bytes(b'{"method": "PUT", "url": "http://x/b"}\n' + after)
    journal.prepare(journal_file)
    assert journal_file.read_bytes() == b'{"method": "PUT", "url": "http://x/b"}\n'


def test_a_second_server_on_the_same_data_is_refused(tmp_path: Path) -> None:
    with local_server(data_dir=tmp_path / "data"):
        port = free_port()
        data_dir = f"--data-dir={tmp_path / 'data'}"
        second = subprocess.run(
            [sys.executable, "-m", "localserver", "--port", str(port), "--aws-port=0", "--state=", data_dir],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert "another local server keeps its data in" in second.stderr


@pytest.mark.parametrize(
    ("method", "target", "kept"),
    [
        ("GET", "", False),
        ("HEAD", "", False),
        ("PUT", "", True),  # PutObject
        ("POST", "", True),  # a presigned POST, DeleteObjects
        ("DELETE", "", True),
        ("POST", "DynamoDB_20120810.Query", False),
        ("POST", "DynamoDB_20120810.GetItem", False),
        ("POST", "DynamoDB_20120810.TransactWriteItems", True),
        ("POST", "DynamoDB_20120810.UpdateTimeToLive", True),
    ],
)
def test_only_requests_that_change_something_are_journaled(method: str, target: str, kept: bool) -> None:
    assert journal._changes_state(method, target) is kept


@pytest.mark.parametrize(
    ("variable", "value"), [("AUTH", "JWT"), ("VISIBILITY", "Private"), ("MAX_UPLOAD_BYTES", "abc")]
)
def test_a_bad_setting_is_refused_at_start_in_one_line(variable: str, value: str) -> None:
    started = time.monotonic()
    refused = subprocess.run(
        [sys.executable, "-m", "localserver", "--port", str(free_port()), "--state=", "--fresh"],
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stdout == ""  # nothing announced, nothing listened on
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"localserver: {variable}={value!r} must be ")
    assert line.endswith("; not started")
    assert time.monotonic() - started < 30


def test_make_dev_refuses_the_capitalised_auth_mode() -> None:
    refused = subprocess.run(
        ["make", "--no-print-directory", "-s", "dev"],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "AUTH": "JWT", "PORT": str(free_port()), "FRESH": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "localserver: AUTH='JWT' must be one of none, api-key, jwt (exactly jwt: case and spaces count)" in (
        refused.stderr
    )


STOPS = 20


def test_the_first_sigterm_or_sigint_stops_it_every_time_even_mid_request() -> None:
    """20 starts, each stopped by one signal while requests are in flight: each stop ends within 5 s."""
    took = []
    for attempt in range(STOPS):
        port = free_port()
        server = start(port)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base)
            load = _in_flight(base, server)
            time.sleep(0.05 * (attempt % 4))  # the signal lands at a different moment of the requests each time
            stopped_at = time.monotonic()
            server.send_signal(signal.SIGTERM if attempt % 2 else signal.SIGINT)
            server.wait(5)  # raises TimeoutExpired if one signal was not enough
            took.append(time.monotonic() - stopped_at)
            load.join(10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        assert server.returncode == 0, f"stop {attempt}: exit {server.returncode}"
    print(f"stops: slowest {max(took):.2f} s, median {sorted(took)[STOPS // 2]:.2f} s")


def _in_flight(base: str, server: subprocess.Popen[str]) -> threading.Thread:
    """Requests sent one after another (uploads and listings) until the server is gone."""

    def send() -> None:
        png = image_bytes("PNG", size=(64, 48))
        while server.poll() is None:
            try:
                requests.post(f"{base}/upload", data={"user": "sig"}, files={"file": ("a.png", png)}, timeout=5)
                requests.get(f"{base}/list?limit=5", timeout=5)
            except requests.RequestException:
                return

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_a_server_whose_output_nobody_reads_keeps_answering_and_stops_on_one_signal() -> None:
    """Its output piped and never read: a pipe holds about 64 KiB, some 1,700 access lines."""
    port = free_port()
    server = start(port)  # stdout and stderr are pipes this test never reads
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        with requests.Session() as session:
            statuses = {session.get(f"{base}/list?limit=1", timeout=5).status_code for _ in range(2500)}
        assert statuses == {200}
        server.send_signal(signal.SIGTERM)
        assert server.wait(5) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
