"""Direct uploads (presigned POST to S3) and the processing every image goes through."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any

import pytest
from PIL import Image

from app import storage
from app.handler import lambda_handler
from app.imaging.decode import Decoded
from app.logic import direct_uploads, images
from tests import bombs
from tests.images import image_bytes
from tests.integration.lambda_client import LambdaContext, call, stored, upload

MIB = 1024 * 1024


def start(**overrides: Any) -> Any:
    request = {"user": "dana", "filename": "big photo.jpg", "content_type": "image/jpeg", "size": 12 * MIB}
    body = json.dumps({**request, **overrides}).encode()
    return call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=body)


def arrive(aws: dict[str, Any], image_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
    """What the client's POST to S3 leaves behind."""
    aws["s3"].put_object(Bucket="images-bucket", Key=f"incoming/{image_id}", Body=data, ContentType=content_type)


def rotated_jpeg() -> bytes:
    """400x300 pixels, left half red, with EXIF orientation 6: shown as 300x400, red on top."""
    image = Image.new("RGB", (400, 300), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 200, 300))
    exif = image.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def test_start_answers_a_presigned_post_pinned_to_key_type_and_size(aws: dict[str, Any]) -> None:
    reply = start(tags="Big, trip")

    assert reply.status == 201
    body = reply.json()
    image_id = body["id"]
    assert (body["expires_in"], body["status"]) == (900, "pending")
    assert reply.headers["Location"] == f"view/{image_id}"
    fields = body["upload"]["fields"]
    assert (fields["key"], fields["Content-Type"]) == (f"incoming/{image_id}", "image/jpeg")
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"key": f"incoming/{image_id}"} in policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, 50 * MIB] in policy["conditions"]
    expires = time.mktime(time.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert 890 <= expires - time.time() <= 901
    row = storage.ImageStore().get_row(image_id)
    assert row is not None
    assert (row["status"], row["tags"], row["original_name"]) == ("pending", ["big", "trip"], "big photo.jpg")


def test_pending_uploads_are_listed_only_on_request_and_viewable(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]

    assert call("GET", "/list").json() == []
    assert [item["id"] for item in call("GET", "/list", query={"status": "pending"}).json()] == [image_id]
    view = call("GET", f"/view/{image_id}").json()
    assert (view["status"], view["url"], view["thumbnail_url"], view["width"]) == ("pending", None, None, None)
    assert call("GET", f"/view/{image_id}", query={"redirect": "1"}).json()["code"] == "NOT_READY"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"user": "no spaces"}, 400, "INVALID_FIELD"),
        ({"size": 0}, 400, "INVALID_FIELD"),
        ({"size": 50 * MIB + 1}, 413, "FILE_TOO_LARGE"),
        ({"content_type": "image/svg+xml"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"content_type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ({"tags": ["ok", "not ok"]}, 400, "INVALID_FIELD"),
        ({"unexpected": 1}, 400, "INVALID_FIELD"),
        ({"filename": ""}, 400, "INVALID_FIELD"),
    ],
)
def test_start_refuses_bad_requests(aws: dict[str, Any], overrides: dict[str, Any], status: int, code: str) -> None:
    reply = start(**overrides)

    assert (reply.status, reply.json()["code"]) == (status, code)
    assert stored(aws) == ([], [])


@pytest.mark.parametrize(
    ("body", "code"), [(b"{not json", "NOT_JSON"), (b"[]", "INVALID_FIELD"), (b"", "INVALID_FIELD")]
)
def test_start_refuses_bodies_that_are_not_the_json_object(aws: dict[str, Any], body: bytes, code: str) -> None:
    reply = call("POST", "/uploads", headers={"Content-Type": "application/json"}, body=body or None)

    assert (reply.status, reply.json()["code"]) == (400, code)


def test_complete_before_the_file_arrived_is_409(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["code"]) == (409, "NOT_UPLOADED")


@pytest.mark.parametrize(
    ("data", "mime", "width", "height"),
    [
        (rotated_jpeg(), "image/jpeg", 300, 400),
        (image_bytes("PNG", (640, 480)), "image/png", 640, 480),
        (image_bytes("GIF", (100, 50)), "image/gif", 100, 50),
        (image_bytes("WEBP", (1000, 10)), "image/webp", 1000, 10),
    ],
)
def test_complete_processes_each_format(aws: dict[str, Any], data: bytes, mime: str, width: int, height: int) -> None:
    image_id = start(content_type="image/png").json()["id"]  # a wrong declared type is corrected from the bytes
    arrive(aws, image_id, data)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert reply.status == 200
    body = reply.json()
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}[mime]
    assert (body["status"], body["content_type"], body["width"], body["height"]) == ("ready", mime, width, height)
    assert (body["filename"], body["size"]) == (f"{image_id}.{extension}", len(data))
    assert body["url"]
    assert body["thumbnail_url"]
    keys, _ = stored(aws)
    assert keys == sorted([f"{image_id}.{extension}", f"thumbnails/{image_id}.webp"])  # incoming/ is gone
    final = aws["s3"].get_object(Bucket="images-bucket", Key=f"{image_id}.{extension}")
    assert (final["ContentType"], final["Body"].read()) == (mime, data)
    thumbnail = Image.open(
        io.BytesIO(aws["s3"].get_object(Bucket="images-bucket", Key=f"thumbnails/{image_id}.webp")["Body"].read())
    )
    assert thumbnail.format == "WEBP"
    assert max(thumbnail.size) == min(256, max(width, height))
    assert [item["id"] for item in call("GET", "/list").json()] == [image_id]


def test_the_thumbnail_is_upright(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, rotated_jpeg())
    call("POST", f"/uploads/{image_id}/complete")

    data = aws["s3"].get_object(Bucket="images-bucket", Key=f"thumbnails/{image_id}.webp")["Body"].read()
    thumbnail = Image.open(io.BytesIO(data)).convert("RGB")

    assert thumbnail.size == (192, 256)
    top, bottom = thumbnail.getpixel((96, 20)), thumbnail.getpixel((96, 236))
    # Red on top, blue below: the EXIF rotation was applied.
    assert (top[0] > 200, top[2] < 60) == (True, True)
    assert (bottom[0] < 60, bottom[2] > 200) == (True, True)


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"hello, I am text\n" * 240, "not a JPEG"), (rotated_jpeg()[:700], "truncated")],
)
def test_what_is_not_an_image_is_rejected_and_its_object_deleted(aws: dict[str, Any], data: bytes, reason: str) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, data)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert reason in reply.json()["error"]
    assert stored(aws)[0] == []
    view = call("GET", f"/view/{image_id}").json()
    assert view["status"] == "rejected"
    assert reason in view["rejection_reason"]
    assert [item["id"] for item in call("GET", "/list", query={"status": "rejected"}).json()] == [image_id]


def test_complete_is_idempotent(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, image_bytes("PNG"))

    first = call("POST", f"/uploads/{image_id}/complete").json()
    second = call("POST", f"/uploads/{image_id}/complete").json()

    assert {k: v for k, v in first.items() if not k.endswith("url")} == {
        k: v for k, v in second.items() if not k.endswith("url")
    }
    assert call("DELETE", f"/delete/{image_id}").status == 200
    assert stored(aws) == ([], [])
    assert call("POST", f"/uploads/{image_id}/complete").status == 404


def test_an_s3_notification_processes_the_upload(aws: dict[str, Any]) -> None:
    image_id = start(tags="sea").json()["id"]
    arrive(aws, image_id, image_bytes("JPEG", (50, 40)))
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Post",
                "s3": {"bucket": {"name": "images-bucket"}, "object": {"key": f"incoming/{image_id}", "size": 1}},
            }
        ]
    }

    result = lambda_handler(event, LambdaContext())

    assert result == {"processed": {image_id: "ready"}}
    view = call("GET", f"/view/{image_id}").json()
    assert (view["status"], view["width"], view["height"]) == ("ready", 50, 40)
    assert [item["id"] for item in call("GET", "/list", query={"tag": "sea"}).json()] == [image_id]


def test_a_notification_for_a_deleted_upload_is_ignored(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]
    call("DELETE", f"/delete/{image_id}")
    event = {"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": f"incoming/{image_id}"}}}]}

    assert lambda_handler(event, LambdaContext()) == {"processed": {image_id: "NOT_FOUND"}}


def test_multipart_uploads_get_dimensions_and_a_thumbnail(aws: dict[str, Any]) -> None:
    reply = upload("user=bob", "file=@sample.jpg")

    body = reply.json()
    assert (reply.status, body["width"], body["height"], body["status"]) == (201, 64, 48, "ready")
    view = call("GET", f"/view/{body['id']}").json()
    assert view["thumbnail_url"].split("?")[0].endswith(f"/thumbnails/{body['id']}.webp")


def test_a_truncated_or_polyglot_jpeg_is_refused_on_upload(aws: dict[str, Any], tmp_path: Any) -> None:
    polyglot = b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>" * 20
    truncated = rotated_jpeg()[:700]
    for name, data in (("polyglot.jpg", polyglot), ("truncated.jpg", truncated)):
        (tmp_path / name).write_bytes(data)
        reply = upload("user=bob", f"file=@{tmp_path / name}")
        assert (reply.status, reply.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert stored(aws) == ([], [])


def test_routes_that_read_do_not_import_pillow() -> None:
    import subprocess
    import sys

    code = "import sys, app.handler; print('PIL' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "False"


def test_processing_row_failure_leaves_the_upload_pending_and_retryable(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, image_bytes("PNG"))
    with monkeypatch.context() as patch:
        patch.setattr(storage.ImageStore, "replace_row", lambda *_: (_ for _ in ()).throw(RuntimeError("injected")))
        assert call("POST", f"/uploads/{image_id}/complete").status == 500
    assert call("GET", f"/view/{image_id}").json()["status"] == "pending"

    assert call("POST", f"/uploads/{image_id}/complete").json()["status"] == "ready"
    assert stored(aws)[0] == sorted([f"{image_id}.png", f"thumbnails/{image_id}.webp"])


def test_delete_of_a_pending_upload_removes_its_incoming_object(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, b"partial")

    assert call("DELETE", f"/delete/{image_id}").status == 200
    assert stored(aws) == ([], [])
    assert images.object_keys({"id": image_id, "key": f"incoming/{image_id}"}) == [f"incoming/{image_id}"]


def test_start_needs_json(aws: dict[str, Any]) -> None:
    reply = call("POST", "/uploads", headers={"Content-Type": "text/plain"}, body=b'{"user": "dana"}')

    assert (reply.status, reply.json()["code"]) == (400, "NOT_JSON")


def test_a_file_over_the_limit_is_rejected_even_where_s3_let_it_in(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_DIRECT_UPLOAD_BYTES", "1000")
    storage.reset_clients()
    image_id = start(size=1000).json()["id"]
    arrive(aws, image_id, image_bytes("PNG", (300, 300)) + b"\0" * 1000)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["code"]) == (413, "FILE_TOO_LARGE")
    assert reply.json()["error"] == "the file is larger than 1000 bytes"
    assert stored(aws)[0] == []


def test_processing_that_loses_the_race_answers_the_winner(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # S3's notification and a complete run at once; the other one finishes between our read and our copy.
    image_id = start().json()["id"]
    arrive(aws, image_id, image_bytes("PNG"))
    read = storage.ImageStore.read_object
    raced = []

    def read_then_lose(self: storage.ImageStore, key: str, first_bytes: int | None = None) -> bytes | None:
        data = read(self, key, first_bytes)
        if first_bytes is None and not raced:
            raced.append(True)
            direct_uploads.process_upload(storage.ImageStore(), image_id)  # the winner, all the way through
        return data

    monkeypatch.setattr(storage.ImageStore, "read_object", read_then_lose)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["status"]) == (200, "ready")


def test_processing_that_finds_the_file_gone_because_the_winner_finished_answers_the_winner(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other run finishes (and deletes the incoming object) between our row read and our look for the file.
    image_id = start().json()["id"]
    arrive(aws, image_id, image_bytes("PNG"))
    size = storage.ImageStore.object_size
    raced = []

    def lose_then_look(self: storage.ImageStore, key: str) -> int | None:
        if not raced:
            raced.append(True)
            direct_uploads.process_upload(storage.ImageStore(), image_id)
        return size(self, key)

    monkeypatch.setattr(storage.ImageStore, "object_size", lose_then_look)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["status"], reply.json()["id"]) == (200, "ready", image_id)


def test_a_file_posted_again_during_processing_is_not_stored_unchecked(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, image_bytes("PNG"))
    decode = direct_uploads.decode

    def decode_then_swap(data: bytes) -> Decoded:
        decoded = decode(data)
        arrive(aws, image_id, b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/png")
        return decoded

    monkeypatch.setattr(direct_uploads, "decode", decode_then_swap)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["status"]) == (200, "ready")
    stored_bytes = aws["s3"].get_object(Bucket="images-bucket", Key=f"{image_id}.png")["Body"].read()
    assert stored_bytes == image_bytes("PNG")  # what was checked, not what arrived later


def test_an_image_deleted_during_processing_leaves_no_objects(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, image_bytes("PNG"))
    put = storage.ImageStore.put_object

    def put_then_delete(self: storage.ImageStore, key: str, *args: Any) -> None:
        put(self, key, *args)
        if key.startswith("thumbnails/"):
            assert call("DELETE", f"/delete/{image_id}").status == 200

    monkeypatch.setattr(storage.ImageStore, "put_object", put_then_delete)

    reply = call("POST", f"/uploads/{image_id}/complete")

    assert (reply.status, reply.json()["code"]) == (404, "NOT_FOUND")
    assert stored(aws) == ([], [])


def test_mpo_jpegs_from_phones_are_jpegs(aws: dict[str, Any], tmp_path: Any) -> None:
    path = tmp_path / "phone.jpg"
    Image.new("RGB", (300, 200), (200, 10, 10)).save(
        path, "MPO", save_all=True, append_images=[Image.new("RGB", (300, 200))]
    )

    reply = upload("user=bob", f"file=@{path}")

    assert (reply.status, reply.json()["content_type"], reply.json()["width"]) == (201, "image/jpeg", 300)


def test_images_too_large_to_decode_are_refused_not_crashed_on(aws: dict[str, Any], tmp_path: Any) -> None:
    path = tmp_path / "huge.png"
    Image.new("RGBA", (9000, 9000)).save(path)  # 0.3 MB on disk, 324 MB decoded

    reply = upload("user=bob", f"file=@{path}")

    assert (reply.status, reply.json()["code"]) == (413, "IMAGE_TOO_LARGE")
    assert reply.json()["error"] == (
        "the image is too large: decoding it takes about 635 MiB; "
        "this service decodes images of up to 384 MiB (a still PNG of about 48 Mpx)"
    )
    assert stored(aws) == ([], [])


def test_a_direct_upload_too_large_to_decode_is_rejected_with_its_limit(aws: dict[str, Any]) -> None:
    image_id = start().json()["id"]
    arrive(aws, image_id, bombs.gif((8_000, 8_000), 200), "image/gif")

    reply = call("POST", f"/uploads/{image_id}/complete")

    message = (
        "the image is too large: its 200 frames of 64.0 Mpx each are 12800 Mpx to decode; "
        "this service decodes at most 300 Mpx of frames"
    )
    assert (reply.status, reply.json()["code"], reply.json()["error"]) == (413, "IMAGE_TOO_LARGE", message)
    assert stored(aws)[0] == []
    view = call("GET", f"/view/{image_id}").json()
    assert (view["status"], view["rejection_reason"]) == ("rejected", message.removeprefix("the image is too large: "))
    assert call("POST", f"/uploads/{image_id}/complete").json()["error"] == message  # every time
