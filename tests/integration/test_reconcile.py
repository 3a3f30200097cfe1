"""ops.maintenance reconcile: every kind of inconsistency is found, and --fix repairs it."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from app import storage
from ops import maintenance
from tests.images import image_bytes
from tests.integration.lambda_client import call, stored, upload

ORPHAN = "0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69"


def findings(later: timedelta = timedelta(0), grace: float = 0) -> list[tuple[str, str, str]]:
    now = datetime.now().astimezone() + later
    return [(f.kind, f.image_id, f.key) for f in maintenance.find(storage.ImageStore(), now, grace)]


def fix() -> list[maintenance.Finding]:
    return maintenance.reconcile(fix=True, grace_minutes=0, out=io.StringIO())


def start_direct(aws: dict[str, Any]) -> str:
    body = json.dumps({"user": "dana", "filename": "a.png", "content_type": "image/png", "size": 100}).encode()
    return str(call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=body).json()["id"])


def test_a_consistent_store_has_nothing_to_fix(aws: dict[str, Any]) -> None:
    upload("user=bob", "tags=cat", "file=@sample.png")
    upload("user=eve", "file=@sample.jpg")
    start_direct(aws)  # pending, not yet expired

    assert findings() == []


def test_young_objects_are_left_to_uploads_in_flight(aws: dict[str, Any]) -> None:
    aws["s3"].put_object(Bucket="images-bucket", Key=f"{ORPHAN}.png", Body=b"x")

    assert findings(grace=15) == []
    assert findings(grace=0) == [("object-without-row", ORPHAN, f"{ORPHAN}.png")]


def test_each_kind_is_found_and_fixed(aws: dict[str, Any]) -> None:
    s3, keep = aws["s3"], upload("user=bob", "tags=cat", "file=@sample.png").json()
    no_object = upload("user=carol", "tags=dog", "file=@sample.png").json()
    s3.delete_object(Bucket="images-bucket", Key=no_object["key"])
    no_thumbnail = upload("user=bob", "file=@sample.jpg").json()
    s3.delete_object(Bucket="images-bucket", Key=f"thumbnails/{no_thumbnail['id']}.webp")
    s3.put_object(Bucket="images-bucket", Key=f"incoming/{keep['id']}", Body=b"left over")
    s3.put_object(Bucket="images-bucket", Key=f"thumbnails/{ORPHAN}.webp", Body=b"x")
    s3.put_object(Bucket="images-bucket", Key="notes/readme.txt", Body=b"not ours")
    arrived, never = start_direct(aws), start_direct(aws)
    s3.put_object(Bucket="images-bucket", Key=f"incoming/{arrived}", Body=image_bytes("PNG"))
    tombstone = upload("user=dave", "file=@sample.png").json()
    store = storage.ImageStore()
    row = store.get_row(tombstone["id"])
    assert row is not None
    store.replace_row(row, {**row, "status": "deleting"})

    found = findings(later=timedelta(hours=1))

    assert sorted(found) == sorted(
        [
            ("row-without-object", no_object["id"], no_object["key"]),
            ("missing-thumbnail", no_thumbnail["id"], f"thumbnails/{no_thumbnail['id']}.webp"),
            ("stray-object", keep["id"], f"incoming/{keep['id']}"),
            ("object-without-row", ORPHAN, f"thumbnails/{ORPHAN}.webp"),
            ("foreign-object", "", "notes/readme.txt"),
            ("expired-pending", arrived, f"incoming/{arrived}"),
            ("expired-pending", never, f"incoming/{never}"),
            ("unfinished-delete", tombstone["id"], ""),
        ]
    )

    now = datetime.now().astimezone() + timedelta(hours=1)
    for finding in maintenance.find(store, now, 0):
        maintenance.repair(store, finding)

    assert findings(later=timedelta(hours=1)) == [("foreign-object", "", "notes/readme.txt")]
    keys, rows = stored(aws)
    assert {row["id"]: row["status"] for row in rows} == {
        keep["id"]: "ready",
        no_thumbnail["id"]: "ready",
        arrived: "ready",
    }
    assert f"thumbnails/{no_thumbnail['id']}.webp" in keys
    assert "notes/readme.txt" in keys
    assert [item["id"] for item in call("GET", "/list", query={"tag": "dog"}).json()] == []


def test_the_command_line_exits_1_when_something_is_left_to_fix(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    aws["s3"].put_object(Bucket="images-bucket", Key=f"{ORPHAN}.png", Body=b"x")

    assert maintenance.main(["reconcile", "--grace-minutes", "0"]) == 1
    assert maintenance.main(["reconcile", "--grace-minutes", "0", "--fix"]) == 0
    assert maintenance.main(["reconcile", "--grace-minutes", "0"]) == 0
    assert "1 finding(s); fixed 1, 0 not" in capsys.readouterr().out


def test_reconcile_never_scans(aws: dict[str, Any]) -> None:
    upload("user=bob", "file=@sample.png")
    storage.dynamodb_client().meta.events.register(
        "before-call.dynamodb.Scan", lambda **_: pytest.fail("reconciliation must page the indexes, not Scan")
    )

    assert fix() == []


def test_a_rejected_uploads_leftover_file_is_found(aws: dict[str, Any]) -> None:
    image_id = start_direct(aws)
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{image_id}", Body=b"not an image")
    assert call("POST", f"/uploads/{image_id}/complete").status == 415
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{image_id}", Body=b"posted again")

    assert findings() == [("stray-object", image_id, f"incoming/{image_id}")]


def test_one_finding_that_cannot_be_repaired_does_not_stop_the_others(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = upload("user=bob", "file=@sample.png").json()
    aws["s3"].delete_object(Bucket="images-bucket", Key=f"thumbnails/{broken['id']}.webp")
    aws["s3"].put_object(Bucket="images-bucket", Key=broken["key"], Body=b"no longer an image")
    aws["s3"].put_object(Bucket="images-bucket", Key=f"{ORPHAN}.png", Body=b"x")
    out = io.StringIO()

    left = maintenance.reconcile(fix=True, grace_minutes=0, out=out)

    assert [f.kind for f in left] == ["missing-thumbnail"]  # its image no longer decodes
    assert "not repaired:" in out.getvalue()
    assert findings() == [("missing-thumbnail", broken["id"], f"thumbnails/{broken['id']}.webp")]


def test_an_expired_upload_whose_file_changed_while_repaired_is_left_not_deleted(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repair deleted an expired upload on any error of processing, the 'file changed' conflict
    included, which means the client is uploading right now. Only a file that never came is deleted."""
    image_id = start_direct(aws)
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{image_id}", Body=image_bytes("PNG"))
    store = storage.ImageStore()
    # The client posts its file again while the repair processes it: the row is still pending when
    # the repair tries to make it ready, so the repair loses the race and is told the file changed.
    monkeypatch.setattr(store, "replace_row", lambda *_: False)
    expired = maintenance.Finding("expired-pending", image_id, f"incoming/{image_id}")

    done = maintenance.repair(store, expired)

    assert done == "left alone: the file changed while it was processed; complete again"
    assert [row["status"] for row in stored(aws)[1]] == ["pending"]
    assert f"incoming/{image_id}" in stored(aws)[0]


def test_an_expired_upload_whose_file_never_came_is_deleted(aws: dict[str, Any]) -> None:
    image_id = start_direct(aws)
    expired = maintenance.Finding("expired-pending", image_id, f"incoming/{image_id}")

    assert maintenance.repair(storage.ImageStore(), expired) == "deleted the upload that never arrived"
    assert stored(aws) == ([], [])
