"""Image delivery through lambda_handler: metadata stripped, AVIF/HEIC input, variants, HTTP caching."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from PIL import Image

from app import layout, storage
from app.settings import get_settings
from ops import maintenance
from tests.images import FORMATS, ORIENTATION, image_bytes, location_of, photo_with_location, pixels, write
from tests.integration.lambda_client import Reply, call, stored, upload

BUCKET = "images-bucket"


def upload_bytes(tmp_path: Path, data: bytes, name: str, user: str = "ana") -> dict[str, Any]:
    path = write(tmp_path, name, data)
    reply = upload(f"user={user}", "description=a photo", f"file=@{path}")
    assert reply.status == 201, reply.body
    return dict(reply.json())


def object_bytes(aws: dict[str, Any], key: str) -> bytes:
    return bytes(aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())


def key_of(url: str) -> str:
    """The object key a presigned URL names (/<bucket>/<key>, or /<key> on the bucket's own host)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.hostname and parts.hostname.startswith(f"{BUCKET}."):
        return path[1:]
    assert path.startswith(f"/{BUCKET}/")
    return path[len(BUCKET) + 2 :]


def variant(image_id: str, headers: dict[str, str] | None = None, **query: str) -> Reply:
    return call("GET", f"/images/{image_id}/variant", query=dict(query), headers=headers)


@pytest.fixture
def s3_calls() -> Iterator[list[str]]:
    """The S3 operations the function calls, in order."""
    calls: list[str] = []
    events = storage.s3_client().meta.events
    handler = events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    yield calls
    events.unregister("before-call.s3", handler)


# --- privacy --------------------------------------------------------------------------
def test_a_phone_photo_is_stored_without_its_location_and_with_the_same_pixels(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    original = photo_with_location("JPEG")
    assert location_of(original)

    image = upload_bytes(tmp_path, original, "beach.jpg")

    kept = object_bytes(aws, image["key"])
    assert location_of(kept) == {}
    assert b"PhoneMaker" not in kept
    assert b"Someone Private" not in kept
    assert pixels(kept) == pixels(original)
    assert (image["size"], image["sha256"]) == (len(kept), hashlib.sha256(kept).hexdigest())


@pytest.mark.parametrize(
    ("fmt", "name"), [("PNG", "a.png"), ("WEBP", "a.webp"), ("AVIF", "a.avif"), ("HEIF", "a.heic")]
)
def test_every_format_loses_its_location(aws: dict[str, Any], tmp_path: Path, fmt: str, name: str) -> None:
    original = photo_with_location(fmt)

    image = upload_bytes(tmp_path, original, name)

    kept = object_bytes(aws, image["key"])
    assert location_of(kept) == {}
    assert pixels(kept) == pixels(original)


def test_orientation_survives_so_the_photo_still_displays_upright(aws: dict[str, Any], tmp_path: Path) -> None:
    original = photo_with_location("JPEG", size=(64, 48), orientation=6)  # turned: shown 48 x 64

    image = upload_bytes(tmp_path, original, "turned.jpg")

    with Image.open(io.BytesIO(object_bytes(aws, image["key"]))) as kept:
        assert dict(kept.getexif()) == {ORIENTATION: 6}
    assert (image["width"], image["height"]) == (48, 64)


@pytest.mark.usefixtures("keep_metadata")
def test_strip_metadata_false_keeps_the_original_byte_for_byte(aws: dict[str, Any], tmp_path: Path) -> None:
    original = photo_with_location("JPEG")

    image = upload_bytes(tmp_path, original, "archive.jpg")

    assert object_bytes(aws, image["key"]) == original
    assert location_of(object_bytes(aws, image["key"]))


# --- input formats --------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "mime", "extension"), [f for f in FORMATS if f[0] in ("AVIF", "HEIF")])
def test_avif_and_heic_end_ready_with_their_size(
    aws: dict[str, Any], tmp_path: Path, fmt: str, mime: str, extension: str
) -> None:
    image = upload_bytes(tmp_path, image_bytes(fmt, size=(120, 80)), f"phone.{extension}")

    assert (image["status"], image["content_type"], image["width"], image["height"]) == ("ready", mime, 120, 80)
    assert image["key"] == f"{image['id']}.{extension}"
    thumbnail = object_bytes(aws, f"thumbnails/{image['id']}.webp")
    with Image.open(io.BytesIO(thumbnail)) as small:
        assert (small.format, small.size) == ("WEBP", (120, 80))


# --- variants -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "pillow_format"), [("webp", "WEBP"), ("avif", "AVIF"), ("jpeg", "JPEG"), ("png", "PNG")]
)
def test_a_variant_is_a_redirect_to_that_format_and_size(
    aws: dict[str, Any], tmp_path: Path, fmt: str, pillow_format: str
) -> None:
    image = upload_bytes(tmp_path, image_bytes("JPEG", size=(600, 400)), "wide.jpg")

    reply = variant(image["id"], w="256", format=fmt)

    assert reply.status == 302, reply.body
    assert reply.json() == {"url": reply.headers["Location"]}
    key = key_of(reply.headers["Location"])
    assert key == f"variants/{image['id']}/256x0-contain.{'jpg' if fmt == 'jpeg' else fmt}"
    head = aws["s3"].head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == f"image/{fmt}"
    assert head["CacheControl"] == layout.OBJECT_CACHE_CONTROL
    with Image.open(io.BytesIO(object_bytes(aws, key))) as rendered:
        assert (rendered.format, rendered.size) == (pillow_format, (256, 171))
        assert location_of(object_bytes(aws, key)) == {}


def test_the_second_request_for_a_variant_renders_nothing_and_only_heads_s3(
    aws: dict[str, Any], tmp_path: Path, s3_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG", size=(600, 400)), "a.png")
    first = variant(image["id"], w="512", format="webp")
    s3_calls.clear()
    import app.imaging.variants as rendering

    monkeypatch.setattr(rendering, "render", lambda *_: pytest.fail("rendered again"))
    second = variant(image["id"], w="512", format="webp")

    assert (first.status, second.status) == (302, 302)
    assert second.headers["Location"] == first.headers["Location"]
    assert s3_calls == ["HeadObject"]


def test_format_auto_follows_accept(aws: dict[str, Any], tmp_path: Path) -> None:
    jpeg = upload_bytes(tmp_path, image_bytes("JPEG", size=(300, 200)), "a.jpg")
    png = upload_bytes(tmp_path, image_bytes("PNG", size=(300, 200)), "a.png")
    browser = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

    def extension(image: dict[str, Any], accept: str) -> str:
        reply = variant(image["id"], headers={"Accept": accept}, w="128")
        assert reply.status == 302
        assert reply.headers["Vary"] == "Accept"
        return key_of(reply.headers["Location"]).rsplit(".", 1)[1]

    assert extension(jpeg, browser) == "avif"
    assert extension(jpeg, "image/webp,*/*") == "webp"
    assert extension(jpeg, "image/avif;q=0,image/webp") == "webp"
    assert extension(jpeg, "*/*") == "jpg"
    assert extension(png, "*/*") == "png"


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ({"w": "128", "h": "128", "fit": "cover"}, (128, 128)),
        ({"w": "128", "h": "128", "fit": "contain"}, (128, 85)),
        ({"h": "128"}, (192, 128)),
        ({"w": "2048"}, (300, 200)),  # never larger than the original
        ({"w": "512", "h": "256"}, (300, 200)),
    ],
)
def test_fit_and_sides(aws: dict[str, Any], tmp_path: Path, query: dict[str, str], size: tuple[int, int]) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG", size=(300, 200)), "a.png")

    reply = variant(image["id"], format="png", **query)

    assert reply.status == 302
    with Image.open(io.BytesIO(object_bytes(aws, key_of(reply.headers["Location"])))) as rendered:
        assert rendered.size == size


def test_a_turned_photo_makes_an_upright_variant(aws: dict[str, Any], tmp_path: Path) -> None:
    image = upload_bytes(tmp_path, photo_with_location("JPEG", size=(400, 200), orientation=6), "turned.jpg")

    reply = variant(image["id"], w="128", format="webp")

    with Image.open(io.BytesIO(object_bytes(aws, key_of(reply.headers["Location"])))) as rendered:
        assert rendered.size == (128, 256)  # shown 200 x 400


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"w": "300"}, "SIZE_NOT_ALLOWED"),
        ({"w": "128", "h": "100"}, "SIZE_NOT_ALLOWED"),
        ({}, "SIZE_REQUIRED"),
        ({"format": "png"}, "SIZE_REQUIRED"),
        ({"w": "wide"}, "INVALID_PARAMETER"),
        ({"w": "128", "fit": "stretch"}, "INVALID_PARAMETER"),
        ({"w": "128", "format": "tiff"}, "INVALID_PARAMETER"),
    ],
)
def test_a_disallowed_variant_is_a_400_and_stores_nothing(
    aws: dict[str, Any], tmp_path: Path, query: dict[str, str], code: str
) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG", size=(300, 200)), "a.png")
    before, _ = stored(aws)

    reply = variant(image["id"], **query)

    assert reply.status == 400, reply.body
    assert reply.json()["code"] == code
    assert reply.json()["request_id"]
    assert stored(aws)[0] == before


def test_variants_of_missing_or_unready_images(aws: dict[str, Any]) -> None:
    assert variant("00000000-0000-4000-8000-000000000000", w="128").status == 404
    assert variant("not-an-id", w="128").status == 404
    pending = call(
        "POST",
        "/uploads",
        headers={"Content-Type": "application/json"},
        body=b'{"user": "ana", "filename": "a.png", "content_type": "image/png", "size": 100}',
    ).json()
    reply = variant(pending["id"], w="128")
    assert (reply.status, reply.json()["code"]) == (409, "NOT_READY")


def test_deleting_an_image_deletes_its_variants_and_reconcile_is_clean(aws: dict[str, Any], tmp_path: Path) -> None:
    image = upload_bytes(tmp_path, image_bytes("JPEG", size=(600, 400)), "a.jpg")
    kept = upload_bytes(tmp_path, image_bytes("PNG", size=(600, 400)), "b.png")
    for query in ({"w": "128"}, {"w": "256", "format": "avif"}, {"w": "128", "h": "128", "fit": "cover"}):
        assert variant(image["id"], **query).status == 302
    assert variant(kept["id"], w="128").status == 302
    assert maintenance.reconcile(fix=False, grace_minutes=0, out=io.StringIO()) == []

    assert call("DELETE", f"/delete/{image['id']}").status == 200

    keys, _ = stored(aws)
    assert not [key for key in keys if image["id"] in key]
    assert [key for key in keys if key.startswith("variants/")] == [f"variants/{kept['id']}/128x0-contain.png"]
    assert maintenance.reconcile(fix=False, grace_minutes=0, out=io.StringIO()) == []


def test_a_variant_whose_image_is_gone_is_found_and_removed_by_reconcile(aws: dict[str, Any], tmp_path: Path) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG", size=(600, 400)), "a.png")
    key = key_of(variant(image["id"], w="128", format="webp").headers["Location"])
    aws["dynamodb"].delete_item(TableName="images", Key={"id": {"S": image["id"]}})  # as if a delete died halfway

    found = maintenance.reconcile(fix=True, grace_minutes=0, out=io.StringIO())

    assert found == []
    assert key not in stored(aws)[0]


# --- caching --------------------------------------------------------------------------
def test_objects_carry_cache_control_and_urls_stay_the_same_within_their_window(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG"), "a.png")

    first, second = call("GET", f"/view/{image['id']}").json(), call("GET", f"/view/{image['id']}").json()

    assert first["url"] == second["url"]
    assert first["thumbnail_url"] == second["thumbnail_url"]
    query = parse_qs(urlsplit(first["url"]).query)
    window = get_settings().url_window
    assert int(query["X-Amz-Expires"][0]) == get_settings().url_expires_in + window
    assert first["expires_in"] == get_settings().url_expires_in
    for key in (image["key"], f"thumbnails/{image['id']}.webp"):
        assert aws["s3"].head_object(Bucket=BUCKET, Key=key)["CacheControl"] == layout.OBJECT_CACHE_CONTROL


@pytest.mark.parametrize(
    ("path", "query"),
    [("/view/{id}", {}), ("/list", {"thumbnails": "true"}), ("/v1/images", {"user_id": "ana"})],
)
def test_get_answers_carry_an_etag_and_if_none_match_gives_304(
    aws: dict[str, Any], tmp_path: Path, path: str, query: dict[str, str]
) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG"), "a.png")
    path = path.format(id=image["id"])

    first = call("GET", path, query=query)
    etag = first.headers["ETag"]
    again = call("GET", path, query=query, headers={"If-None-Match": etag})
    other = call("GET", path, query=query, headers={"If-None-Match": f'W/"x", "y", {etag[:-2]}"'})

    assert first.status == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert (again.status, again.body, again.headers["ETag"]) == (304, "", etag)
    assert (other.status, other.body) == (200, first.body)


def test_the_etag_changes_when_the_answer_does(aws: dict[str, Any], tmp_path: Path) -> None:
    upload_bytes(tmp_path, image_bytes("PNG"), "a.png")
    before = call("GET", "/list").headers["ETag"]
    upload_bytes(tmp_path, image_bytes("GIF"), "b.gif")

    reply = call("GET", "/list", headers={"If-None-Match": before})

    assert reply.status == 200
    assert reply.headers["ETag"] != before
    assert len(reply.json()) == 2


@pytest.mark.parametrize("path", ["/list", "/view/{id}", "/", "/gallery.js", "/openapi.json", "/v1/images/{id}"])
def test_head_answers_like_get_without_a_body(aws: dict[str, Any], tmp_path: Path, path: str) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG"), "a.png")
    path = path.format(id=image["id"])

    got, head = call("GET", path), call("HEAD", path)

    assert (head.status, head.body, head.data) == (got.status, "", b"")
    assert head.headers == got.headers


def test_head_of_a_variant_redirects_like_get(aws: dict[str, Any], tmp_path: Path) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG", size=(300, 200)), "a.png")

    head = call("HEAD", f"/images/{image['id']}/variant", query={"w": "128"})

    assert (head.status, head.body) == (302, "")
    assert key_of(head.headers["Location"]) == f"variants/{image['id']}/128x0-contain.png"
    assert head.headers["Cache-Control"].startswith("private, max-age=")


def test_a_redirect_to_a_presigned_url_may_be_cached_while_the_url_stays(aws: dict[str, Any], tmp_path: Path) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG"), "a.png")

    reply = call("GET", f"/view/{image['id']}", query={"redirect": "true"})

    assert reply.status == 302
    max_age = int(reply.headers["Cache-Control"].removeprefix("private, max-age="))
    assert 0 <= max_age <= get_settings().url_window


# --- found in review ------------------------------------------------------------------------
def test_a_damaged_avif_is_refused_not_a_500(aws: dict[str, Any], tmp_path: Path) -> None:
    data = bytearray(image_bytes("AVIF", size=(64, 48)))
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)  # the picture's bytes zeroed: libavif cannot decode them

    reply = upload("user=ana", f"file=@{write(tmp_path, 'broken.avif', bytes(data))}")

    assert (reply.status, reply.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert stored(aws) == ([], [])


def turned_rgba_png() -> bytes:
    """A transparent PNG stored 400 x 200 whose EXIF says: shown turned, 200 x 400."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buffer = io.BytesIO()
    Image.new("RGBA", (400, 200), (10, 200, 30, 128)).save(buffer, "PNG", exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif"])
def test_a_turned_transparent_image_is_upright_in_every_format(aws: dict[str, Any], tmp_path: Path, fmt: str) -> None:
    image = upload_bytes(tmp_path, turned_rgba_png(), "turned.png")

    reply = variant(image["id"], w="128", format=fmt)

    with Image.open(io.BytesIO(object_bytes(aws, key_of(reply.headers["Location"])))) as rendered:
        assert rendered.size == (128, 256)


def test_a_turned_jpeg_is_drafted_at_the_scale_its_shown_size_needs(aws: dict[str, Any], tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 4096), (90, 90, 200)).save(buffer, "JPEG", exif=exif.tobytes())  # shown 4096 x 1024
    image = upload_bytes(tmp_path, buffer.getvalue(), "panorama.jpg")

    reply = variant(image["id"], w="1024", h="256", fit="cover", format="webp")

    with Image.open(io.BytesIO(object_bytes(aws, key_of(reply.headers["Location"])))) as rendered:
        assert rendered.size == (1024, 256)


def test_a_fresh_environment_registers_pillow_heif_when_a_heic_comes_and_only_then(tmp_path: Path) -> None:
    """The tests' own process has pillow-heif registered (tests/images.py); a Lambda environment has not."""
    heic, avif = (
        write(tmp_path, "a.heic", image_bytes("HEIF", (40, 30))),
        write(tmp_path, "a.avif", image_bytes("AVIF")),
    )
    script = (
        "import sys; from PIL import Image; from app.imaging.decode import decode\n"
        f"print(decode(open({str(avif)!r}, 'rb').read()).format, 'HEIF' in Image.OPEN)\n"
        f"print(decode(open({str(heic)!r}, 'rb').read()).width, 'HEIF' in Image.OPEN)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)

    assert result.stdout.split("\n")[:2] == ["avif False", "40 True"]


def test_every_box_an_image_fits_in_whole_is_one_object(aws: dict[str, Any], tmp_path: Path) -> None:
    image = upload_bytes(tmp_path, image_bytes("PNG", size=(300, 200)), "a.png")

    keys = {
        key_of(variant(image["id"], format="webp", **query).headers["Location"])
        for query in (
            {"w": "512"},
            {"w": "2048"},
            {"h": "256"},
            {"w": "1024", "h": "1024"},
            {"w": "512", "h": "512", "fit": "cover"},
        )
    }

    # Every contain box of at least 300 x 200 is the image at its own size; cover crops, so it has its own.
    assert keys == {f"variants/{image['id']}/0x0-contain.webp", f"variants/{image['id']}/512x512-cover.webp"}
