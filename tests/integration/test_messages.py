"""A refusal says what to send in words, never a regular expression or a Python type: through the handler,
on every face that checks a pattern (a form, a query, JSON, /v1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.web.requests import PATTERN_WORDS
from tests.integration.lambda_client import call, upload

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (
            lambda: upload("user=bad user!", "file=@sample.png"),
            "INVALID_FIELD",
            "user: must be 1 to 64 letters, digits, '_', '.' or '-'",
        ),
        (
            lambda: call("GET", "/list", query={"user": "bad user"}),
            "INVALID_PARAMETER",
            "user: must be 1 to 64 letters, digits, '_', '.' or '-'",
        ),
        (
            lambda: call("GET", "/list", query={"tag": "a b"}),
            "INVALID_PARAMETER",
            "tag: must be 1 to 50 letters, digits, '_', '.' or '-'",
        ),
        (lambda: call("GET", "/list", query={"limit": "ten"}), "INVALID_PARAMETER", "limit: must be a whole number"),
        (
            lambda: call("GET", "/v1/images", query={"user_id": "al"}),
            "INVALID_PARAMETER",
            "user_id: must be 3 to 50 letters, digits, '_' or '-'",
        ),
        (
            lambda: call("GET", "/v1/images", query={"user_id": "alice", "start_date": "12/03/2026"}),
            "INVALID_PARAMETER",
            "start_date: must be a date as YYYY-MM-DD",
        ),
    ],
)
def test_a_bad_value_is_refused_in_words(aws: dict[str, Any], reply: Any, code: str, message: str) -> None:
    answer = reply()
    body = answer.json()
    assert answer.status == 400
    assert body["code"] == code
    text = body.get("message", body.get("error"))  # /v1's error body carries its words in "message"
    assert text == message


def test_every_pattern_a_field_is_checked_against_has_words() -> None:
    """A new `pattern=` without words would answer users with the regex again."""
    import app.models
    import app.v1_models

    names = set()
    for path in (ROOT / "app").rglob("*.py"):
        names |= set(re.findall(r"pattern=([A-Z_]+_PATTERN)\b", path.read_text()))
    assert names
    patterns = {name: getattr(app.models, name, None) or getattr(app.v1_models, name) for name in names}
    assert {name for name, pattern in patterns.items() if pattern not in PATTERN_WORDS} == set()
