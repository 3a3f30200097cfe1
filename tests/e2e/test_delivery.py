"""Image delivery over real HTTP: metadata gone from what S3 serves, AVIF/HEIC in, variants through S3, caching."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.e2e.client import Target, doc_block, run_doc_lines
from tests.images import image_bytes, location_of, photo_with_location, pixels, write

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def uploaded(target: Target, tmp_path: Path, data: bytes, name: str, user: str) -> dict[str, object]:
    reply = target.upload(f"user={user}", f"file=@{write(tmp_path, name, data)}")
    assert reply.status == 201, reply.body
    return dict(reply.json())


def test_what_s3_serves_has_no_location_and_the_uploaded_pixels(target: Target, tmp_path: Path) -> None:
    original = photo_with_location("JPEG", size=(640, 480))
    image = uploaded(target, tmp_path, original, "beach.jpg", f"e2e-gps-{uuid.uuid4().hex[:8]}")
    try:
        served = requests.get(target.get(f"/view/{image['id']}").json()["url"], timeout=30)

        assert served.status_code == 200
        assert served.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert location_of(served.content) == {}
        assert pixels(served.content) == pixels(original)
        assert len(served.content) == image["size"]
    finally:
        target.delete(f"/delete/{image['id']}")


@pytest.mark.parametrize(("fmt", "extension"), [("AVIF", "avif"), ("HEIF", "heic")])
def test_avif_and_heic_uploads_end_ready(target: Target, tmp_path: Path, fmt: str, extension: str) -> None:
    image = uploaded(target, tmp_path, image_bytes(fmt, size=(320, 200)), f"phone.{extension}", "e2e-formats")
    try:
        assert (image["status"], image["width"], image["height"]) == ("ready", 320, 200)
        variant = target.get(f"/images/{image['id']}/variant?w=128&format=jpeg", allow_redirects=False)
        assert variant.status_code == 302
        with Image.open(io.BytesIO(requests.get(variant.headers["Location"], timeout=30).content)) as small:
            assert (small.format, small.size) == ("JPEG", (128, 80))
    finally:
        target.delete(f"/delete/{image['id']}")


def test_a_variant_is_rendered_once_served_by_s3_and_deleted_with_its_image(target: Target, tmp_path: Path) -> None:
    image = uploaded(target, tmp_path, image_bytes("PNG", size=(800, 600)), "wide.png", "e2e-variants")
    path = f"/images/{image['id']}/variant?w=512&h=512&fit=cover&format=avif"

    first = target.get(path, allow_redirects=False)
    second = target.get(path, allow_redirects=False)
    served = requests.get(first.headers["Location"], timeout=30)

    assert (first.status_code, second.status_code) == (302, 302)
    assert second.headers["Location"] == first.headers["Location"]
    assert served.headers["Content-Type"] == "image/avif"
    with Image.open(io.BytesIO(served.content)) as rendered:
        assert (rendered.format, rendered.size) == ("AVIF", (512, 512))
    assert (
        target.get(f"/images/{image['id']}/variant?w=500", allow_redirects=False).json()["code"] == "SIZE_NOT_ALLOWED"
    )

    assert target.delete(f"/delete/{image['id']}").status_code == 200
    assert requests.get(first.headers["Location"], timeout=30).status_code in (403, 404)
    if target.aws_endpoint:
        assert not [finding for finding in target.findings() if image["id"] in finding]


def test_etag_304_and_head_over_http(target: Target, tmp_path: Path) -> None:
    image = uploaded(target, tmp_path, image_bytes("PNG"), "a.png", "e2e-caching")
    try:
        first = target.get(f"/view/{image['id']}")
        again = target.get(f"/view/{image['id']}", headers={"If-None-Match": first.headers["ETag"]})
        head = target.request("HEAD", "/list?limit=1")

        assert first.headers["Cache-Control"] == "private, no-cache"
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["ETag"] == first.headers["ETag"]
        assert (head.status_code, head.content, head.headers["Content-Type"]) == (200, b"", "application/json")
    finally:
        target.delete(f"/delete/{image['id']}")


def test_the_readme_variant_and_caching_commands_work_as_printed(target: Target) -> None:
    result = run_doc_lines(
        target,
        doc_block("docs/api.md", "### `GET /images/{id}/variant`"),
        doc_block("docs/api.md", "### Caching"),
        "echo $ID",
    )

    assert result.returncode == 0, result.stderr
    webp, avif, refused, not_modified, head, image_id = result.stdout.splitlines()
    assert target.delete(f"/delete/{image_id}").status_code == 200
    assert (webp, avif, not_modified, head.strip()) == ("200 image/webp", "200 image/avif", "304", "HTTP/1.1 200 OK")
    assert '"code":"SIZE_NOT_ALLOWED"' in refused.replace(" ", "")
    with Image.open(ROOT / "variant.webp") as saved:
        assert saved.format == "WEBP"
    (ROOT / "variant.webp").unlink()
