"""The lines printed after a start (deploy.sh, make dev) are the README's Try it, as it prints them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import load
from deploy import resources
from deploy.resources import TRY_IT, usage

README = (Path(__file__).parents[2] / "README.md").read_text()


def readme_try_it() -> list[str]:
    block = README[README.index("## Try it") :].split("```bash\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def test_the_readme_shows_the_lines_a_start_prints() -> None:
    first, *rest = readme_try_it()
    assert first.startswith("BASE=http://127.0.0.1:3000")
    assert rest == list(TRY_IT)


def test_every_answer_ends_its_line() -> None:
    """A JSON answer without a final newline runs into the prompt: each curl that prints one ends it."""
    for line in TRY_IT:
        if line.startswith("curl ") and " -o " not in line:
            assert line.startswith("curl -s -w '\\n' "), line


def test_usage_without_credentials_is_the_readme_block_and_make_inspect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "get_settings", lambda: load({}))
    printed = usage("http://127.0.0.1:3000").splitlines()
    assert printed[1:9] == [f"  {line}" for line in ["BASE=http://127.0.0.1:3000", *TRY_IT]]
    assert printed[-1] == "  make inspect"


def test_usage_with_a_key_sends_it_on_every_curl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "get_settings", lambda: load({}))
    printed = usage("http://x", "$(cat build/api_key)").splitlines()
    assert "  KEY=$(cat build/api_key)" in printed
    curls = [line for line in printed if "curl " in line]
    assert len(curls) == len(TRY_IT)
    assert all('curl -s -H "x-api-key: $KEY"' in line for line in curls)


def test_usage_on_aws_names_the_commands_make_inspect_would_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "get_settings", lambda: load({}))
    printed = usage("https://api", aws_cli="aws").splitlines()
    assert printed[-2:] == ["  aws s3 ls s3://images-bucket --recursive", "  aws dynamodb scan --table-name images"]
