"""POST /upload: what is stored, and that nothing is stored when the input is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.images import FORMATS, image_bytes, png_of_size, write
from tests.integration.lambda_client import call, objects_of, stored, upload

MIB = 1024 * 1024


def test_upload_stores_object_and_row_and_answers_201(aws: dict[str, Any]) -> None:
    reply = upload("user=alice", "description=first image", "file=@sample.png")

    assert reply.status == 201
    body = reply.json()
    data = Path("tests/data/sample.png").read_bytes()
    assert body == {
        "id": body["id"],
        "key": f"{body['id']}.png",
        "bucket": "images-bucket",
        "message": "Upload successful",
        "user": "alice",
        "description": "first image",
        "original_name": "sample.png",
        "content_type": "image/png",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "created_at": body["created_at"],
        "tags": [],
        "width": 64,
        "height": 48,
        "status": "ready",
        "duplicate": False,
    }
    assert isinstance(body["created_at"], int)
    assert reply.headers["Location"] == f"view/{body['id']}"
    obj = aws["s3"].get_object(Bucket="images-bucket", Key=body["key"])
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "image/png"
    keys, rows = stored(aws)
    assert keys == objects_of(body)
    assert [row["id"] for row in rows] == [body["id"]]


@pytest.mark.parametrize(("fmt", "mime", "extension"), FORMATS)
def test_type_comes_from_the_bytes_not_the_name_or_declared_type(
    tmp_path: Path, aws: dict[str, Any], fmt: str, mime: str, extension: str
) -> None:
    path = write(tmp_path, "holiday.txt", image_bytes(fmt))

    reply = upload("user=bob", f"file=@{path};type=text/plain")

    assert reply.status == 201
    body = reply.json()
    assert (body["content_type"], body["key"]) == (mime, f"{body['id']}.{extension}")
    assert body["original_name"] == "holiday.txt"
    assert aws["s3"].head_object(Bucket="images-bucket", Key=body["key"])["ContentType"] == mime


@pytest.mark.usefixtures("keep_metadata")  # the bytes after IEND would be stripped otherwise
def test_binary_bytes_survive_intact(tmp_path: Path, aws: dict[str, Any]) -> None:
    # Every byte value, CR/LF pairs and a fake boundary inside the file must come through unchanged.
    data = image_bytes("PNG") + bytes(range(256)) * 64 + b"\r\n--not-the-boundary\r\n\r\n"
    path = write(tmp_path, "all-bytes.png", data)

    body = upload("user=bob", f"file=@{path}").json()

    assert aws["s3"].get_object(Bucket="images-bucket", Key=body["key"])["Body"].read() == data
    assert body["sha256"] == hashlib.sha256(data).hexdigest()


def test_file_name_is_metadata_only_and_sanitised(tmp_path: Path, aws: dict[str, Any]) -> None:
    path = write(tmp_path, "x.png", image_bytes("PNG"))

    body = upload("user=bob", f"file=@{path};filename=../../etc/pass\twd\u202egnp.png").json()

    assert body["original_name"] == "passwdgnp.png"
    assert body["key"] == f"{body['id']}.png"


@pytest.mark.usefixtures("keep_metadata")  # the stored size is the upload's
def test_exactly_the_size_limit_is_accepted(tmp_path: Path, aws: dict[str, Any]) -> None:
    path = write(tmp_path, "big.png", png_of_size(4 * MIB))

    reply = upload("user=bob", f"file=@{path}")

    assert reply.status == 201
    assert reply.json()["size"] == 4 * MIB


def test_one_byte_over_the_limit_is_413_and_nothing_is_stored(tmp_path: Path, aws: dict[str, Any]) -> None:
    path = write(tmp_path, "big.png", png_of_size(4 * MIB + 1))

    reply = upload("user=bob", f"file=@{path}")

    assert reply.status == 413
    assert reply.json()["code"] == "FILE_TOO_LARGE"
    assert stored(aws) == ([], [])


def test_a_text_file_named_like_an_image_is_415(tmp_path: Path, aws: dict[str, Any]) -> None:
    path = write(tmp_path, "evil.jpg", b"#!/bin/sh\necho not an image\n")

    reply = upload("user=bob", f"file=@{path};type=image/jpeg")

    assert reply.status == 415
    assert reply.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert stored(aws) == ([], [])


def test_svg_is_415(tmp_path: Path, aws: dict[str, Any]) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    path = write(tmp_path, "logo.svg", svg)

    reply = upload("user=bob", f"file=@{path};type=image/svg+xml")

    assert (reply.status, reply.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        (["description=no user", "file=@sample.png"], 400, "MISSING_FIELD"),
        (["user=", "file=@sample.png"], 400, "INVALID_FIELD"),
        (["user=has space", "file=@sample.png"], 400, "INVALID_FIELD"),
        (["user=" + "a" * 65, "file=@sample.png"], 400, "INVALID_FIELD"),
        (["user=bob", "description=" + "d" * 1001, "file=@sample.png"], 400, "INVALID_FIELD"),
        (["user=bob", "description=nul\x01byte", "file=@sample.png"], 400, "INVALID_FIELD"),
        (["user=bob"], 400, "MISSING_FIELD"),
        (["user=bob", "file=@sample.png", "file=@sample.jpg"], 400, "DUPLICATE_FIELD"),
        (["user=bob", "user=eve", "file=@sample.png"], 400, "DUPLICATE_FIELD"),
    ],
)
def test_invalid_forms_are_400_with_a_code(aws: dict[str, Any], fields: list[str], status: int, code: str) -> None:
    reply = upload(*fields)

    assert reply.status == status
    body = reply.json()
    assert body["code"] == code
    assert set(body) == {"error", "code", "request_id"}
    assert stored(aws) == ([], [])


@pytest.mark.parametrize("name", ["alice\n", "alice\r\n", "\nalice", "alice\t"])
def test_a_user_name_is_taken_whole_or_refused(aws: dict[str, Any], tmp_path: Path, name: str) -> None:
    """alice\n would be stored as a user of its own that shows as alice and no filter finds."""
    value = tmp_path / "user.txt"
    value.write_bytes(name.encode())  # curl -F user=<file sends the file's bytes as they are
    reply = upload(f"user=<{value}", "file=@sample.png")
    assert (reply.status, reply.json()["code"]) == (400, "INVALID_FIELD")
    assert stored(aws) == ([], [])


def test_an_empty_file_is_400(tmp_path: Path, aws: dict[str, Any]) -> None:
    path = write(tmp_path, "empty.png", b"")

    reply = upload("user=bob", f"file=@{path}")

    assert (reply.status, reply.json()["code"]) == (400, "EMPTY_FILE")
    assert stored(aws) == ([], [])


def test_longest_valid_fields_are_accepted(aws: dict[str, Any]) -> None:
    user = "A-z_0.9" + "u" * 57
    reply = upload(f"user={user}", "description=" + "é" * 1000, "file=@sample.png")

    assert reply.status == 201
    assert (reply.json()["user"], len(reply.json()["description"])) == (user, 1000)


def test_unicode_and_rtl_text_is_kept(aws: dict[str, Any]) -> None:
    text = "שלום עולם — 你好 🌍"
    reply = upload("user=bob", f"description={text}", "file=@sample.png;filename=صورة.png")

    assert reply.status == 201
    assert (reply.json()["description"], reply.json()["original_name"]) == (text, "صورة.png")


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json", b'{"user": "bob"}', "NOT_MULTIPART"),
        (None, b"user=bob", "NOT_MULTIPART"),
        ("multipart/form-data", b"--x\r\n", "NOT_MULTIPART"),
        ("multipart/form-data; boundary=abc", b"no boundary anywhere", "MALFORMED_MULTIPART"),
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n--abc\r\n'
            b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n\x89PNG\r\n\x1a\n',
            "MALFORMED_MULTIPART",
        ),
    ],
)
def test_bodies_that_are_not_proper_multipart_are_400(
    aws: dict[str, Any], content_type: str | None, body: bytes, code: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    reply = call("POST", "/upload", headers=headers, body=body)

    assert (reply.status, reply.json()["code"]) == (400, code)
    assert stored(aws) == ([], [])


def test_a_truncated_upload_is_400_and_not_stored(aws: dict[str, Any]) -> None:
    from tests.curl_form import curl_form

    content_type, body = curl_form("user=bob", "file=@sample.png", cwd="tests/data")

    reply = call("POST", "/upload", headers={"Content-Type": content_type}, body=body[:-40])

    assert (reply.status, reply.json()["code"]) == (400, "MALFORMED_MULTIPART")
    assert stored(aws) == ([], [])


def test_body_without_base64_encoding_is_read_as_text(aws: dict[str, Any]) -> None:
    # An API without binary media types passes the body as UTF-8 text; this 1x1 GIF is all ASCII.
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    body = (
        b'--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n'
        b'--b\r\nContent-Disposition: form-data; name="description"\r\n\r\n\xc3\xa9t\xc3\xa9\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.gif"\r\n\r\n' + gif + b"\r\n--b--\r\n"
    )
    event_headers = {"Content-Type": "text/plain"}  # keeps tests.events from base64-encoding it
    from tests.events import proxy_event
    from tests.integration.lambda_client import invoke

    event = proxy_event("POST", "/upload", headers=event_headers, body=body)
    event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = "multipart/form-data; boundary=b"

    reply = invoke(event)

    assert reply.status == 201
    assert (reply.json()["description"], reply.json()["size"]) == ("été", len(gif))


def test_upload_publishes_metrics_when_enabled(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    reply = upload("user=bob", "file=@sample.png")

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert reply.status == 201
    assert len(emf) == 1
    assert (emf[0]["ImagesUploaded"], emf[0]["UploadedBytes"]) == ([1.0], [reply.json()["size"]])
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ImageApi"


def test_disabled_metrics_do_not_pile_up(aws: dict[str, Any]) -> None:
    from app.observability import metrics

    upload("user=bob", "file=@sample.png")

    assert metrics.metric_set == {}
