"""Large images straight to S3 with a presigned POST, processed without the Lambda carrying the bytes.

On LocalStack (and AWS) S3's notification processes the upload by itself; the
local server's moto sends no notifications, so there the client calls complete.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.settings import get_settings
from tests.e2e.client import Target, assert_error

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 4000x3000 JPEG of about 12 MB (noise does not compress)."""
    path = tmp_path_factory.mktemp("photos") / "holiday.jpg"
    Image.effect_noise((4000, 3000), 80).convert("RGB").save(path, quality=97)
    assert path.stat().st_size > 10 * MIB
    return path


def finished(target: Target, image_id: str, complete_status: int = 200) -> dict[str, Any]:
    """The image once processed: waiting for S3's notification, or calling complete where there is none."""
    if not target.s3_notifies:
        assert target.request("POST", f"/uploads/{image_id}/complete").status_code == complete_status
    for _ in range(60):
        view = target.get(f"/view/{image_id}").json()
        if view["status"] != "pending":
            return dict(view)
        time.sleep(0.5)
    raise AssertionError(f"{image_id} is still pending after 30 s")


def test_a_12_mb_photo_goes_straight_to_s3_and_is_processed(target: Target, photo: Path) -> None:
    size = photo.stat().st_size
    started = target.start_direct_upload(user="e2e-direct", filename=photo.name, content_type="image/jpeg", size=size)
    assert started.status_code == 201, started.text
    image_id = started.json()["id"]
    try:
        posted = target.post_to_s3(started.json()["upload"], str(photo))
        assert posted.status == 204, posted.body[:300]

        image = finished(target, image_id)

        assert (image["status"], image["width"], image["height"], image["size"]) == ("ready", 4000, 3000, size)
        assert image["id"] in [item["id"] for item in target.get("/list?user=e2e-direct").json()]
        assert target.get(image["url"], with_key=False).content == photo.read_bytes()
        thumbnail = target.get(image["thumbnail_url"], with_key=False)
        assert (thumbnail.status_code, thumbnail.headers["Content-Type"]) == (200, "image/webp")
    finally:
        target.delete(f"/delete/{image_id}")


def test_one_byte_over_the_limit_is_refused(target: Target, tmp_path: Path) -> None:
    path = tmp_path / "over.jpg"
    path.write_bytes(b"\xff\xd8\xff" + b"\0" * (50 * MIB - 2))
    started = target.start_direct_upload(user="e2e-direct", filename="over.jpg", content_type="image/jpeg", size=100)
    image_id = started.json()["id"]
    try:
        posted = target.post_to_s3(started.json()["upload"], str(path))
        if target.s3_notifies:  # real S3 (and LocalStack) enforce the policy's content-length-range
            assert posted.status == 400
            assert b"EntityTooLarge" in posted.body
        else:  # moto does not; processing refuses it instead
            complete = target.request("POST", f"/uploads/{image_id}/complete")
            assert_error(complete, 413, "FILE_TOO_LARGE")
        objects = target.client("s3").list_objects_v2(Bucket=get_settings().bucket, Prefix=f"incoming/{image_id}")
        assert objects.get("KeyCount", 0) == 0
    finally:
        target.delete(f"/delete/{image_id}")


def test_a_text_file_posted_as_jpeg_ends_rejected_and_its_object_is_gone(target: Target, tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"not a picture at all\n" * 200)  # about 4 KB
    started = target.start_direct_upload(user="e2e-direct", filename="notes.jpg", content_type="image/jpeg", size=4200)
    image_id = started.json()["id"]
    try:
        assert target.post_to_s3(started.json()["upload"], str(path)).status == 204

        image = finished(target, image_id, complete_status=415)

        assert image["status"] == "rejected"
        assert image["url"] is None
        objects = target.client("s3").list_objects_v2(Bucket=get_settings().bucket, Prefix=f"incoming/{image_id}")
        assert objects.get("KeyCount", 0) == 0
    finally:
        target.delete(f"/delete/{image_id}")
