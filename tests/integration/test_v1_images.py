"""/v1/images through lambda_handler: the JSON face's contract, on the same storage as the original one."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from app import layout, storage
from app.logic import images as image_records
from tests.images import FORMATS, image_bytes
from tests.integration.lambda_client import Reply, call, content_items, stored, upload

PNG = image_bytes("PNG")
ERROR_FIELDS = {"error", "message", "code", "request_id"}


def post(body: Any, content_type: str = "application/json") -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call("POST", "/v1/images", headers={"Content-Type": content_type}, body=raw)


def new_image(user: str = "dana_1", name: str = "cat.png", data: bytes = PNG, **fields: Any) -> dict[str, Any]:
    return {"user_id": user, "image_name": name, "file": base64.b64encode(data).decode(), **fields}


def created(**fields: Any) -> dict[str, Any]:
    reply = post(new_image(**fields))
    assert reply.status == 201, reply.body
    return dict(reply.json())


def listed(**query: str) -> dict[str, Any]:
    reply = call("GET", "/v1/images", query=query)
    assert reply.status == 200, reply.body
    return dict(reply.json())


def test_an_upload_answers_every_field_and_stores_image_thumbnail_row_and_content_item(aws: dict[str, Any]) -> None:
    reply = post(new_image(description="A cat", tags=["Pets", "cute"]))

    body = reply.json()
    assert reply.status == 201
    image_id = body["image_id"]
    assert body == {
        "image_id": image_id,
        "user_id": "dana_1",
        "image_name": "cat.png",
        "description": "A cat",
        "tags": ["pets", "cute"],
        "created_at": body["created_at"],
        "s3_key": f"{image_id}.png",
        "file_size": len(PNG),
        "mime_type": "image/png",
        "message": "Image uploaded successfully",
    }
    assert layout.ID_RE.match(image_id)
    assert len(body["created_at"]) == 20
    assert body["created_at"].endswith("Z")
    assert reply.headers["Location"] == f"images/{image_id}"
    objects, rows = stored(aws)
    assert objects == [f"{image_id}.png", f"thumbnails/{image_id}.webp"]
    assert [row["id"] for row in rows] == [image_id]
    assert content_items(aws) == {layout.content_id("dana_1", hashlib.sha256(PNG).hexdigest()): image_id}


def test_tags_may_be_one_comma_separated_string_and_description_may_be_null() -> None:
    body = created(tags="a, b,a", description=None)

    assert (body["tags"], body["description"]) == (["a", "b"], "")


def test_the_same_bytes_from_the_same_user_are_a_409_and_nothing_more_is_stored(aws: dict[str, Any]) -> None:
    first = created()["image_id"]
    before = stored(aws)

    again = post(new_image(name="other-name.png"))

    assert again.status == 409
    assert again.json()["code"] == "DUPLICATE_IMAGE"
    assert again.json()["message"] == f"this user already stored these bytes, as image {first}"
    assert set(again.json()) == ERROR_FIELDS
    assert again.json()["error"] == "Conflict"
    assert stored(aws) == before


def test_the_same_bytes_from_another_user_are_another_image() -> None:
    first = created(user="dana_1")["image_id"]

    second = created(user="erin-2")["image_id"]

    assert first != second


def test_after_a_delete_the_same_bytes_may_be_stored_again(aws: dict[str, Any]) -> None:
    first = created()["image_id"]
    assert call("DELETE", f"/v1/images/{first}").status == 200
    assert content_items(aws) == {}

    second = created()["image_id"]

    assert second != first
    assert list(content_items(aws).values()) == [second]


def test_a_content_item_left_by_a_crashed_delete_does_not_block_the_bytes(aws: dict[str, Any]) -> None:
    first = created()["image_id"]
    # The row is gone, its content item left behind (as no transaction here allows; a hand edit).
    aws["dynamodb"].delete_item(TableName="images", Key={"id": {"S": first}})

    second = created()["image_id"]

    assert list(content_items(aws).values()) == [second]


def test_a_duplicate_that_wins_the_race_to_the_bytes_leaves_nothing_of_the_loser(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = created()["image_id"]
    before = stored(aws)
    # The loser checked before the winner wrote: it saw no holder, then its transaction fails.
    monkeypatch.setattr(storage.ImageStore, "content_owner", not_seen_the_first_time(storage.ImageStore.content_owner))

    again = post(new_image())

    assert (again.status, again.json()["code"]) == (409, "DUPLICATE_IMAGE")
    assert stored(aws) == before
    assert list(content_items(aws).values()) == [first]


def not_seen_the_first_time(content_owner: Any) -> Any:
    """ImageStore.content_owner, except that its first call finds nothing (as before a winner wrote)."""
    calls = []

    def patched(store: storage.ImageStore, content_id: str) -> str | None:
        calls.append(content_id)
        return None if len(calls) == 1 else content_owner(store, content_id)

    return patched


REFUSALS = [
    ({"user_id": None}, "MISSING_FIELD", "user_id"),
    ({"user_id": ""}, "INVALID_FIELD", "user_id"),
    ({"user_id": "ab"}, "INVALID_FIELD", "user_id"),
    ({"user_id": "a" * 51}, "INVALID_FIELD", "user_id"),
    ({"user_id": "dana.b"}, "INVALID_FIELD", "user_id"),
    ({"user_id": 12345}, "INVALID_FIELD", "user_id"),
    ({"image_name": None}, "MISSING_FIELD", "image_name"),
    ({"image_name": ""}, "INVALID_FIELD", "image_name"),
    ({"image_name": "cat"}, "INVALID_FIELD", "image_name: must end in .jpg, .jpeg, .png, .gif, .webp"),
    ({"image_name": "cat.bmp"}, "INVALID_FIELD", "image_name: must end in"),
    ({"image_name": ".png"}, "INVALID_FIELD", "image_name: must end in"),
    ({"image_name": "pets/cat.png"}, "INVALID_FIELD", "image_name: must be a file name, not a path"),
    ({"image_name": "c" * 252 + ".png"}, "INVALID_FIELD", "image_name"),
    ({"description": "d" * 1001}, "INVALID_FIELD", "description"),
    ({"tags": [f"t{n}" for n in range(11)]}, "INVALID_FIELD", "tags: at most 10 tags, got 11"),
    ({"tags": ["x" * 51]}, "INVALID_FIELD", "tags: tag"),
    ({"tags": 7}, "INVALID_FIELD", "tags: must be a list of strings or one comma-separated string"),
    ({"tags": [1, 2]}, "INVALID_FIELD", "tags: must be a list of strings"),
    ({"file": None}, "MISSING_FIELD", "file"),
    ({"file": ""}, "INVALID_FIELD", "file"),
    ({"file": "not base64!"}, "INVALID_BASE64", "file is not valid base64"),
    ({"file": "===="}, "INVALID_BASE64", "file is not valid base64"),
    ({"file": base64.b64encode(b"hello, not an image").decode()}, "UNSUPPORTED_MEDIA_TYPE", "file is not a JPEG"),
    ({"file": base64.b64encode(b"\0" * (4 * 1024 * 1024 + 1)).decode()}, "FILE_TOO_LARGE", "file is larger than"),
]


@pytest.mark.parametrize(("change", "code", "message"), REFUSALS, ids=[f"{c}-{m[:30]}" for _, c, m in REFUSALS])
def test_every_refusal_is_a_400_with_its_code_and_nothing_is_stored(
    aws: dict[str, Any], change: dict[str, Any], code: str, message: str
) -> None:
    body = {k: v for k, v in {**new_image(), **change}.items() if v is not None}

    reply = post(body)

    assert reply.status == 400, reply.body
    assert set(reply.json()) == ERROR_FIELDS
    assert (reply.json()["error"], reply.json()["code"]) == ("Bad Request", code)
    assert reply.json()["message"].startswith(message)
    assert stored(aws) == ([], [])


def test_a_body_that_is_not_json_is_a_400() -> None:
    assert post(b"user_id=dana", "application/x-www-form-urlencoded").json()["code"] == "NOT_JSON"
    assert post(b"{not json").json()["code"] == "NOT_JSON"


def test_base64_with_line_breaks_or_a_data_url_prefix_is_the_same_file() -> None:
    wrapped = "\n".join(base64.b64encode(image_bytes("GIF")).decode()[i : i + 76] for i in range(0, 200, 76))
    data_url = "data:image/jpeg;base64," + base64.b64encode(image_bytes("JPEG")).decode()

    assert created(file=wrapped, name="a.gif")["mime_type"] == "image/gif"
    assert created(file=data_url, name="b.jpg")["mime_type"] == "image/jpeg"


def test_the_type_is_read_from_the_bytes_not_the_name() -> None:
    body = created(name="really-a-jpeg.png", data=image_bytes("JPEG"))

    assert (body["mime_type"], body["s3_key"].rsplit(".", 1)[1], body["image_name"]) == (
        "image/jpeg",
        "jpg",
        "really-a-jpeg.png",
    )


@pytest.mark.parametrize(("fmt", "mime", "extension"), FORMATS)
def test_get_answers_the_very_bytes_with_their_type(fmt: str, mime: str, extension: str) -> None:
    data = image_bytes(fmt, (40, 30))
    image_id = created(name=f"x.{extension}", data=data)["image_id"]

    reply = call("GET", f"/v1/images/{image_id}", headers={"Accept": "image/*"})

    assert reply.status == 200
    assert reply.data == data
    assert reply.headers["Content-Type"] == mime
    assert reply.headers["Content-Disposition"] == f'inline; filename="x.{extension}"'
    assert reply.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'


def test_download_names_the_image_and_metadata_describes_it() -> None:
    upload_body = created(description="Straße", tags=["a"])
    image_id = upload_body["image_id"]

    reply = call(
        "GET", f"/v1/images/{image_id}", query={"download": "true", "metadata": "true"}, headers={"Accept": "image/png"}
    )

    assert reply.status == 200
    assert reply.headers["Content-Disposition"] == 'attachment; filename="cat.png"'
    assert reply.headers["X-Image-Metadata"].isascii()
    assert json.loads(reply.headers["X-Image-Metadata"]) == {k: v for k, v in upload_body.items() if k != "message"}


@pytest.mark.parametrize("accept", ["*/*", "application/json", None])
def test_without_an_image_accept_the_answer_is_a_redirect_to_s3(accept: str | None) -> None:
    image_id = created()["image_id"]
    headers = {"Accept": accept} if accept else {}

    reply = call("GET", f"/v1/images/{image_id}", headers=headers)

    assert reply.status == 302
    assert reply.headers["Location"] == reply.json()["url"]
    assert f"/{image_id}.png?" in reply.headers["Location"]
    assert reply.headers["Cache-Control"].startswith("private, max-age=")  # while its URL stays the same


def test_an_image_too_large_for_a_lambda_answer_is_a_redirect(monkeypatch: pytest.MonkeyPatch) -> None:
    image_id = created()["image_id"]
    monkeypatch.setenv("MAX_INLINE_BYTES", str(len(PNG) - 1))
    storage.reset_clients()

    reply = call("GET", f"/v1/images/{image_id}", query={"download": "1"}, headers={"Accept": "image/*"})

    assert reply.status == 302
    assert "response-content-disposition=attachment" in reply.headers["Location"]


@pytest.mark.parametrize("image_id", ["00000000-0000-4000-8000-000000000000", "not-an-id"])
def test_unknown_ids_are_404_in_this_faces_shape(image_id: str) -> None:
    for method in ("GET", "DELETE"):
        reply = call(method, f"/v1/images/{image_id}", headers={"Accept": "image/*"})

        assert reply.status == 404
        assert reply.json() == {
            "error": "Not Found",
            "message": "No image with this id",
            "code": "NOT_FOUND",
            "request_id": reply.json()["request_id"],
        }


def test_delete_answers_once_then_404_and_leaves_nothing(aws: dict[str, Any]) -> None:
    image_id = created()["image_id"]

    first = call("DELETE", f"/v1/images/{image_id}")
    second = call("DELETE", f"/v1/images/{image_id}")

    assert (first.status, first.json()) == (200, {"message": "Image deleted successfully", "image_id": image_id})
    assert second.status == 404
    assert stored(aws) == ([], [])
    assert content_items(aws) == {}


def test_listing_needs_a_user_and_an_unknown_user_has_no_images() -> None:
    missing = call("GET", "/v1/images")

    assert (missing.status, missing.json()["code"]) == (400, "INVALID_PARAMETER")
    assert missing.json()["message"] == "user_id: Field required"
    assert listed(user_id="nobody") == {
        "images": [],
        "total_count": 0,
        "returned_count": 0,
        "filter_applied": None,
        "pagination": {"limit": 20, "offset": 0, "has_more": False},
    }


def at(monkeypatch: pytest.MonkeyPatch, iso: str) -> None:
    """Create the next images at this moment (UTC)."""
    from datetime import datetime

    ms = int(datetime.fromisoformat(iso).timestamp() * 1000)
    monkeypatch.setattr(image_records, "now_ms", lambda: ms)


@pytest.fixture
def five(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Five images of dana_1 on five days, names out of time order; one of another user."""
    made = []
    for day, name in zip(range(1, 6), ["Delta.png", "alpha.png", "Echo.png", "charlie.png", "bravo.png"], strict=True):
        at(monkeypatch, f"2024-01-0{day}T10:30:00+00:00")
        made.append(created(name=name, data=image_bytes("PNG", (8, 8), (day, 0, 0))))
    created(user="erin-2", name="alpha-of-erin.png")
    monkeypatch.undo()
    return made


def test_a_user_lists_newest_first_by_offset_with_the_total(five: list[dict[str, Any]]) -> None:
    page = listed(user_id="dana_1", limit="2", offset="1")

    assert [image["image_name"] for image in page["images"]] == ["charlie.png", "Echo.png"]
    assert page["images"][0] == {k: v for k, v in five[3].items() if k != "message"}
    assert page["images"][0]["created_at"] == "2024-01-04T10:30:00Z"
    assert (page["total_count"], page["returned_count"]) == (5, 2)
    assert page["pagination"] == {"limit": 2, "offset": 1, "has_more": True}
    last = listed(user_id="dana_1", limit="2", offset="4")
    assert (last["returned_count"], last["pagination"]["has_more"]) == (1, False)
    assert listed(user_id="dana_1", offset="9")["images"] == []


def test_sorting_by_name_ignores_case_either_way(five: list[dict[str, Any]]) -> None:
    ascending = listed(user_id="dana_1", sort_by="image_name", sort_order="asc")
    descending = listed(user_id="dana_1", sort_by="image_name")

    names = ["alpha.png", "bravo.png", "charlie.png", "Delta.png", "Echo.png"]
    assert [image["image_name"] for image in ascending["images"]] == names
    assert [image["image_name"] for image in descending["images"]] == names[::-1]
    oldest = listed(user_id="dana_1", sort_order="asc", limit="1")["images"][0]["image_name"]
    assert oldest == "Delta.png"


def test_name_and_date_filters_narrow_the_total_and_are_described(five: list[dict[str, Any]]) -> None:
    page = listed(user_id="dana_1", name_contains="A", start_date="2024-01-02", end_date="2024-01-04")

    assert [image["image_name"] for image in page["images"]] == ["charlie.png", "alpha.png"]
    assert page["total_count"] == 2
    assert page["filter_applied"] == (
        'image_name contains "A", created on or after 2024-01-02, created on or before 2024-01-04'
    )
    assert listed(user_id="dana_1", end_date="2024-01-01")["total_count"] == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"sort_by": "size"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"name_contains": ""}, "name_contains"),
        ({"name_contains": "n" * 101}, "name_contains"),
        ({"start_date": "2024-1-1"}, "start_date"),
        ({"end_date": "2024-02-30"}, "end_date: 2024-02-30 is not a real date"),
        ({"start_date": "2024-02-02", "end_date": "2024-02-01"}, "start_date must not be after end_date"),
        ({"user_id": "ab"}, "user_id"),
    ],
)
def test_bad_listing_parameters_are_400s(query: dict[str, str], message: str) -> None:
    reply = call("GET", "/v1/images", query={"user_id": "dana_1", **query})

    assert reply.status == 400
    assert (reply.json()["error"], reply.json()["code"]) == ("Bad Request", "INVALID_PARAMETER")
    assert reply.json()["message"].startswith(message)


def test_more_matches_than_one_request_reads_are_refused_with_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(4):
        created(data=image_bytes("PNG", (8, 8), (n, 1, 1)))
    monkeypatch.setenv("MAX_LISTING_WINDOW", "3")
    storage.reset_clients()

    reply = call("GET", "/v1/images", query={"user_id": "dana_1"})

    assert (reply.status, reply.json()["code"]) == (400, "TOO_MANY_MATCHES")
    assert "GET /list?user=" in reply.json()["message"]


def test_both_faces_see_the_same_images(aws: dict[str, Any]) -> None:
    from_form = upload("user=dana_1", "description=from a form", "file=@sample.png").json()
    from_json = created(name="j.gif", data=image_bytes("GIF"))

    both = listed(user_id="dana_1", sort_order="asc")["images"]
    original = call("GET", "/list", query={"user": "dana_1", "order": "oldest"}).json()

    assert [image["image_id"] for image in both] == [from_form["id"], from_json["image_id"]]
    assert both[0]["image_name"] == "sample.png"
    assert [image["id"] for image in original] == [from_form["id"], from_json["image_id"]]
    assert call("GET", f"/view/{from_json['image_id']}").json()["original_name"] == "j.gif"
    assert call("DELETE", f"/delete/{from_json['image_id']}").status == 200
    assert call("GET", f"/v1/images/{from_json['image_id']}").status == 404
    assert call("DELETE", f"/v1/images/{from_form['id']}").status == 200
    assert stored(aws) == ([], [])


def test_the_form_face_answers_the_first_image_while_the_json_face_refuses_a_repeat() -> None:
    first = upload("user=dana_1", "file=@sample.png").json()["id"]
    second = upload("user=dana_1", "file=@sample.png")
    with open("tests/data/sample.png", "rb") as sample:
        again = post(new_image(data=sample.read()))

    assert (second.status, second.json()["id"], second.json()["duplicate"]) == (200, first, True)
    assert (again.status, again.json()["message"]) == (
        409,
        f"this user already stored these bytes, as image {first}",
    )
