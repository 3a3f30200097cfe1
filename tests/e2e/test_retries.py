"""Idempotency-Key over real HTTP: curl's retry (a new multipart boundary) gets the first answer, and one image."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.client import Target, doc_block

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "tests" / "data" / "sample.png"


def test_a_retried_upload_and_delete_get_their_first_answers(target: Target) -> None:
    user = f"e2e-retry-{uuid.uuid4().hex[:8]}"
    key = ["-H", f"Idempotency-Key: {uuid.uuid4()}"]
    fields = ["-F", f"user={user}", "-F", f"file=@{SAMPLE}"]

    first = target.curl(*key, *fields, path="/upload")
    again = target.curl(*key, *fields, path="/upload")

    assert (first.status, again.status) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    listed = target.get("/list", params={"user": user}).json()
    assert [image["id"] for image in listed] == [first.json()["id"]]

    other = target.curl(*key, "-F", f"user={user}", "-F", "description=another", f"-Ffile=@{SAMPLE}", path="/upload")
    assert other.status == 422
    assert (other.json()["code"], bool(other.json()["request_id"])) == ("IDEMPOTENCY_KEY_REUSED", True)

    delete_key = {"Idempotency-Key": str(uuid.uuid4())}
    gone = [target.delete(f"/delete/{first.json()['id']}", headers=delete_key) for _ in range(2)]
    assert [reply.status_code for reply in gone] == [200, 200]
    assert gone[1].json() == gone[0].json()
    assert gone[1].headers["Idempotent-Replayed"] == "true"
    assert target.get("/list", params={"user": user}).json() == []


def test_the_readme_retry_commands_work_as_printed(target: Target) -> None:
    if target.api_key:
        pytest.skip("the documented retry lines send no API key")
    script = f"BASE={target.base_url}\n" + doc_block("docs/api.md", "### Retries")

    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert result.returncode == 0, result.stderr
    created, status, replayed = result.stdout.splitlines()
    image = json.loads(created)
    try:
        assert status.startswith("HTTP/1.1 201")
        assert replayed.strip().lower() == "idempotent-replayed: true"
        assert [item["id"] for item in target.get("/list", params={"user": "alice"}).json()].count(image["id"]) == 1
    finally:
        target.delete(f"/delete/{image['id']}")
