"""deploy.sh and deploy/stack.sh refuse a bad setting before they change anything (exit 2).

The AWS CLI they call is a stand-in that writes down every call it gets: a refusal
must leave it uncalled (deploy.sh) or only asked to read (stack.sh reads the stack's
current parameters, against which the rules between settings are checked).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def fake_cli(tmp_path: Path) -> tuple[str, Path]:
    calls = tmp_path / "calls"
    cli = tmp_path / "fake-aws"
    cli.write_text(f'#!/bin/sh\necho "$*" >> {calls}\necho 123456789012\n')
    cli.chmod(0o755)
    return str(cli), calls


def run(
    script: str, *args: str, env: dict[str, str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    cli, calls = fake_cli(tmp_path)
    clean = {k: v for k, v in os.environ.items() if k not in ("AUTH", "VISIBILITY", "AWS_ENDPOINT_URL")}
    result = subprocess.run(
        ["bash", script, *args],
        cwd=ROOT,
        env={**clean, "AWS_CLI": cli, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--visibility", "Private"], {}, "VISIBILITY='Private'"),
        (["--auth", "JWT"], {}, "AUTH='JWT'"),
        ([], {"AUTH": "JWT"}, "AUTH='JWT'"),
        ([], {"MAX_UPLOAD_BYTES": "abc"}, "MAX_UPLOAD_BYTES='abc'"),
        ([], {"VARIANT_SIZES": "128, 256"}, "VARIANT_SIZES='128, 256'"),
        (["--visibility", "private"], {}, "VISIBILITY must be shared unless AUTH=jwt"),
        (["--auth", "jwt"], {}, "JWT_ISSUER must be set on AWS"),  # AWS_CLI=aws: the dev issuer stays home
        ([], {"API_RATE_LIMIT": "fast"}, "API_RATE_LIMIT='fast'"),
    ],
)
def test_deploy_sh_refuses_before_any_call(tmp_path: Path, args: list[str], env: dict[str, str], named: str) -> None:
    result, calls = run("deploy.sh", *args, env=env, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"deploy.sh: {named}")
    assert result.stderr.rstrip().endswith("nothing was changed")
    assert len(result.stderr.strip().splitlines()) == 1
    assert calls == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["Visibility=Private"], "Visibility='Private' (VISIBILITY) must be one of shared, private"),
        (["MaxUploadBytes=abc"], "MaxUploadBytes='abc' (MAX_UPLOAD_BYTES) must be a whole number"),
        (["Visibility=private"], "VISIBILITY must be shared unless AUTH=jwt"),
        (["LogRetentionDays=0"], "LogRetentionDays='0' must be a whole number, at least 1"),
        (["Nonsense=1"], "Nonsense is not a parameter of template.yaml"),
    ],
)
def test_stack_sh_refuses_having_only_read(tmp_path: Path, args: list[str], named: str) -> None:
    result, calls = run("deploy/stack.sh", "deploy", *args, env={}, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"deploy/stack.sh: {named}")
    reads = {("sts", "get-caller-identity"), ("configure", "get"), ("cloudformation", "describe-stacks")}
    assert {tuple(call.split()[:2]) for call in calls} <= reads
    assert ("cloudformation", "describe-stacks") in {tuple(call.split()[:2]) for call in calls}


def test_stack_sh_checks_a_change_against_the_stacks_current_parameters(tmp_path: Path) -> None:
    """Visibility=private alone is right for a stack that has Auth=jwt already: the check reads it."""
    from deploy.configuration import check_parameters
    from deploy.template import parameters

    assert check_parameters({"Auth": "jwt"}, {"Visibility": "private"}, parameters()) == []
    assert check_parameters({"Auth": "none"}, {"Visibility": "private"}, parameters()) != []
    assert check_parameters({}, {"Auth": "jwt", "Visibility": "private", "ListingShards": "4"}, parameters()) == []
