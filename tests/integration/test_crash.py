"""Crash consistency: the serving process killed (SIGKILL) at every step of a write, then restarted.

The function runs in one local server process (tests/crash_server.py, which kills
itself before the Nth call to S3 or DynamoDB, or just before answering), its S3
and DynamoDB in another that lives on, as a bucket and a table outlive a Lambda
execution environment. For N = 0, 1, 2, ... until the request is answered, each
run is followed by a restart and the checks a user would make:

- every upload that was answered 2xx is listed, its bytes and thumbnail intact;
- nothing half-stored is visible: every listed image can be viewed and downloaded whole;
- the client's retry of the killed request succeeds (or, for a delete, finds it gone);
- `reconcile` finds only what README's Guarantees call self-healing for that
  operation, `reconcile --fix` clears it, and a second `reconcile` finds nothing.
"""

from __future__ import annotations

import hashlib
import io
import time
from typing import Any

import pytest
import requests

from app.storage import reset_clients
from deploy.endpoints import Api
from localserver.launcher import local_server
from ops import maintenance
from tests.crash_server import HEADER
from tests.images import image_bytes

# What a killed request may leave for reconcile, by operation (README: Guarantees). Anything else fails.
SELF_HEALING = {
    "upload": {"object-without-row"},  # objects stored, the row's transaction never ran
    "complete": {"stray-object"},  # processed, its incoming copy not yet deleted
    "delete": {"unfinished-delete"},  # a tombstone whose deleter died; its lease has run out
}
# The function's timeout, as the killed attempt's claims see it: a delete's lease ends 5 s after it.
FUNCTION_TIMEOUT = 1
LEASE_SECONDS = FUNCTION_TIMEOUT + 5 + 0.5
TIMEOUT = 30


class Client:
    """What a user of the API does: upload, start and finish direct uploads, delete, look."""

    def __init__(self, api: Api) -> None:
        self.base = api.base_url

    def upload(self, data: bytes, crash_after: int | None = None, key: str | None = None) -> requests.Response:
        files = {"file": ("photo.png", data, "image/png")}
        headers = {**_arm(crash_after), **({"Idempotency-Key": key} if key else {})}
        return requests.post(
            f"{self.base}/upload", data={"user": "carol"}, files=files, headers=headers, timeout=TIMEOUT
        )

    def start_direct(self, data: bytes) -> str:
        form = {"user": "carol", "filename": "big.png", "content_type": "image/png", "size": len(data)}
        answer = requests.post(f"{self.base}/uploads", json=form, timeout=TIMEOUT)
        assert answer.status_code == 201, answer.text
        upload = answer.json()["upload"]
        posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("big.png", data)}, timeout=TIMEOUT)
        assert posted.status_code == 204, posted.text
        return str(answer.json()["id"])

    def complete(self, image_id: str, crash_after: int | None = None) -> requests.Response:
        return requests.post(f"{self.base}/uploads/{image_id}/complete", headers=_arm(crash_after), timeout=TIMEOUT)

    def delete(self, image_id: str, crash_after: int | None = None) -> requests.Response:
        return requests.delete(f"{self.base}/delete/{image_id}", headers=_arm(crash_after), timeout=TIMEOUT)

    def listed(self) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for status in ("ready", "pending"):
            answer = requests.get(f"{self.base}/list", params={"limit": 1000, "status": status}, timeout=TIMEOUT)
            assert answer.status_code == 200, answer.text
            rows.update({row["id"]: row for row in answer.json()})
        return rows

    def assert_whole(self, image_id: str, sha256: str | None) -> None:
        """The image can be viewed, and its bytes (those acknowledged, when they were) and thumbnail downloaded."""
        view = requests.get(f"{self.base}/view/{image_id}", timeout=TIMEOUT)
        assert view.status_code == 200, view.text
        detail = view.json()
        data = requests.get(detail["url"], timeout=TIMEOUT).content
        assert len(data) == detail["size"]
        if sha256 is not None:
            assert hashlib.sha256(data).hexdigest() == sha256
        assert requests.get(detail["thumbnail_url"], timeout=TIMEOUT).status_code == 200


def _arm(crash_after: int | None) -> dict[str, str]:
    return {} if crash_after is None else {HEADER: str(crash_after)}


def reconcile(storage: Api, *flags: str) -> tuple[int, set[str]]:
    """ops.maintenance's reconcile on the storage, objects of any age: (its exit status, the kinds it found)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", str(storage.aws_endpoint))
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
            patch.setenv(name, value)
        patch.setenv("AWS_REGION", "us-east-1")
        reset_clients()
        try:
            status = 1 if maintenance.reconcile("--fix" in flags, grace_minutes=0, out=out) else 0
        finally:
            reset_clients()
    lines = out.getvalue().strip().splitlines()
    return status, {line.split("\t")[0] for line in lines[:-1]}


def crashing_server(storage: Api) -> Any:
    env = {"FUNCTION_TIMEOUT": str(FUNCTION_TIMEOUT)}
    return local_server(storage=storage.aws_endpoint, env=env, module="tests.crash_server")


def png(seed: int) -> bytes:
    return image_bytes("PNG", size=(40, 30), color=(seed % 256, (seed * 7) % 256, 90))


@pytest.mark.parametrize("operation", sorted(SELF_HEALING))
def test_a_kill_at_any_step_loses_no_answered_write_and_leaves_only_self_healing_states(operation: str) -> None:
    acknowledged: dict[str, str] = {}  # image id -> sha256 of the bytes the client stored there
    killed: tuple[int, str] | None = None  # (seed, target) of the request that was killed
    kills = 0
    with local_server() as storage:
        while True:
            with crashing_server(storage) as api:
                client = Client(api)
                if killed is not None:
                    _after_the_kill(client, storage, operation, killed, acknowledged)
                seed = kills
                target = _prepare(client, operation, seed, acknowledged)
                try:
                    answer = _act(client, operation, seed, target, kills)
                except requests.ConnectionError:  # killed before it could answer
                    killed, kills = (seed, target), kills + 1
                    continue
                _answered(operation, answer, seed, target, acknowledged)
                assert reconcile(storage) == (0, set())
                _assert_all_whole(client, acknowledged)
                break
    print(f"{operation}: killed at each of {kills} steps")
    assert kills >= 3, f"{operation}: killed only {kills} times; the steps were not all reached"


def _prepare(client: Client, operation: str, seed: int, acknowledged: dict[str, str]) -> str:
    """What the request under test needs, made without a kill; returns what the request acts on."""
    if operation == "upload":
        return f"upload-{seed}"  # its Idempotency-Key
    if operation == "complete":
        return client.start_direct(png(seed))
    answer = client.upload(png(seed))
    assert answer.status_code == 201, answer.text
    acknowledged[answer.json()["id"]] = answer.json()["sha256"]
    return str(answer.json()["id"])


def _act(client: Client, operation: str, seed: int, target: str, crash_after: int | None) -> requests.Response:
    if operation == "upload":
        return client.upload(png(seed), crash_after, key=target)
    if operation == "complete":
        return client.complete(target, crash_after)
    return client.delete(target, crash_after)


def _answered(operation: str, answer: requests.Response, seed: int, target: str, acknowledged: dict[str, str]) -> None:
    """Note what an answer acknowledged."""
    assert answer.status_code in (200, 201), answer.text
    if operation == "upload":
        acknowledged[answer.json()["id"]] = answer.json()["sha256"]
    elif operation == "complete":
        acknowledged[target] = hashlib.sha256(png(seed)).hexdigest()
    else:
        acknowledged.pop(target, None)


def _after_the_kill(
    client: Client, storage: Api, operation: str, killed: tuple[int, str], acknowledged: dict[str, str]
) -> None:
    """After the restart: reconcile finds only self-healing states; the client's retry finishes the
    request; reconcile --fix leaves nothing; what was acknowledged is there, whole, and nothing more."""
    seed, target = killed
    if operation == "delete" and target not in client.listed():
        time.sleep(LEASE_SECONDS)  # a tombstone is its dead deleter's until the lease ends
    _, kinds = reconcile(storage)
    assert kinds <= SELF_HEALING[operation], kinds
    if operation == "upload":
        time.sleep(FUNCTION_TIMEOUT + 0.3)  # the dead attempt's key is held until its deadline
    retry = _act(client, operation, seed, target, None)
    if operation == "delete":
        assert retry.status_code in (200, 404), retry.text  # 404: the kill came after the row was gone
        acknowledged.pop(target)
    else:
        _answered(operation, retry, seed, target, acknowledged)
    assert reconcile(storage, "--fix")[0] == 0
    assert reconcile(storage) == (0, set())
    _assert_all_whole(client, acknowledged)


def _assert_all_whole(client: Client, acknowledged: dict[str, str]) -> None:
    """The images listed are those acknowledged (none lost, none twice), each whole."""
    listed = client.listed()
    assert set(listed) == set(acknowledged)
    for image_id, row in listed.items():
        assert row["status"] == "ready", row
        client.assert_whole(image_id, acknowledged[image_id])
