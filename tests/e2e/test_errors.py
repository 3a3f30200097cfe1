"""Every error status of the API, seen over HTTP, and the size limit exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.client import assert_error, curl, upload
from tests.e2e.conftest import Target
from tests.images import png_of_size, write

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024
SAMPLE = Path(__file__).parents[1] / "data" / "sample.png"


def test_exactly_4_mib_is_accepted(target: Target, tmp_path: Path) -> None:
    path = write(tmp_path, "limit.png", png_of_size(4 * MIB))

    reply = upload(target.base_url, "user=e2e-limit", f"file=@{path}")

    assert reply.status == 201, reply.body[:300]
    assert reply.json()["size"] == 4 * MIB
    requests.delete(f"{target.base_url}/delete/{reply.json()['id']}", timeout=30)


def test_one_byte_over_is_413_json(target: Target, tmp_path: Path) -> None:
    path = write(tmp_path, "over.png", png_of_size(4 * MIB + 1))

    assert_error(upload(target.base_url, "user=e2e-limit", f"file=@{path}"), 413, "FILE_TOO_LARGE")


def test_text_file_named_jpg_is_415(target: Target, tmp_path: Path) -> None:
    path = write(tmp_path, "evil.jpg", b"just text, not an image\n")

    assert_error(upload(target.base_url, "user=e2e", f"file=@{path};type=image/jpeg"), 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (["file=@SAMPLE"], "MISSING_FIELD"),
        (["user=bad user", "file=@SAMPLE"], "INVALID_FIELD"),
        (["user=e2e"], "MISSING_FIELD"),
    ],
)
def test_bad_forms_are_400(target: Target, fields: list[str], code: str) -> None:
    fields = [field.replace("SAMPLE", str(SAMPLE)) for field in fields]

    assert_error(upload(target.base_url, *fields), 400, code)


def test_json_instead_of_multipart_is_400(target: Target) -> None:
    reply = curl("-H", "Content-Type: application/json", "-d", '{"user": "e2e"}', url=f"{target.base_url}/upload")

    assert_error(reply, 400, "NOT_MULTIPART")


def test_unknown_id_is_404(target: Target) -> None:
    for method in ("GET", "DELETE"):
        path = "view" if method == "GET" else "delete"
        url = f"{target.base_url}/{path}/0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69"
        assert_error(requests.request(method, url, timeout=30), 404, "NOT_FOUND")


def test_wrong_method_is_405(target: Target) -> None:
    response = requests.get(f"{target.base_url}/upload", timeout=30)

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "POST"


def test_bad_cursor_and_limit_are_400(target: Target) -> None:
    assert_error(requests.get(f"{target.base_url}/list?cursor=forged", timeout=30), 400, "INVALID_CURSOR")
    assert_error(requests.get(f"{target.base_url}/list?limit=0", timeout=30), 400, "INVALID_PARAMETER")
