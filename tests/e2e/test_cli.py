"""The installed `imgapi` command over real HTTP: a user's journey, then seed, as a shell runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.client import Target
from tests.images import image_bytes, stored

pytestmark = pytest.mark.e2e
IMGAPI = Path(sys.executable).parent / "imgapi"  # the console script make venv installs


def imgapi(target: Target, *args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("IMGAPI_")}
    env |= {"IMGAPI_URL": target.base_url, "IMGAPI_API_KEY": target.api_key or ""}
    return subprocess.run([str(IMGAPI), *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def answer(target: Target, *args: str) -> Any:
    result = imgapi(target, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_upload_list_edit_view_delete(target: Target, tmp_path: Path) -> None:
    user = f"e2e-cli-{uuid.uuid4().hex[:8]}"
    data = image_bytes("PNG", size=(48, 36), color=(*os.urandom(3),))
    assert stored(data) == data  # nothing to strip: the download is these bytes
    path = tmp_path / "cli.png"
    path.write_bytes(data)

    [image] = answer(target, "upload", str(path), "--user", user, "--tag", "E2E", "--description", "from imgapi")
    listed = answer(target, "list", "--user", user)
    edited = answer(target, "edit", image["id"], "--add-tag", "edited", "--remove-tag", "e2e")
    copy = tmp_path / "copy.png"
    view = imgapi(target, "view", image["id"], "-o", str(copy))
    deleted = imgapi(target, "delete", image["id"])
    gone = imgapi(target, "view", image["id"])

    assert (image["user"], image["tags"], image["size"]) == (user, ["e2e"], len(data))
    assert [row["id"] for row in listed] == [image["id"]]
    assert (edited["tags"], edited["description"]) == (["edited"], "from imgapi")
    assert view.returncode == 0, view.stderr
    assert copy.read_bytes() == data
    assert (deleted.returncode, deleted.stdout) == (0, f"deleted {image['id']}\n")
    assert gone.returncode == 1
    assert gone.stderr.startswith("error NOT_FOUND: ")


def test_seed_then_delete_what_it_made(target: Target) -> None:
    seeded = imgapi(target, "seed", "--count", "3", "--json")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stderr == "uploaded 3, duplicates 0, failed 0\n"
    ids = [image["id"] for image in json.loads(seeded.stdout)]

    deleted = answer(target, "delete", *ids)  # leave the target as it was for the other tests

    assert (deleted["deleted"], deleted["failed"]) == (3, 0)
