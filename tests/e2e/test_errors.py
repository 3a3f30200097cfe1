"""Every error status of the API, seen over HTTP, and the size limit exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.client import Target, assert_error
from tests.images import png_of_size, stored, write

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024
SAMPLE = Path(__file__).parents[1] / "data" / "sample.png"


def test_exactly_4_mib_is_accepted(target: Target, tmp_path: Path) -> None:
    data = png_of_size(4 * MIB)
    path = write(tmp_path, "limit.png", data)

    reply = target.upload("user=e2e-limit", f"file=@{path}")

    assert reply.status == 201, reply.body[:300]
    assert reply.json()["size"] == len(stored(data))  # the image, without the bytes after its end
    target.delete(f"/delete/{reply.json()['id']}")


def test_one_byte_over_is_413_json(target: Target, tmp_path: Path) -> None:
    path = write(tmp_path, "over.png", png_of_size(4 * MIB + 1))

    assert_error(target.upload("user=e2e-limit", f"file=@{path}"), 413, "FILE_TOO_LARGE")


def test_text_file_named_jpg_is_415(target: Target, tmp_path: Path) -> None:
    path = write(tmp_path, "evil.jpg", b"just text, not an image\n")

    assert_error(target.upload("user=e2e", f"file=@{path};type=image/jpeg"), 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (["file=@SAMPLE"], "MISSING_FIELD"),
        (["user=bad user", "file=@SAMPLE"], "INVALID_FIELD"),
        (["user=e2e"], "MISSING_FIELD"),
        (["user=e2e", "tags=no spaces", "file=@SAMPLE"], "INVALID_FIELD"),
    ],
)
def test_bad_forms_are_400(target: Target, fields: list[str], code: str) -> None:
    fields = [field.replace("SAMPLE", str(SAMPLE)) for field in fields]

    assert_error(target.upload(*fields), 400, code)


def test_json_instead_of_multipart_is_400(target: Target) -> None:
    reply = target.curl("-H", "Content-Type: application/json", "-d", '{"user": "e2e"}', path="/upload")

    assert_error(reply, 400, "NOT_MULTIPART")


def test_unknown_id_is_404(target: Target) -> None:
    assert_error(target.get("/view/0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69"), 404, "NOT_FOUND")
    assert_error(target.delete("/delete/0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69"), 404, "NOT_FOUND")


def test_wrong_method_is_405(target: Target) -> None:
    response = target.get("/upload")

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("cursor=forged", "INVALID_CURSOR"),
        ("limit=0", "INVALID_PARAMETER"),
        ("order=sideways", "INVALID_PARAMETER"),
        ("from=2026-02-30", "INVALID_PARAMETER"),
        ("from=2026-03-02&to=2026-03-01", "INVALID_PARAMETER"),
        ("tag=a&tag=b", "INVALID_PARAMETER"),
    ],
)
def test_bad_list_parameters_are_400(target: Target, query: str, code: str) -> None:
    assert_error(target.get(f"/list?{query}"), 400, code)
