"""`make inspect` (python -m ops.inspect): the awslocal commands of the docs against whichever store runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import get_settings
from tests.e2e.client import Target
from tests.images import image_bytes

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]


def test_inspect_shows_the_commands_and_what_they_find(target: Target) -> None:
    image = target.request("POST", "/upload", files={"file": ("i.png", image_bytes())}, data={"user": "inspect"})
    image_id = image.json()["id"]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": target.aws_endpoint or "",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ops.inspect"], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
        )
    finally:
        target.delete(f"/delete/{image_id}")

    assert result.returncode == 0, result.stderr
    settings = get_settings()
    assert (
        f"$ AWS_ENDPOINT_URL={target.aws_endpoint} awslocal s3 ls s3://{settings.bucket} --recursive" in result.stdout
    )
    assert f"{image_id}.png" in result.stdout
    assert (
        f"$ AWS_ENDPOINT_URL={target.aws_endpoint} awslocal dynamodb scan --table-name {settings.table}"
        in result.stdout
    )
    assert "deprecat" not in result.stdout.lower() + result.stderr.lower()
