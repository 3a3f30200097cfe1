"""A user's journey over real HTTP: upload with curl, list, view, download, delete."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urljoin

import pytest

from app.settings import get_settings
from tests.e2e.client import Target, next_link

pytestmark = pytest.mark.e2e
SAMPLE = Path(__file__).parents[1] / "data" / "sample.jpg"


def test_upload_list_view_download_delete(target: Target) -> None:
    data = SAMPLE.read_bytes()

    created = target.upload("user=e2e-journey", "description=from curl", "tags=E2E,journey", f"file=@{SAMPLE}")

    assert created.status == 201
    image = created.json()
    assert (image["user"], image["content_type"], image["size"]) == ("e2e-journey", "image/jpeg", len(data))
    assert image["sha256"] == hashlib.sha256(data).hexdigest()
    assert image["tags"] == ["e2e", "journey"]

    # Location is relative, and resolves under the stage prefix to the view route.
    location = urljoin(f"{target.base_url}/upload", created.headers["location"])
    assert location == f"{target.base_url}/view/{image['id']}"

    listed = target.get("/list", params={"limit": 5})
    assert listed.status_code == 200
    assert image["id"] in [item["id"] for item in listed.json()]

    view = target.get(location)
    assert view.status_code == 200
    detail = view.json()
    assert (detail["id"], detail["filename"], detail["expires_in"]) == (image["id"], image["key"], 3600)

    download = target.get(detail["url"], with_key=False)  # S3 itself: no API key there
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["Content-Type"] == "image/jpeg"

    deleted = target.delete(f"/delete/{image['id']}")
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": image["id"], "key": image["key"]})
    assert target.get(location).status_code == 404

    s3 = target.client("s3")
    assert s3.list_objects_v2(Bucket=image["bucket"], Prefix=image["id"]).get("KeyCount", 0) == 0
    row = target.client("dynamodb").get_item(TableName=get_settings().table, Key={"id": {"S": image["id"]}})
    assert "Item" not in row


def test_paging_follows_relative_link_headers(target: Target) -> None:
    # Five users: the same file is a new image for each (a user's repeat would be their first image).
    ids = [target.upload(f"user=e2e-paging-{n}", f"file=@{SAMPLE}").json()["id"] for n in range(5)]
    try:
        seen: list[str] = []
        url: str | None = f"{target.base_url}/list?limit=2"
        pages = 0
        while url is not None and pages < 500:
            response = target.get(url)
            assert response.status_code == 200
            page = response.json()
            assert len(page) <= 2
            seen += [item["id"] for item in page]
            url = next_link(response)
            pages += 1
        assert len(seen) == len(set(seen)), "no image twice"
        mine = [image_id for image_id in seen if image_id in ids]
        assert mine == ids[::-1], "each exactly once, newest first"
    finally:
        for image_id in ids:
            target.delete(f"/delete/{image_id}")


def test_empty_fields_survive_the_gateway(target: Target, tmp_path: Path) -> None:
    # LocalStack's gateway rebuilds multipart bodies and mangles empty parts (app/multipart.py).
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")

    created = target.upload("user=e2e-empty", "description=", "tags=", f"file=@{SAMPLE}")
    empty_file = target.upload("user=e2e-empty", f"file=@{empty}")

    assert created.status == 201, created.body
    assert (created.json()["description"], created.json()["tags"]) == ("", [])
    assert (empty_file.status, empty_file.json()["code"]) == (400, "EMPTY_FILE")
    target.delete(f"/delete/{created.json()['id']}")
