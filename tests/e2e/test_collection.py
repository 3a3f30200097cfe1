"""Managing a collection over HTTP: racing edits under If-Match, a batch delete, a user's repeated bytes,
and the API guide's lines for each, as printed."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.client import Target, doc_block, environments, run_doc_lines
from tests.images import image_bytes

pytestmark = pytest.mark.e2e


def user() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def uploaded(target: Target, owner: str, data: bytes, **fields: str) -> dict[str, Any]:
    reply = target.request("POST", "/upload", files={"file": ("a.png", data)}, data={"user": owner, **fields})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_two_edits_racing_from_one_version_end_in_exactly_one_412(target: Target) -> None:
    owner = user()
    image = uploaded(target, owner, image_bytes("PNG", (9, 9)), tags="start")
    etag = target.get(f"/images/{image['id']}").headers["ETag"]
    start = threading.Barrier(2)

    with environments(target) as targets:

        def edit(number: int) -> requests.Response:
            start.wait()
            return targets[number % len(targets)].request(
                "PATCH", f"/images/{image['id']}", json={"tags": [f"racer{number}"]}, headers={"If-Match": etag}
            )

        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(edit, range(2)))

    assert sorted(reply.status_code for reply in replies) == [200, 412], [reply.text for reply in replies]
    loser = next(reply for reply in replies if reply.status_code == 412)
    assert loser.json()["code"] == "PRECONDITION_FAILED"
    winner = next(reply for reply in replies if reply.status_code == 200).json()["tags"]
    now = target.get(f"/images/{image['id']}")
    assert now.json()["tags"] == winner
    assert [row["id"] for row in target.get(f"/list?user={owner}&tag={winner[0]}").json()] == [image["id"]]
    assert target.get(f"/list?user={owner}&tag=start").json() == []
    assert target.delete(f"/delete/{image['id']}").status_code == 200


def test_a_batch_delete_answers_each_id_and_leaves_nothing(target: Target) -> None:
    owner = user()
    ids = [uploaded(target, owner, image_bytes("PNG", (4, 4), (n, 1, 2)))["id"] for n in range(3)]
    unknown = str(uuid.uuid4())

    reply = target.request("POST", "/images/delete", json={"ids": [ids[0], unknown, ids[1]]})

    assert reply.status_code == 200, reply.text
    assert [(item["id"], item["status"], item["code"]) for item in reply.json()["results"]] == [
        (ids[0], 200, "DELETED"),
        (unknown, 404, "NOT_FOUND"),
        (ids[1], 200, "DELETED"),
    ]
    assert (reply.json()["deleted"], reply.json()["failed"]) == (2, 1)
    assert [row["id"] for row in target.get(f"/list?user={owner}").json()] == [ids[2]]
    assert [target.get(f"/view/{image_id}").status_code for image_id in ids] == [404, 404, 200]
    if target.aws_endpoint:
        # Only the deleted ones: reconcile runs here with this process's settings (shards), not the API's.
        assert [finding for finding in target.findings() if finding.split("\t")[1] in ids[:2]] == []
    bad = target.request("POST", "/images/delete", json={"ids": []})
    assert (bad.status_code, bad.json()["code"]) == (400, "INVALID_FIELD")
    assert target.delete(f"/delete/{ids[2]}").status_code == 200


def test_the_same_bytes_again_are_the_image_the_user_has_by_either_upload_path(target: Target) -> None:
    owner, data = user(), image_bytes("PNG", (7, 7), (3, 4, 5))
    first = uploaded(target, owner, data)

    again = target.request("POST", "/upload", files={"file": ("b.png", data)}, data={"user": owner})
    started = target.request(
        "POST", "/uploads", json={"user": owner, "filename": "c.png", "content_type": "image/png", "size": len(data)}
    ).json()
    posted = requests.post(started["upload"]["url"], data=started["upload"]["fields"], files={"file": data}, timeout=30)
    completed = complete(target, started["id"])

    assert (again.status_code, again.json()["id"], again.json()["duplicate"]) == (200, first["id"], True)
    assert posted.status_code == 204
    assert (completed.status_code, completed.json()["id"], completed.json()["duplicate"]) == (200, first["id"], True)
    assert [row["id"] for row in target.get(f"/list?user={owner}").json()] == [first["id"]]
    rejected = target.get(f"/view/{started['id']}").json()
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", f"the same bytes as image {first['id']}")
    assert target.delete(f"/delete/{first['id']}").status_code == 200


def complete(target: Target, image_id: str) -> requests.Response:
    """POST complete, as a client does; S3's notification may be processing it at the same moment."""
    for _ in range(20):
        reply = target.request("POST", f"/uploads/{image_id}/complete")
        if reply.status_code != 409 or reply.json()["code"] != "NOT_UPLOADED":
            return reply
        time.sleep(0.5)
    return reply


def test_the_readme_edit_batch_and_duplicate_commands_work_as_printed(target: Target) -> None:
    lines = (
        doc_block("docs/api.md", "**The same bytes again: the image you have.**"),
        doc_block("docs/api.md", "### `GET` and `PATCH /images/{id}`"),
        'echo "ID=$ID"',
        doc_block("docs/api.md", "### `POST /images/delete`"),
    )

    for _ in range(2):  # as a user may: the lines clean up after themselves, so they work again
        result = run_doc_lines(target, *lines)

        assert result.returncode == 0, result.stderr
        duplicate, edited, refused, image_id, batch = result.stdout.splitlines()
        assert duplicate == "True True Already stored: this user uploaded these bytes before"
        assert (json.loads(edited)["description"], json.loads(edited)["tags"]) == (
            "sunset at the beach",
            ["beach", "sunset"],
        )
        assert json.loads(refused)["code"] == "PRECONDITION_FAILED"
        assert target.get(f"/view/{image_id.removeprefix('ID=')}").status_code == 404
        assert (json.loads(batch)["deleted"], json.loads(batch)["failed"]) == (2, 1)
    assert [target.get(f"/list?user={owner}").json() for owner in ("carol", "dana", "erin")] == [[], [], []]
