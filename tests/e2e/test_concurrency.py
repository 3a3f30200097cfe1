"""20 clients x 50 mixed operations at once: no errors, no image lost or listed twice, a clean store.

Each client works as its own user, so it knows exactly which of its images
must be listed at the end; the clients still share the bucket, the table,
its indexes and the API.
"""

from __future__ import annotations

import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from tests.e2e.client import Target, next_link
from tests.images import unique_png

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CLIENTS = int(os.environ.get("CONCURRENCY_CLIENTS", "20"))
OPERATIONS = int(os.environ.get("CONCURRENCY_OPERATIONS", "50"))


class Client:
    def __init__(self, target: Target, number: int, run: str) -> None:
        self.target = target
        self.user = f"c{run}-{number}"
        self.random = random.Random(number)
        self.live: set[str] = set()
        self.errors: list[str] = []

    def check(self, what: str, status: int, expected: int) -> bool:
        if status != expected:
            self.errors.append(f"{self.user} {what}: {status}, expected {expected}")
        return status == expected

    def upload(self) -> None:
        files = {"file": ("c.png", unique_png(), "image/png")}  # distinct bytes: a new image each time
        data = {"user": self.user, "tags": "concurrency"}
        response = self.target.request("POST", "/upload", files=files, data=data)
        if self.check("upload", response.status_code, 201):
            self.live.add(response.json()["id"])

    def direct_upload(self) -> None:
        png = unique_png()
        request = {"user": self.user, "filename": "d.png", "content_type": "image/png", "size": len(png)}
        started = self.target.start_direct_upload(**request)
        if not self.check("start", started.status_code, 201):
            return
        image_id = started.json()["id"]
        upload = started.json()["upload"]
        posted = self.target.request(
            "POST", upload["url"], with_key=False, data=upload["fields"], files={"file": ("d.png", png)}
        )
        if self.check("post to S3", posted.status_code, 204):
            # Where S3 notifies the function, complete races it; either way the answer is the ready image.
            completed = self.target.request("POST", f"/uploads/{image_id}/complete")
            if self.check("complete", completed.status_code, 200):
                self.live.add(image_id)

    def view(self) -> None:
        if self.live:
            self.check("view", self.target.get(f"/view/{self.random.choice(sorted(self.live))}").status_code, 200)

    def delete(self) -> None:
        if self.live:
            image_id = self.random.choice(sorted(self.live))
            if self.check("delete", self.target.delete(f"/delete/{image_id}").status_code, 200):
                self.live.discard(image_id)

    def list(self) -> None:
        self.check("list", self.target.get(f"/list?user={self.user}&limit=5").status_code, 200)

    def work(self, start: threading.Barrier) -> None:
        operations = [self.upload] * 4 + [self.view] * 2 + [self.list] * 2 + [self.delete] * 2 + [self.direct_upload]
        start.wait()
        for _ in range(OPERATIONS):
            self.random.choice(operations)()

    def listed(self) -> list[str]:
        found: list[str] = []
        url: str | None = f"{self.target.base_url}/list?user={self.user}&limit=7"
        while url:
            response = self.target.get(url)
            assert response.status_code == 200
            found += [item["id"] for item in response.json()]
            url = next_link(response)
        return found


def test_concurrent_clients(target: Target) -> None:
    run = datetime.now().strftime("%H%M%S")
    clients = [Client(target, number, run) for number in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for future in [pool.submit(client.work, start) for client in clients]:
            future.result()

    assert [error for client in clients for error in client.errors] == []
    for client in clients:
        listed = client.listed()
        assert len(listed) == len(set(listed)), f"{client.user}: an image listed twice"
        assert set(listed) == client.live, f"{client.user}: listed images differ from those not deleted"
    if target.aws_endpoint:
        assert target.findings() == []
    for client in clients:
        for image_id in client.live:
            target.delete(f"/delete/{image_id}")
