"""ops.maintenance: stale pending uploads are reported, and purged on request."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from app.logic import images
from ops import maintenance
from tests.integration.lambda_client import call, stored

HOUR_MS = 3_600_000


def start_at(monkeypatch: pytest.MonkeyPatch, ms: int, name: str) -> str:
    monkeypatch.setattr(images, "now_ms", lambda: ms)
    body = {"user": "dana", "filename": name, "content_type": "image/png", "size": 10}
    reply = call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=json.dumps(body).encode())
    return str(reply.json()["id"])


def test_stale_pending_uploads_are_reported_then_purged(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    now = images.now_ms()
    old = [start_at(monkeypatch, now - (30 + i) * HOUR_MS, f"old{i}.png") for i in range(3)]
    fresh = start_at(monkeypatch, now - 2 * HOUR_MS, "fresh.png")
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{old[0]}", Body=b"half a file")
    monkeypatch.setattr(images, "now_ms", lambda: now)
    report = io.StringIO()

    assert maintenance.pending(24, purge=False, out=report) == 3
    assert [line.split("\t")[1] for line in report.getvalue().splitlines()[:-1]] == old[::-1]  # oldest first
    assert len(stored(aws)[1]) == 4

    assert maintenance.pending(24, purge=True, out=io.StringIO()) == 3

    keys, rows = stored(aws)
    assert (keys, [row["id"] for row in rows]) == ([], [fresh])
    assert maintenance.pending(24, purge=False, out=io.StringIO()) == 0
