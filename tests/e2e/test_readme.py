"""The README's own blocks, run as printed, twice (a user runs them again): Try it, and imgapi's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.client import Target, doc_block, run_doc_lines

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def lines_of(heading: str) -> list[str]:
    """The block's lines, but its `BASE=...` one: the test sets BASE to the target, as the reader would."""
    return [line for line in doc_block("README.md", heading).splitlines() if not line.startswith("BASE=")]


def test_try_it_works_as_printed_twice(open_target: Target) -> None:
    lines = lines_of("## Try it")
    curls = [line for line in lines if line.startswith("curl ")]
    printing = [line for line in curls if "-w '\\n'" in line]
    assert len(printing) == 5
    assert all(" -o " not in line for line in printing)
    for run in range(2):
        result = run_doc_lines(open_target, "set -euo pipefail", *lines)

        assert result.returncode == 0, result.stderr
        # Each answer ends its own line: one JSON document a line, and nothing runs into the prompt.
        assert result.stdout.endswith("\n")
        answers = [json.loads(line) for line in result.stdout.splitlines()]
        uploaded, listed, viewed, as_json, deleted = answers
        assert uploaded["user"] == "alice", uploaded
        assert uploaded["tags"] == ["demo"], uploaded
        assert uploaded.get("duplicate") is not True, f"run {run}: the first upload is a new image"
        assert any(image["id"] == uploaded["id"] for image in listed), listed
        assert viewed["id"] == uploaded["id"], viewed
        assert viewed["url"].startswith("http"), viewed
        assert any(image["image_id"] == uploaded["id"] for image in as_json["images"]), as_json
        assert deleted["deleted"] == uploaded["id"], deleted
        variant = ROOT / "variant.webp"
        assert variant.read_bytes()[8:12] == b"WEBP"
        variant.unlink()


SEEDED = ("alice", "bob", "carol", "dave")  # the users imgapi seed uploads for


def images_of(target: Target) -> set[str]:
    pages = [target.get("/list", params={"user": user, "limit": "1000"}).json() for user in SEEDED]
    return {image["id"] for page in pages for image in page}


def test_imgapi_works_as_printed_twice(open_target: Target) -> None:
    lines = lines_of("## Command-line client")
    os.environ.pop("IMGAPI_API_KEY", None)
    before = images_of(open_target)
    try:
        for _ in range(2):
            script = ["set -euo pipefail", f"export IMGAPI_URL={open_target.base_url}", *lines]
            result = run_doc_lines(open_target, *script)

            assert result.returncode == 0, result.stderr
            assert "error" not in result.stderr.lower(), result.stderr
            assert (ROOT / "build" / "imgapi-copy.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    finally:  # what the lines stored (alice's sample.png among them) would be another test's duplicate
        for image_id in images_of(open_target) - before:
            open_target.delete(f"/delete/{image_id}")
