"""The bad input catalogue: what a careless client or a careful attacker sends, over HTTP.

Every case has a name, an expected status and an expected `code`. None may
answer a 5xx or a traceback, and nothing may be stored when one is refused.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from PIL import Image

from app.settings import get_settings
from tests import bombs
from tests.e2e.client import Target
from tests.hygiene import assert_clean_message
from tests.images import image_bytes, png_of_size

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024
PNG = image_bytes("PNG", (8, 8))
JPEG = image_bytes("JPEG", (64, 48))


def form(*parts: tuple[str, bytes | str, str | None], boundary: str = "catalogue-boundary") -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart form; a part is (name, data, filename or None)."""
    chunks = []
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        raw = data.encode() if isinstance(data, str) else data
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + raw + b"\r\n")
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks) + f"--{boundary}--\r\n".encode()


def upload_form(*extra: tuple[str, bytes | str, str | None], user: str = "catalogue", file: bytes = PNG) -> Any:
    return form(("user", user, None), *extra, ("file", file, "a.png"))


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[Target], requests.Response]
    status: int
    code: str
    gateway_rebuilds_multipart: bool = False  # LocalStack re-encodes the body first: the case cannot reach us


def post(path: str, content_type: str | None, body: bytes) -> Callable[[Target], requests.Response]:
    headers = {"Content-Type": content_type} if content_type else {}
    return lambda target: target.request("POST", path, data=body, headers=headers)


def multipart(content_type_and_body: tuple[str, bytes]) -> Callable[[Target], requests.Response]:
    return post("/upload", *content_type_and_body)


def get(path: str) -> Callable[[Target], requests.Response]:
    return lambda target: target.get(path)


def direct(**fields: Any) -> Callable[[Target], requests.Response]:
    request = {"user": "catalogue", "filename": "a.jpg", "content_type": "image/jpeg", "size": 100, **fields}
    return lambda target: target.request("POST", "/uploads", json=request)


def truncated() -> tuple[str, bytes]:
    content_type, body = upload_form()
    return content_type, body[:-30]


def polyglot() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"<html><script>alert(document.cookie)</script></html>" * 40


def bmp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "BMP")
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
TRAVERSAL_CURSOR = base64.urlsafe_b64encode(b"../../../../etc/passwd").decode()

CASES = [
    Case(
        "empty body",
        post("/upload", "multipart/form-data; boundary=x", b""),
        400,
        "MALFORMED_MULTIPART",
        gateway_rebuilds_multipart=True,
    ),
    Case("no content type", post("/upload", None, b"user=bob"), 400, "NOT_MULTIPART"),
    Case("json instead of a form", post("/upload", "application/json", b'{"user":"bob"}'), 400, "NOT_MULTIPART"),
    Case(
        "urlencoded form", post("/upload", "application/x-www-form-urlencoded", b"user=b&file=x"), 400, "NOT_MULTIPART"
    ),
    Case(
        "multipart without boundary",
        post("/upload", "multipart/form-data", upload_form()[1]),
        400,
        "NOT_MULTIPART",
        gateway_rebuilds_multipart=True,
    ),
    Case("boundary over 70 characters", multipart(form(("user", "b", None), boundary="b" * 71)), 400, "NOT_MULTIPART"),
    Case("truncated multipart", multipart(truncated()), 400, "MALFORMED_MULTIPART", gateway_rebuilds_multipart=True),
    Case(
        "garbage after the boundary",
        post("/upload", "multipart/form-data; boundary=x", b"--x\r\n\x00\x01\x02 not headers\r\n\r\n"),
        400,
        "MALFORMED_MULTIPART",
        gateway_rebuilds_multipart=True,
    ),
    Case("two file parts", multipart(upload_form(("file", JPEG, "b.jpg"))), 400, "DUPLICATE_FIELD"),
    Case("two user parts", multipart(upload_form(("user", "eve", None))), 400, "DUPLICATE_FIELD"),
    Case("no user", multipart(form(("file", PNG, "a.png"))), 400, "MISSING_FIELD"),
    Case("no file", multipart(form(("user", "bob", None))), 400, "MISSING_FIELD"),
    Case("user of 65 characters", multipart(upload_form(user="u" * 65)), 400, "INVALID_FIELD"),
    Case(
        "user in Hebrew, right to left", multipart(upload_form(user="\u05e9\u05dc\u05d5\u05dd")), 400, "INVALID_FIELD"
    ),
    Case("user with a NUL byte", multipart(upload_form(user="bo\x00b")), 400, "INVALID_FIELD"),
    Case("user with a path", multipart(upload_form(user="../admin")), 400, "INVALID_FIELD"),
    Case(
        "description of 1,001 characters",
        multipart(upload_form(("description", "d" * 1001, None))),
        400,
        "INVALID_FIELD",
    ),
    Case("description with a NUL byte", multipart(upload_form(("description", "a\x00b", None))), 400, "INVALID_FIELD"),
    Case(
        "description not UTF-8",
        multipart(upload_form(("description", b"caf\xe9", None))),
        400,
        "INVALID_FIELD",
        gateway_rebuilds_multipart=True,
    ),
    Case("description of 100 KB", multipart(upload_form(("description", "d" * 100_000, None))), 400, "FIELD_TOO_LONG"),
    Case("tag in Cyrillic", multipart(upload_form(("tags", "\u043a\u043e\u0442", None))), 400, "INVALID_FIELD"),
    Case(
        "eleven tags",
        multipart(upload_form(("tags", ",".join(f"t{i}" for i in range(11)), None))),
        400,
        "INVALID_FIELD",
    ),
    Case("0-byte file", multipart(upload_form(file=b"")), 400, "EMPTY_FILE"),
    Case(
        "text file named .jpg",
        multipart(upload_form(file=b"plain text, not a picture\n")),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    Case("polyglot: JPEG header, HTML body", multipart(upload_form(file=polyglot())), 415, "UNSUPPORTED_MEDIA_TYPE"),
    Case("SVG with a script", multipart(upload_form(file=SVG)), 415, "UNSUPPORTED_MEDIA_TYPE"),
    Case("truncated JPEG", multipart(upload_form(file=JPEG[: len(JPEG) // 2])), 415, "UNSUPPORTED_MEDIA_TYPE"),
    Case("BMP", multipart(upload_form(file=bmp())), 415, "UNSUPPORTED_MEDIA_TYPE"),
    Case(
        "PNG signature, then garbage",
        multipart(upload_form(file=PNG[:8] + b"\x00" * 200)),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    Case(
        "a 130 KB PNG of 1 x 67M pixels", multipart(upload_form(file=bombs.png(1, 67_000_000))), 413, "IMAGE_TOO_LARGE"
    ),
    Case(
        "a GIF of 200 frames on an 8000 x 8000 canvas",
        multipart(upload_form(file=bombs.gif((8000, 8000), 200))),
        413,
        "IMAGE_TOO_LARGE",
    ),
    Case("10,000 comma-separated tags", multipart(upload_form(("tags", "t," * 10_000, None))), 400, "INVALID_FIELD"),
    Case("4 MiB + 1 byte", multipart(upload_form(file=png_of_size(4 * MIB + 1))), 413, "FILE_TOO_LARGE"),
    Case("forged cursor", get("/list?cursor=eyJpZCI6eyJTIjoiYWRtaW4ifX0"), 400, "INVALID_CURSOR"),
    Case("cursor naming a path", get(f"/list?cursor={TRAVERSAL_CURSOR}"), 400, "INVALID_CURSOR"),
    Case("limit 0", get("/list?limit=0"), 400, "INVALID_PARAMETER"),
    Case("limit 1,001", get("/list?limit=1001"), 400, "INVALID_PARAMETER"),
    Case("limit not a number", get("/list?limit=all"), 400, "INVALID_PARAMETER"),
    Case("a parameter given twice", get("/list?user=a&user=b"), 400, "INVALID_PARAMETER"),
    Case("unknown order", get("/list?order=random"), 400, "INVALID_PARAMETER"),
    Case("a date that does not exist", get("/list?from=2026-02-30"), 400, "INVALID_PARAMETER"),
    Case("from after to", get("/list?from=2026-05-01&to=2026-04-01"), 400, "INVALID_PARAMETER"),
    Case("unknown status", get("/list?status=deleting"), 400, "INVALID_PARAMETER"),
    Case("an id that is not an id", get("/view/not-an-id"), 404, "NOT_FOUND"),
    Case("an id with a path", get("/view/..%2F..%2Fetc%2Fpasswd"), 404, "NOT_FOUND"),
    Case("an id of 2,000 characters", get("/view/" + "a" * 2000), 404, "NOT_FOUND"),
    Case("an unknown uuid", get("/view/0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69"), 404, "NOT_FOUND"),
    Case(
        "delete of an id that is not an id",
        lambda target: target.delete("/delete/%00"),
        404,
        "NOT_FOUND",
    ),
    Case("wrong method", lambda target: target.request("PUT", "/upload"), 405, "METHOD_NOT_ALLOWED"),
    Case("unknown route", get("/admin"), 404, "NOT_FOUND"),
    Case("direct upload: broken JSON", post("/uploads", "application/json", b'{"user": '), 400, "NOT_JSON"),
    Case("direct upload: not JSON", post("/uploads", "text/plain", b"user=bob"), 400, "NOT_JSON"),
    Case("direct upload: 50 MiB + 1", direct(size=50 * MIB + 1), 413, "FILE_TOO_LARGE"),
    Case("direct upload: SVG", direct(content_type="image/svg+xml"), 415, "UNSUPPORTED_MEDIA_TYPE"),
    Case("direct upload: negative size", direct(size=-1), 400, "INVALID_FIELD"),
    Case(
        "complete of an unknown id",
        post("/uploads/0b7e4a52-5d0e-4c1e-9a55-1f2d3c4b5a69/complete", None, b""),
        404,
        "NOT_FOUND",
    ),
]


def counts(target: Target) -> tuple[int, int]:
    """(objects in the bucket, rows in the table): a test may Scan; the service never does."""
    settings = get_settings()
    pages = target.client("s3").get_paginator("list_objects_v2").paginate(Bucket=settings.bucket)
    objects = sum(page.get("KeyCount", 0) for page in pages)
    rows = target.client("dynamodb").scan(TableName=settings.table, Select="COUNT")["Count"]
    return objects, rows


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_cleanly_and_stores_nothing(target: Target, case: Case) -> None:
    if case.gateway_rebuilds_multipart and target.base_url.startswith("http://localhost:4566/"):
        pytest.skip("LocalStack's gateway re-encodes multipart bodies from a parsed form before the Lambda sees them")
    before = counts(target)

    response = case.send(target)

    assert response.status_code == case.status, response.text[:300]
    body = response.json()
    assert (body["code"], set(body)) == (case.code, {"error", "code", "request_id"})
    assert_clean_message(body["error"])
    assert counts(target) == before


def test_the_catalogue_is_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("name", "fields", "check"),
    [
        (
            "unicode and right-to-left text where text is free",
            [("description", "\u05e9\u05dc\u05d5\u05dd \u202eevil \U0001f30d", None)],
            lambda image: image["description"] == "\u05e9\u05dc\u05d5\u05dd \u202eevil \U0001f30d",
        ),
        (
            "a file name with a path and control characters",
            [],
            lambda image: image["original_name"] == "passwd.png" and image["key"] == f"{image['id']}.png",
        ),
        ("a 1-pixel image", [], lambda image: (image["width"], image["height"]) == (1, 1)),
        ("a PNG named .jpg", [], lambda image: (image["content_type"], image["key"][-4:]) == ("image/png", ".png")),
    ],
)
def test_odd_but_valid_input_is_stored_safely(
    target: Target, name: str, fields: list[tuple[str, str, None]], check: Callable[[dict[str, Any]], bool]
) -> None:
    filename = {
        "a file name with a path and control characters": "../../etc/\x07passwd.png",
        "a PNG named .jpg": "photo.jpg",
    }.get(name, "a.png")
    data = image_bytes("PNG", (1, 1)) if name == "a 1-pixel image" else PNG
    content_type, body = form(("user", "catalogue", None), *fields, ("file", data, filename))

    response = target.request("POST", "/upload", data=body, headers={"Content-Type": content_type})

    assert response.status_code == 201, response.text[:300]
    image = response.json()
    target.delete(f"/delete/{image['id']}")
    assert check(image), image


def test_an_expired_presigned_url_is_refused_by_s3(target: Target) -> None:
    if not target.s3_notifies:
        pytest.skip("the local server's moto does not check presigned URLs' expiry")
    content_type, body = form(("user", "catalogue", None), ("file", PNG, "a.png"))
    image = target.request("POST", "/upload", data=body, headers={"Content-Type": content_type}).json()
    try:
        # The API signs for an hour; sign the same object for one second, as it would with URL_EXPIRES_IN=1.
        s3 = boto3.client(
            "s3",
            endpoint_url=target.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": image["bucket"], "Key": image["key"]}, ExpiresIn=1
        )
        time.sleep(2)

        response = requests.get(url, timeout=30)

        assert response.status_code == 403
        assert b"expired" in response.content.lower()
    finally:
        target.delete(f"/delete/{image['id']}")


def test_json_errors_never_echo_the_input(target: Target) -> None:
    marker = "<script>alert('echo')</script>"
    response = target.get(f"/list?user={marker}")

    assert response.status_code == 400
    assert marker not in response.text
    assert json.loads(response.text)["code"] == "INVALID_PARAMETER"


def test_a_body_that_ends_before_its_content_length_is_the_apis_json_400(target: Target) -> None:
    """What the local server (werkzeug) could not read whole; API Gateway would wait for the rest instead."""
    if not target.base_url.startswith("http://127.0.0.1:"):
        pytest.skip("only the local server answers a short body at once")
    host, port = target.base_url.removeprefix("http://").split(":")
    head = (
        f"POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"x-api-key: {target.api_key or ''}\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head.encode() + b'--b\r\nContent-Disposition: form-data; name="user"\r\n\r\nbob\r\n')
        connection.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: connection.recv(65536), b""))

    status_line, _, rest = answer.partition(b"\r\n")
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert status_line.split()[1] == b"400"
    assert (body["code"], set(body)) == ("MALFORMED_BODY", {"error", "code", "request_id"})
