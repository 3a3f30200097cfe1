"""Many clients delete the same image at the same moment, from several execution environments:
exactly one is told 200, the others 404 (gone) or 409 (being deleted), and nothing is left behind.

On the local server the second environment is a second local server on the same storage (each
server runs one invocation at a time, as a Lambda environment does); on LocalStack, concurrent
requests are served by as many execution environments as it starts.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.client import Target, environments
from tests.images import image_bytes

pytestmark = pytest.mark.e2e
RACERS = 6
ROUNDS = 8


def race(targets: list[Target], image_id: str) -> list[tuple[int, str | None]]:
    """(status, code) of RACERS deletes of one image, released at once, spread over `targets`."""
    start = threading.Barrier(RACERS)

    def delete(number: int) -> tuple[int, str | None]:
        target = targets[number % len(targets)]
        start.wait()
        response = target.delete(f"/delete/{image_id}")
        return response.status_code, response.json().get("code")

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(delete, range(RACERS)))


def test_exactly_one_racing_delete_is_told_200(target: Target) -> None:
    png = image_bytes("PNG", (20, 20))
    raced = []
    with environments(target) as targets:
        for _ in range(ROUNDS):
            reply = target.request("POST", "/upload", files={"file": ("r.png", png)}, data={"user": "racer"})
            image_id = reply.json()["id"]
            raced.append(image_id)

            answers = race(targets, image_id)

            assert sorted(status for status, _ in answers).count(200) == 1, answers
            assert all(
                (status, code) in {(200, None), (404, "NOT_FOUND"), (409, "DELETE_IN_PROGRESS")}
                for status, code in answers
            ), answers
            assert target.get(f"/view/{image_id}").status_code == 404
    assert target.get("/list?user=racer").json() == []
    assert [finding for finding in target.findings() if finding.split("\t")[1] in raced] == []
