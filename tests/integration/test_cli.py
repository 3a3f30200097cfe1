"""imgapi, the command-line client: its commands against a local server (in this process, through
click's CliRunner), where it finds the API, and its requests against openapi.json."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from imgapi import client as client_module
from imgapi import main
from imgapi.client import Client, NoApiError, Target, locate
from imgapi.operations import FORM, JSON, OPERATIONS
from imgapi.uploads import content_type
from localserver.launcher import local_server
from tests.images import FORMATS, image_bytes, noisy_png, stored

ROOT = Path(__file__).parents[2]
SMALL_LIMIT = 64 * 1024  # MAX_UPLOAD_BYTES of this server: larger files take the direct path


@pytest.fixture(autouse=True)
def aws() -> None:
    """These tests call a local server (its own storage), not moto in this process."""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with local_server(env={"MAX_UPLOAD_BYTES": str(SMALL_LIMIT)}) as api:
        yield api.base_url


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations the CLI calls, in order."""
    made: list[str] = []
    original = Client.call

    def recording(self: Client, name: str, **kwargs: Any) -> requests.Response:
        made.append(name)
        return original(self, name, **kwargs)

    monkeypatch.setattr(Client, "call", recording)
    return made


def imgapi(base_url: str, *args: str) -> Result:
    return CliRunner().invoke(main.cli, ["--url", base_url, *args], catch_exceptions=False)


def answers(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def png_file(tmp_path: Path, name: str = "photo.png") -> tuple[Path, bytes]:
    """A PNG with nothing the service strips, so the stored bytes are these; distinct every call."""
    data = image_bytes("PNG", size=(40, 30), color=(*os.urandom(3),))
    assert stored(data) == data
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def upload(base_url: str, path: Path, *args: str) -> dict[str, Any]:
    [answer] = answers(imgapi(base_url, "upload", str(path), *args, "--json"))
    return dict(answer)


# ---- upload ----------------------------------------------------------------------------------


def test_a_small_file_goes_to_upload_with_its_fields(base_url: str, tmp_path: Path, calls: list[str]) -> None:
    path, data = png_file(tmp_path)

    result = imgapi(
        base_url, "upload", str(path), "--user", "cli-alice", "-d", "at the beach", "-t", "Beach", "-t", "sun"
    )

    assert result.exit_code == 0, result.stderr
    assert calls == ["limits", "upload"]
    image_id = result.stdout.split(" uploaded as ")[1].split()[0]
    assert result.stdout == f"{path}: uploaded as {image_id} (image/png, 40x30, {len(data)} B, cli-alice)\n"
    view = answers(imgapi(base_url, "view", image_id, "--json"))
    assert {k: view[k] for k in ("user", "description", "tags", "original_name", "content_type", "size", "status")} == {
        "user": "cli-alice",
        "description": "at the beach",
        "tags": ["beach", "sun"],
        "original_name": "photo.png",
        "content_type": "image/png",
        "size": len(data),
        "status": "ready",
    }


def test_upload_without_a_user_names_the_option(base_url: str, tmp_path: Path, calls: list[str]) -> None:
    result = imgapi(base_url, "upload", str(png_file(tmp_path)[0]))

    assert result.exit_code == 1
    assert result.stderr == "error MISSING_OPTION: whose images are these? Pass --user NAME (or sign in with --token)\n"
    assert calls == []


def test_the_same_bytes_again_are_already_stored(base_url: str, tmp_path: Path) -> None:
    path, _ = png_file(tmp_path)
    first = upload(base_url, path, "--user", "cli-dup")

    again = imgapi(base_url, "upload", str(path), "--user", "cli-dup")
    as_json = upload(base_url, path, "--user", "cli-dup")

    assert (again.exit_code, again.stdout) == (0, f"{path}: already stored as {first['id']}\n")
    assert (as_json["id"], as_json["duplicate"]) == (first["id"], True)


def test_a_file_over_the_upload_limit_goes_straight_to_s3(base_url: str, tmp_path: Path, calls: list[str]) -> None:
    data = noisy_png(SMALL_LIMIT + 1)  # nothing to strip: stored as sent
    path = tmp_path / "large.png"
    path.write_bytes(data)

    answer = upload(base_url, path, "--user", "cli-large", "-t", "big")

    assert calls == ["limits", "start_direct_upload", "complete_direct_upload"]
    assert (answer["user"], answer["status"], answer["size"], answer["tags"]) == (
        "cli-large",
        "ready",
        len(data),
        ["big"],
    )
    copy = tmp_path / "copy.png"
    assert imgapi(base_url, "view", answer["id"], "-o", str(copy)).exit_code == 0
    assert copy.read_bytes() == data
    again = imgapi(base_url, "upload", str(path), "--user", "cli-large")
    assert (again.exit_code, again.stdout) == (0, f"{path}: already stored as {answer['id']}\n")


def test_what_is_not_an_image_is_refused_before_sending_and_the_others_still_go(base_url: str, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    path, _ = png_file(tmp_path)

    result = imgapi(base_url, "upload", str(text), str(path), "--user", "cli-mixed", "--json")

    assert result.exit_code == 1
    assert (
        result.stderr
        == f"{text}: error UNSUPPORTED_MEDIA_TYPE: notes.jpg is not a {main.uploads.ACCEPTED} image (by its bytes)\n"
    )
    assert [answer["original_name"] for answer in json.loads(result.stdout)] == ["photo.png"]


@pytest.mark.parametrize(("pillow_format", "mime"), [(fmt, mime) for fmt, mime, _ in FORMATS])
def test_the_type_comes_from_the_bytes(pillow_format: str, mime: str) -> None:
    assert content_type(image_bytes(pillow_format)) == mime
    assert content_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


# ---- list, view ------------------------------------------------------------------------------


def test_list_filters_and_follows_the_next_links(base_url: str, tmp_path: Path, calls: list[str]) -> None:
    user = f"cli-list-{uuid.uuid4().hex[:8]}"
    ids = [upload(base_url, png_file(tmp_path, f"n{n}.png")[0], "--user", user, "-t", "paged")["id"] for n in range(5)]
    calls.clear()

    rows = answers(
        imgapi(base_url, "list", "--user", user, "--tag", "paged", "--limit", "4", "--page-size", "2", "--json")
    )
    oldest = answers(imgapi(base_url, "list", "--user", user, "--order", "oldest", "--name", "N3", "--json"))

    assert [row["id"] for row in rows] == ids[::-1][:4]  # newest first, across two pages
    assert calls[:2] == ["list", "list"]
    assert [row["id"] for row in oldest] == [ids[3]]


def test_list_prints_a_table_and_says_when_there_is_nothing(base_url: str, tmp_path: Path) -> None:
    user = f"cli-table-{uuid.uuid4().hex[:8]}"
    image = upload(base_url, png_file(tmp_path)[0], "--user", user, "-t", "one", "-t", "two")

    table = imgapi(base_url, "list", "--user", user)
    empty = imgapi(base_url, "list", "--user", f"{user}-nobody")

    header, row = (line.rstrip() for line in table.stdout.splitlines())
    assert header.split() == ["id", "user", "name", "type", "pixels", "size", "created", "(UTC)", "tags"]
    assert row.split()[:6] == [image["id"], user, "photo.png", "png", "40x30", f"{image['size']}"]
    assert row.endswith("one, two")
    assert (empty.exit_code, empty.stdout) == (0, "no images\n")


def test_view_prints_the_metadata_and_saves_the_bytes(base_url: str, tmp_path: Path) -> None:
    path, data = png_file(tmp_path)
    image = upload(base_url, path, "--user", "cli-view", "-d", "a view")
    copy = tmp_path / "saved.png"

    result = imgapi(base_url, "view", image["id"], "-o", str(copy))

    assert result.exit_code == 0, result.stderr
    lines = {label: value.strip() for label, _, value in (line.partition(" ") for line in result.stdout.splitlines())}
    assert {k: lines[k] for k in ("id", "user", "description", "type", "pixels", "status")} == {
        "id": image["id"],
        "user": "cli-view",
        "description": "a view",
        "type": "image/png",
        "pixels": "40x30",
        "status": "ready",
    }
    assert lines["url"].startswith("http")
    assert lines["saved"] == f"to {copy}"
    assert copy.read_bytes() == data


def test_an_unknown_id_is_one_line_with_code_and_request_id(base_url: str) -> None:
    result = imgapi(base_url, "--api-key", "sekrit-key-1", "view", "no-such-image")

    assert result.exit_code == 1
    assert result.stderr.startswith("error NOT_FOUND: ")
    assert " (request id " in result.stderr
    assert result.stderr.count("\n") == 1
    assert "sekrit-key-1" not in result.stderr + result.stdout


def test_an_api_that_does_not_answer_gets_a_hint() -> None:
    result = CliRunner().invoke(main.cli, ["list"], env={"IMGAPI_URL": "http://127.0.0.1:9"})

    assert result.exit_code == 1
    assert result.stderr == (
        "error UNREACHABLE: cannot reach http://127.0.0.1:9 (IMGAPI_URL): start the local server with "
        "`make dev` (or LocalStack with `make run`), or give --url / IMGAPI_URL\n"
    )


# ---- edit ------------------------------------------------------------------------------------


def test_edit_sets_adds_and_removes(base_url: str, tmp_path: Path) -> None:
    image = upload(base_url, png_file(tmp_path)[0], "--user", "cli-edit", "-t", "old")

    set_both = answers(imgapi(base_url, "edit", image["id"], "-d", "new words", "-t", "a", "-t", "B", "--json"))
    relative = imgapi(base_url, "edit", image["id"], "--add-tag", "C", "--remove-tag", "a")

    assert (set_both["description"], set_both["tags"]) == ("new words", ["a", "b"])
    assert (relative.exit_code, relative.stdout) == (0, f'edited {image["id"]}: description "new words", tags b, c\n')


def meanwhile(monkeypatch: pytest.MonkeyPatch, base_url: str, change: dict[str, Any]) -> None:
    """Another client makes `change` between the CLI's read of the image and its first PATCH."""
    original = Client.call
    done: list[bool] = []

    def racing(self: Client, name: str, **kwargs: Any) -> requests.Response:
        if name == "edit" and not done:
            done.append(True)
            url = f"{base_url}/images/{kwargs['image_id']}"
            etag = requests.get(url, timeout=30).headers["ETag"]
            assert requests.patch(url, json=change, headers={"If-Match": etag}, timeout=30).status_code == 200
        return original(self, name, **kwargs)

    monkeypatch.setattr(Client, "call", racing)


def test_a_new_description_is_not_forced_over_a_change_made_meanwhile(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload(base_url, png_file(tmp_path)[0], "--user", "cli-stale")
    meanwhile(monkeypatch, base_url, {"description": "theirs"})

    result = imgapi(base_url, "edit", image["id"], "-d", "mine")

    assert result.exit_code == 1
    assert result.stderr.startswith("error PRECONDITION_FAILED: ")
    assert answers(imgapi(base_url, "view", image["id"], "--json"))["description"] == "theirs"


def test_an_added_tag_is_added_to_the_new_version(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload(base_url, png_file(tmp_path)[0], "--user", "cli-retry", "-t", "first")
    meanwhile(monkeypatch, base_url, {"tags": ["first", "theirs"]})

    answer = answers(imgapi(base_url, "edit", image["id"], "--add-tag", "mine", "--json"))

    assert answer["tags"] == ["first", "theirs", "mine"]


def test_edit_needs_something_to_change(base_url: str) -> None:
    result = imgapi(base_url, "edit", "some-id")

    assert result.exit_code == 2
    assert "nothing to change" in result.stderr


# ---- delete ----------------------------------------------------------------------------------


def test_delete_one_then_several(base_url: str, tmp_path: Path) -> None:
    one, two, three = (upload(base_url, png_file(tmp_path)[0], "--user", "cli-delete")["id"] for _ in range(3))

    single = imgapi(base_url, "delete", one)
    several = imgapi(base_url, "delete", two, three, one, "--json")

    assert (single.exit_code, single.stdout) == (0, f"deleted {one}\n")
    assert several.exit_code == 1  # `one` is gone already
    answer = json.loads(several.stdout)
    assert (answer["deleted"], answer["failed"]) == (2, 1)
    assert [(r["id"], r["status"], r["code"]) for r in answer["results"]] == [
        (two, 200, "DELETED"),
        (three, 200, "DELETED"),
        (one, 404, "NOT_FOUND"),
    ]
    assert imgapi(base_url, "view", two).exit_code == 1


def test_delete_of_no_ids_deletes_nothing_and_says_so(base_url: str, calls: list[str]) -> None:
    """`imgapi delete $(imgapi list ... --json | ...)` once the list is empty: not click's usage error."""
    plain = imgapi(base_url, "delete")
    as_json = imgapi(base_url, "delete", "--json")

    assert (plain.exit_code, plain.stdout, plain.stderr) == (0, "", "nothing to delete: no id given\n")
    assert (as_json.exit_code, json.loads(as_json.stdout)) == (0, {"results": [], "deleted": 0, "failed": 0})
    assert calls == []


def test_delete_sends_a_hundred_ids_a_request(base_url: str, calls: list[str]) -> None:
    ids = [str(uuid.uuid4()) for _ in range(101)]

    result = imgapi(base_url, "delete", *ids)

    assert result.exit_code == 1
    assert calls == ["delete_many", "delete_many"]
    assert result.stdout == "deleted 0, failed 101\n"
    assert result.stderr.splitlines()[0] == f"{ids[0]}: error NOT_FOUND: No image with this id (status 404)"


# ---- seed ------------------------------------------------------------------------------------


def test_seed_uploads_varied_images(base_url: str) -> None:
    result = imgapi(base_url, "seed", "--count", "5", "--json")

    assert result.exit_code == 0, result.stderr
    assert result.stderr == "uploaded 5, duplicates 0, failed 0\n"
    seeded = json.loads(result.stdout)
    assert len({image["id"] for image in seeded}) == 5
    assert {image["user"] for image in seeded} == {"alice", "bob", "carol", "dave"}
    assert len({image["content_type"] for image in seeded}) >= 3
    assert all(image["status"] == "ready" and image["description"] for image in seeded)


def test_seed_names_no_user_when_a_token_does(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str | None] = []

    def send(client: Client, limit: object, upload: main.uploads.Upload, progress: object = None) -> dict[str, Any]:
        sent.append(upload.user)
        return {"id": str(uuid.uuid4())}

    monkeypatch.setattr(main.uploads, "send", send)

    result = imgapi(base_url, "--token", "a.signed.token", "seed", "-n", "3")

    assert (result.exit_code, result.stdout) == (0, "uploaded 3, duplicates 0, failed 0\n")
    assert sent == [None, None, None]


# ---- where it aims ---------------------------------------------------------------------------


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The build/ files imgapi reads, in a folder of the test's own."""
    for name, file in (
        ("LOCAL_SERVER_STATE", "local-server.json"),
        ("DEPLOYED_URL", "base_url"),
        ("DEPLOYED_KEY", "api_key"),
    ):
        monkeypatch.setattr(client_module, name, tmp_path / file)
    return tmp_path


def test_a_url_given_wins(build: Path) -> None:
    (build / "base_url").write_text("http://deployed/dev\n")
    assert locate("http://given/", "--url", "k", None) == Target("http://given", "--url", "k")


def test_a_running_local_server_comes_before_the_deployed_api(build: Path) -> None:
    (build / "base_url").write_text("http://deployed/dev\n")
    (build / "api_key").write_text("deployed-key\n")
    (build / "local-server.json").write_text(json.dumps({"base_url": "http://127.0.0.1:3000", "pid": os.getpid()}))

    target = locate(None, "--url", None, "tok")

    assert (target.base_url, target.api_key, target.token) == ("http://127.0.0.1:3000", None, "tok")


def test_a_stopped_local_server_leaves_the_deployed_api_and_its_key(build: Path) -> None:
    (build / "base_url").write_text("http://deployed/dev\n")
    (build / "api_key").write_text("deployed-key\n")
    (build / "local-server.json").write_text(json.dumps({"base_url": "http://127.0.0.1:3000", "pid": 2**22 + 1}))

    target = locate(None, "--url", None, None)

    assert (target.base_url, target.api_key) == ("http://deployed/dev", "deployed-key")
    assert "deployed-key" not in repr(target)
    assert locate(None, "--url", "mine", None).api_key == "mine"


def test_nothing_to_call_says_how_to_start_one(build: Path) -> None:
    with pytest.raises(NoApiError, match="make dev"):
        locate(None, "--url", None, None)


def test_help_says_where_it_aims() -> None:
    result = CliRunner().invoke(main.cli, ["--help"])
    assert "IMGAPI_URL" in result.stdout
    assert "build/local-server.json" in result.stdout
    assert "build/base_url" in result.stdout


# ---- the contract ----------------------------------------------------------------------------


def document() -> dict[str, Any]:
    return dict(json.loads((ROOT / "openapi.json").read_text()))


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its $ref followed, and a nullable one (anyOf [x, null]) taken as x."""
    while True:
        if "$ref" in schema:
            reference, schema = schema["$ref"], spec
            for part in reference.split("/")[1:]:
                schema = schema[part]
        elif "anyOf" in schema:
            schema = next(option for option in schema["anyOf"] if option.get("type") != "null")
        else:
            return schema


def field_exists(spec: dict[str, Any], schema: dict[str, Any], path: str) -> bool:
    """Whether a dotted path (operations.py: "a.b", "a[].b", "[].a") names a property of the schema."""
    for part in path.replace("[]", ".[]").strip(".").split("."):
        schema = resolve(spec, schema)
        if part == "[]":
            if schema.get("type") != "array":
                return False
            schema = schema["items"]
        elif part in schema.get("properties", {}):
            schema = schema["properties"][part]
        else:
            return False
    return True


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_request_the_cli_makes_is_in_openapi_json(name: str) -> None:
    spec = document()
    operation = OPERATIONS[name]
    declared = spec["paths"].get(operation.path, {}).get(operation.method.lower())
    assert declared is not None, f"{operation.method} {operation.path} is not in openapi.json"
    parameters = {(p["in"], p["name"]) for p in declared.get("parameters", [])}

    assert {("query", q) for q in operation.query} <= parameters
    assert {("header", h) for h in operation.headers} <= parameters
    if operation.body:
        assert operation.body_type in (FORM, JSON)
        body = resolve(spec, declared["requestBody"]["content"][operation.body_type]["schema"])
        assert set(operation.body) <= set(body["properties"]), "a body field the API does not declare"
    successes = [declared["responses"].get(str(status)) for status in operation.success]
    assert None not in successes, f"a success status of {name} is not declared"
    schemas = [success["content"]["application/json"]["schema"] for success in successes]
    unread = [field for field in operation.reads if not any(field_exists(spec, s, field) for s in schemas)]
    assert unread == [], f"{name} reads fields its success answers do not declare"


def test_the_contract_check_catches_an_undeclared_field() -> None:
    spec = document()
    listing = spec["paths"]["/list"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert field_exists(spec, listing, "[].id")
    assert not field_exists(spec, listing, "[].no_such_field")
    assert not field_exists(spec, listing, "id")


def test_the_client_sends_only_what_the_table_declares() -> None:
    client = Client(Target("http://127.0.0.1:9", "--url"))
    with pytest.raises(AssertionError, match="does not declare"):
        client.call("list", query={"limit": 1, "sort": "name"})
