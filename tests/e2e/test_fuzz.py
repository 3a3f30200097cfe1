"""Schemathesis against the committed OpenAPI document: over 1,000 generated requests.

Fails on any 5xx, and on any answer the document does not describe (status,
Content-Type, body schema). Runs against the local server (make test); set
FUZZ_ANY_TARGET=1 to aim it at LocalStack or AWS too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.client import Target

pytestmark = pytest.mark.e2e
DOCUMENT = Path(__file__).parents[2] / "openapi.json"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))  # per operation and phase: about 1,300 requests


def test_generated_requests_get_documented_answers(target: Target, tmp_path: Path) -> None:
    if target.s3_notifies and os.environ.get("FUZZ_ANY_TARGET") != "1":
        pytest.skip("fuzzing runs against the local server (FUZZ_ANY_TARGET=1 for this target)")
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        str(DOCUMENT),
        "--url",
        target.base_url,
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        os.environ.get("FUZZ_SEED", "20261123"),
        "--no-color",
    ]
    for name, value in target.key_header.items():
        command += ["--header", f"{name}: {value}"]

    result = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=tmp_path)

    print(result.stdout[-4000:])
    generated = re.search(r"(\d+) generated", result.stdout)
    assert result.returncode == 0, result.stdout[-4000:]
    assert generated is not None
    assert int(generated.group(1)) >= 1000
