"""app.models: the rules of every field, as the models hold them (the routes hand them what they parsed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.models import DirectUploadRequest, UploadForm, is_user_name


def refusal(values: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        UploadForm.model_validate({"user": "bob", **values})
    [error] = refused.value.errors()
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


@pytest.mark.parametrize("text", ["tab\tand\nnewline\r\n", "שלום", "🌍", ""])
def test_a_description_may_hold_any_unicode(text: str) -> None:
    assert UploadForm.model_validate({"user": "bob", "description": text}).description == text


@pytest.mark.parametrize("text", ["nul\x00", "bell\x07", "del\x7f", "c1\x85"])
def test_a_description_refuses_control_characters(text: str) -> None:
    assert refusal({"description": text}) == "description: must not contain control characters"


def test_tags_are_trimmed_lowered_and_deduplicated_in_order() -> None:
    form = UploadForm.model_validate({"user": "bob", "tags": ["Cat", " dog ,CAT,bird,", "cat"]})
    assert form.tags == ["cat", "dog", "bird"]
    request = {"user": "bob", "filename": "a.png", "content_type": "image/png", "size": 1, "tags": "A, b"}
    assert DirectUploadRequest.model_validate(request).tags == ["a", "b"]


def test_tag_entries_are_counted_before_any_is_looked_at() -> None:
    assert UploadForm.model_validate({"user": "bob", "tags": ["a," * 99 + "a"]}).tags == ["a"]  # 100 entries
    for values in (["a," * 100 + "a"], ["a"] * 101, ["a," * 50, "a," * 50]):
        assert refusal({"tags": values}) == "tags: at most 10 tags (and 100 entries)"
    assert refusal({"tags": [f"t{n}" for n in range(11)]}) == "tags: at most 10 tags, got 11"


def test_a_bad_tag_is_quoted_as_json_not_as_a_python_repr() -> None:
    message = "tags: tag \"bad\\u0001tag\" must be 1-50 letters, digits, '_', '-' or '.'"
    assert refusal({"tags": ["ok", "bad\x01tag"]}) == message


def test_tags_of_the_wrong_type_are_refused() -> None:
    assert refusal({"tags": [1, 2]}) == "tags: must be a list of strings or one comma-separated string"


@pytest.mark.parametrize("name", ["alice\n", "alice\r", "\nalice", "ali ce", "", "a" * 65, "alice\x00"])
def test_a_user_name_is_one_rule_taken_whole_from_forms_json_and_tokens(name: str) -> None:
    assert not is_user_name(name)  # tokens (app/identity.py)
    with pytest.raises(ValidationError):
        UploadForm.model_validate({"user": name})  # forms
    with pytest.raises(ValidationError):
        DirectUploadRequest.model_validate({"user": name, "filename": "a.png", "content_type": "image/png", "size": 1})
    assert is_user_name("alice.b-c_1")


def test_patterns_are_matched_whole_in_the_code() -> None:
    """`re.match` with `$` takes "alice\\n" (`$` matches before a final newline): the code uses fullmatch."""
    root = Path(__file__).parents[2] / "app"
    halfway = [str(path) for path in root.rglob("*.py") if re.search(r"(_RE|re|pattern)\.match\(", path.read_text())]
    assert halfway == []
