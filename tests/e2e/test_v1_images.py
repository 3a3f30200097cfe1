"""/v1/images over HTTP, with curl as the API guide shows it: every rule of the JSON face, on the
local server and on LocalStack, and both faces sharing the same images."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.client import CurlReply, Target, doc_block
from tests.images import FORMATS, image_bytes, noisy_png, png_of_size, stored

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
V1_ERROR = {"error", "message", "code", "request_id"}


def unique_image(fmt: str = "PNG") -> bytes:
    """An image no earlier run stored (CI runs the suite several times against one deployment)."""
    seed = uuid.uuid4().bytes
    return image_bytes(fmt, (24 + seed[0] % 16, 16 + seed[1] % 16), (seed[2], seed[3], seed[4]))


class V1:
    """A JSON-face client that deletes what it created."""

    def __init__(self, target: Target, tmp_path: Path) -> None:
        self.target, self.tmp = target, tmp_path
        self.user = f"e2e-v1-{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def post(self, body: dict[str, Any], with_key: bool = True) -> CurlReply:
        path = self.tmp / f"{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(body))
        args = ["-H", "Content-Type: application/json", "--data-binary", f"@{path}"]
        reply = self.target.curl(*args, path="/v1/images", with_key=with_key)
        if reply.status == 201:
            self.created.append(reply.json()["image_id"])
        return reply

    def upload(self, data: bytes, name: str = "photo.png", **fields: Any) -> dict[str, Any]:
        body = {"user_id": self.user, "image_name": name, "file": base64.b64encode(data).decode(), **fields}
        reply = self.post(body)
        assert reply.status == 201, reply.body[:500]
        return dict(reply.json())

    def download(self, image_id: str, *args: str) -> tuple[CurlReply, bytes]:
        """GET the image as the API guide does: `curl -H 'Accept: image/*' ... --output file`."""
        saved = self.tmp / f"{uuid.uuid4().hex}.bin"
        reply = self.target.curl("-H", "Accept: image/*", *args, path=f"/v1/images/{image_id}", output=saved)
        return reply, reply.body

    def listing(self, **query: str) -> dict[str, Any]:
        response = self.target.get("/v1/images", params={"user_id": self.user, **query})
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def v1(target: Target, tmp_path: Path) -> Iterator[V1]:
    client = V1(target, tmp_path)
    yield client
    for image_id in client.created:
        target.delete(f"/v1/images/{image_id}")


def assert_v1_error(reply: Any, status: int, code: str) -> dict[str, Any]:
    actual = reply.status_code if hasattr(reply, "status_code") else reply.status
    body = dict(reply.json())
    assert (actual, body["code"]) == (status, code), body
    assert set(body) == V1_ERROR
    assert body["request_id"]
    return body


@pytest.mark.parametrize(("fmt", "mime", "extension"), FORMATS)
def test_each_format_round_trips_byte_for_byte(v1: V1, fmt: str, mime: str, extension: str) -> None:
    data = unique_image(fmt)

    created = v1.upload(data, name=f"holiday.{extension}", description="by curl", tags="e2e,v1")
    reply, saved = v1.download(created["image_id"])

    assert (created["mime_type"], created["file_size"], created["tags"]) == (mime, len(data), ["e2e", "v1"])
    assert created["s3_key"] == f"{created['image_id']}.{extension}"
    assert (reply.status, reply.headers["content-type"]) == (200, mime)
    assert saved == data
    assert reply.headers["content-disposition"] == f'inline; filename="holiday.{extension}"'


def test_download_and_metadata_headers(v1: V1) -> None:
    created = v1.upload(unique_image(), name="Été.png", description="Ünïcode")

    reply, saved = v1.download(created["image_id"], "-G", "-d", "download=true", "-d", "metadata=true")

    assert reply.status == 200
    assert reply.headers["content-disposition"] == (
        "attachment; filename=\"Ete.png\"; filename*=utf-8''%C3%89t%C3%A9.png"
    )
    created.pop("message")
    assert json.loads(reply.headers["x-image-metadata"]) == created
    assert len(saved) == created["file_size"]


def test_without_an_image_accept_curl_is_redirected_to_s3(v1: V1, target: Target) -> None:
    data = unique_image()
    image_id = v1.upload(data)["image_id"]

    redirect = target.get(f"/v1/images/{image_id}", headers={"Accept": "*/*"}, allow_redirects=False)
    followed = target.get(redirect.headers["Location"], with_key=False)

    assert redirect.status_code == 302
    assert redirect.json() == {"url": redirect.headers["Location"]}
    assert (followed.status_code, followed.content) == (200, data)


def test_an_image_too_large_to_answer_redirects_to_s3(v1: V1, target: Target, tmp_path: Path) -> None:
    data = noisy_png(4 * 1024 * 1024 + 1)  # real pixels: nothing for metadata stripping to remove
    path = tmp_path / "big.png"
    path.write_bytes(data)
    started = target.start_direct_upload(
        user=v1.user, filename="big.png", content_type="image/png", size=len(data)
    ).json()
    v1.created.append(started["id"])
    assert target.post_to_s3(started["upload"], str(path)).status == 204
    assert target.request("POST", f"/uploads/{started['id']}/complete").status_code == 200

    redirect = target.get(f"/v1/images/{started['id']}", headers={"Accept": "image/*"}, allow_redirects=False)

    assert redirect.status_code == 302
    assert target.get(redirect.headers["Location"], with_key=False).content == data


REFUSALS = [
    ({"user_id": None}, "MISSING_FIELD"),
    ({"user_id": ""}, "INVALID_FIELD"),
    ({"user_id": "ab"}, "INVALID_FIELD"),
    ({"user_id": "u" * 51}, "INVALID_FIELD"),
    ({"user_id": "no spaces"}, "INVALID_FIELD"),
    ({"image_name": None}, "MISSING_FIELD"),
    ({"image_name": "noextension"}, "INVALID_FIELD"),
    ({"image_name": "virus.exe"}, "INVALID_FIELD"),
    ({"description": "d" * 1001}, "INVALID_FIELD"),
    ({"tags": [f"t{n}" for n in range(11)]}, "INVALID_FIELD"),
    ({"tags": ["t" * 51]}, "INVALID_FIELD"),
    ({"tags": {"a": 1}}, "INVALID_FIELD"),
    ({"file": None}, "MISSING_FIELD"),
    ({"file": ""}, "INVALID_FIELD"),
    ({"file": "%%%"}, "INVALID_BASE64"),
    ({"file": "===="}, "INVALID_BASE64"),
    ({"file": base64.b64encode(b"GIF89a? no, just text").decode()}, "UNSUPPORTED_MEDIA_TYPE"),
    ({"file": base64.b64encode(bytes(4 * 1024 * 1024 + 1)).decode()}, "FILE_TOO_LARGE"),
]


@pytest.mark.parametrize(("change", "code"), REFUSALS)
def test_every_refusal_is_a_400_in_this_faces_shape(v1: V1, change: dict[str, Any], code: str) -> None:
    body = {"user_id": v1.user, "image_name": "a.png", "file": base64.b64encode(unique_image()).decode(), **change}

    reply = v1.post({k: v for k, v in body.items() if v is not None})

    assert assert_v1_error(reply, 400, code)["error"] == "Bad Request"
    assert v1.listing()["total_count"] == 0, "nothing stored"


def test_the_same_bytes_again_are_a_409(v1: V1) -> None:
    data = unique_image()
    first = v1.upload(data)["image_id"]

    again = v1.post({"user_id": v1.user, "image_name": "again.png", "file": base64.b64encode(data).decode()})

    assert assert_v1_error(again, 409, "DUPLICATE_IMAGE")["message"].endswith(first)
    assert v1.listing()["total_count"] == 1


def test_listing_by_offset_sorted_and_filtered(v1: V1, target: Target) -> None:
    names = ["b-Dog.png", "a-cat.png", "c-Cat.gif"]
    made = [v1.upload(unique_image("GIF" if name.endswith("gif") else "PNG"), name=name) for name in names]
    newest_first = [image["image_id"] for image in made[::-1]]

    page = v1.listing(limit="2", offset="1")
    by_name = v1.listing(sort_by="image_name", sort_order="asc")
    cats = v1.listing(name_contains="CAT", start_date="2000-01-01", end_date="2999-12-31")

    assert [image["image_id"] for image in page["images"]] == newest_first[1:]
    assert (page["total_count"], page["returned_count"]) == (3, 2)
    assert page["pagination"] == {"limit": 2, "offset": 1, "has_more": False}
    assert page["images"][0] == {k: v for k, v in made[1].items() if k != "message"}
    assert [image["image_name"] for image in by_name["images"]] == ["a-cat.png", "b-Dog.png", "c-Cat.gif"]
    assert cats["total_count"] == 2
    assert cats["filter_applied"] == (
        'image_name contains "CAT", created on or after 2000-01-01, created on or before 2999-12-31'
    )
    assert v1.listing(end_date="2000-01-01")["images"] == []
    unknown = target.get("/v1/images", params={"user_id": f"nobody-{uuid.uuid4().hex[:8]}"}).json()
    assert (unknown["images"], unknown["total_count"], unknown["filter_applied"]) == ([], 0, None)


@pytest.mark.parametrize(
    "query",
    [{}, {"limit": "0"}, {"limit": "101"}, {"offset": "-1"}, {"sort_by": "size"}, {"sort_order": "sideways"},
     {"start_date": "yesterday"}, {"end_date": "2024-02-30"}, {"user_id": "x"}],
)  # fmt: skip
def test_bad_listing_parameters_are_400(target: Target, query: dict[str, str]) -> None:
    params = {"user_id": "e2e-v1-params", **query} if query else {}

    assert_v1_error(target.get("/v1/images", params=params), 400, "INVALID_PARAMETER")


def test_delete_then_404_for_every_method(v1: V1, target: Target) -> None:
    image_id = v1.upload(unique_image())["image_id"]

    deleted = target.delete(f"/v1/images/{image_id}")

    assert (deleted.status_code, deleted.json()) == (
        200,
        {"message": "Image deleted successfully", "image_id": image_id},
    )
    assert_v1_error(target.delete(f"/v1/images/{image_id}"), 404, "NOT_FOUND")
    assert_v1_error(target.get(f"/v1/images/{image_id}", headers={"Accept": "image/*"}), 404, "NOT_FOUND")
    assert_v1_error(target.get("/v1/images/not-an-id"), 404, "NOT_FOUND")


def test_both_faces_share_the_same_images(v1: V1, target: Target, tmp_path: Path) -> None:
    data = unique_image()
    path = tmp_path / "shared.png"
    path.write_bytes(data)
    from_form = target.upload(f"user={v1.user}", "description=form", f"file=@{path}").json()
    v1.created.append(from_form["id"])
    from_json = v1.upload(unique_image("JPEG"), name="json.jpg")

    listed = [image["image_id"] for image in v1.listing(sort_order="asc")["images"]]
    original = [item["id"] for item in target.get("/list", params={"user": v1.user, "order": "oldest"}).json()]
    same_bytes = v1.post({"user_id": v1.user, "image_name": "x.png", "file": base64.b64encode(data).decode()})
    view = target.get(f"/view/{from_json['image_id']}").json()

    assert listed == original == [from_form["id"], from_json["image_id"]]
    assert assert_v1_error(same_bytes, 409, "DUPLICATE_IMAGE")["message"].endswith(from_form["id"])
    assert (view["original_name"], view["filename"]) == ("json.jpg", from_json["s3_key"])
    assert v1.download(from_form["id"])[1] == data
    assert target.delete(f"/delete/{from_json['image_id']}").status_code == 200
    assert target.delete(f"/v1/images/{from_form['id']}").status_code == 200
    assert v1.listing()["total_count"] == 0


def test_an_api_key_guards_this_face_too(v1: V1, target: Target) -> None:
    if target.api_key is None:
        pytest.skip("this API was deployed without an API key")
    body = {"user_id": v1.user, "image_name": "a.png", "file": base64.b64encode(unique_image()).decode()}

    refused = v1.post(body, with_key=False)
    listing = target.get("/v1/images", params={"user_id": v1.user}, with_key=False)

    assert (refused.status, refused.json()) == (403, {"message": "Forbidden"})
    assert (listing.status_code, listing.json()) == (403, {"message": "Forbidden"})
    assert v1.listing()["total_count"] == 0


def test_the_readme_commands_work_as_printed(target: Target) -> None:
    script = doc_block("docs/api.md", "### `/v1/images`")
    deployed_by_deploy_sh = (
        not os.environ.get("BASE_URL") and os.environ.get("E2E_TARGET", "localstack") == "localstack"
    )
    if not deployed_by_deploy_sh:  # make ls-api finds deploy.sh's API; here the API is another one
        assert script.startswith('eval "$(make -s ls-api)"')
        found = f"BASE={target.base_url}\nBASE_USER_REQUEST={target.base_url}\nAPI_KEY={target.api_key or ''}\n"
        script = found + script.split("\n", 1)[1]

    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)

    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert '"message":"Image uploaded successfully"' in out, out[:2000]
    assert "the same bytes" in out
    assert out.count('"user_id":"bob"') >= 3  # the upload, then both listings
    assert out.rstrip().endswith(f'"message":"Image deleted successfully","image_id":"{image_id(out)}"}}')


def image_id(out: str) -> str:
    return str(json.loads(out[: out.index("}") + 1])["image_id"])


def test_a_file_at_the_limit_goes_through_the_gateway_as_base64_json(v1: V1, tmp_path: Path) -> None:
    # 4 MiB of image is 5.6 MB of base64: under API Gateway's 10 MB and the Lambda's 6 MB event.
    data = png_of_size(4 * 1024 * 1024)

    created = v1.upload(data, name="at-the-limit.png")
    reply, saved = v1.download(created["image_id"])

    assert (created["file_size"], created["mime_type"]) == (len(stored(data)), "image/png")
    assert (reply.status, saved) == (200, stored(data))
