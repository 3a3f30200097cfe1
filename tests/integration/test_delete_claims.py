"""Who deletes an image: the tombstone's claim, taken over only from a deleter that failed or died."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from app import storage
from app.logic import images
from ops import maintenance
from tests.integration.lambda_client import call, objects_of, stored, upload


def tombstone(image_id: str, until_ms: int, claim: str = "a-deleter-that-died") -> None:
    """Leave the row as a delete that stopped after its first step would (its claim held until `until_ms`)."""
    store = storage.ImageStore()
    row = store.get_row(image_id)
    assert row is not None
    dead = {**images.with_status(row, "deleting"), "delete_claim": claim, "delete_until": until_ms}
    assert store.replace_row(row, dead)


def unfinished() -> list[str]:
    found = maintenance.find(storage.ImageStore(), datetime.now().astimezone(), grace_minutes=0)
    return [finding.image_id for finding in found if finding.kind == "unfinished-delete"]


def test_a_delete_in_flight_holds_the_image_others_get_409(aws: dict[str, Any]) -> None:
    image = upload("user=bob", "file=@sample.png").json()
    tombstone(image["id"], images.now_ms() + 30_000)

    reply = call("DELETE", f"/delete/{image['id']}")

    assert (reply.status, reply.json()["code"]) == (409, "DELETE_IN_PROGRESS")
    assert reply.headers["Retry-After"] in {"29", "30"}
    assert reply.json()["error"] == f"another request is deleting this image; retry in {reply.headers['Retry-After']} s"
    assert stored(aws)[0] == objects_of(image), "nothing of it was touched"
    assert unfinished() == [], "reconciliation leaves a delete in flight alone"


def test_the_delete_of_a_deleter_that_died_is_taken_over_and_finished(aws: dict[str, Any]) -> None:
    image = upload("user=bob", "tags=cat", "file=@sample.png").json()
    tombstone(image["id"], images.now_ms() - 1)
    assert unfinished() == [image["id"]]

    reply = call("DELETE", f"/delete/{image['id']}")

    assert (reply.status, reply.json()) == (200, {"deleted": image["id"], "key": image["key"]})
    assert stored(aws) == ([], [])
    assert call("DELETE", f"/delete/{image['id']}").status == 404


def test_a_deleter_whose_claim_was_taken_over_is_not_told_200(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its claim expired while it worked (a stalled function): the one that took over reports the delete."""
    image = upload("user=bob", "file=@sample.png").json()
    real_delete_row = storage.ImageStore.delete_row

    def taken_over_meanwhile(store: storage.ImageStore, image_id: str, claim: str) -> bool:
        tombstone(image_id, images.now_ms() - 1, claim="the-one-that-took-over")
        return real_delete_row(store, image_id, claim)

    monkeypatch.setattr(storage.ImageStore, "delete_row", taken_over_meanwhile)
    reply = call("DELETE", f"/delete/{image['id']}")
    monkeypatch.undo()

    assert (reply.status, reply.json()["code"]) == (404, "NOT_FOUND")
    assert stored(aws)[0] == []
    assert [row["delete_claim"] for row in stored(aws)[1]] == ["the-one-that-took-over"]
    assert call("DELETE", f"/delete/{image['id']}").status == 200  # the taker's retry, say
    assert stored(aws) == ([], [])


def test_a_failed_delete_releases_its_claim_so_a_retry_takes_over_at_once(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload("user=bob", "file=@sample.png").json()
    with monkeypatch.context() as patch:
        patch.setattr(storage.ImageStore, "delete_objects", lambda *_: (_ for _ in ()).throw(RuntimeError("S3 down")))
        assert call("DELETE", f"/delete/{image['id']}").status == 500

    [row] = stored(aws)[1]
    assert (row["status"], row["delete_until"]) == ("deleting", 0)
    assert unfinished() == [image["id"]]
    assert call("DELETE", f"/delete/{image['id']}").status == 200
