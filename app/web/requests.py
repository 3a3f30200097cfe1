"""Reading a request: its body whichever way API Gateway encoded it, a multipart form, a JSON body, parameters.

Whatever a client gets wrong here is an InvalidInputError (or FileTooLargeError)
with the code that names it; the models of app/models.py hold the field rules.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, ValidationError

from app.errors import FileTooLargeError, InvalidInputError
from app.models import TAG_FILTER_PATTERN, TAG_PATTERN, USER_PATTERN
from app.v1_models import DATE_PATTERN, V1_USER_PATTERN
from app.web import multipart

Model = TypeVar("Model", bound=BaseModel)


def raw_body(event: BaseProxyEvent) -> bytes:
    """The request body as bytes, whichever way API Gateway encoded it."""
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise InvalidInputError("the body is not valid base64", "MALFORMED_BODY") from exc
    # Without binary media types API Gateway hands over text decoded as UTF-8.
    return body.encode("utf-8")


def multipart_form(event: BaseProxyEvent, model: type[Model], file_limit: int) -> tuple[Model, multipart.Part]:
    """The form's text fields as `model` (repeatable fields as lists), and its `file` part."""
    parts = _parse_multipart(event, {"file": file_limit})
    repeatable = {name for name, info in model.model_fields.items() if _is_list(info.annotation)}
    single: dict[str, multipart.Part] = {}
    for part in parts:
        if part.name in single and part.name not in repeatable:
            raise InvalidInputError(f"{part.name} is given more than once", "DUPLICATE_FIELD")
        single[part.name] = part
    file_part = single.pop("file", None)
    if file_part is None:
        raise InvalidInputError("file is required (send it as -F file=@path)", "MISSING_FIELD")
    values: dict[str, Any] = {name: _text(part) for name, part in single.items() if name not in repeatable}
    for name in repeatable:
        given = [_text(part) for part in parts if part.name == name]
        if given:
            values[name] = given
    return validated(model, values), file_part


def json_body(event: BaseProxyEvent, model: type[Model]) -> Model:
    """The body as `model`. Parsed here rather than by Powertools, whose multipart parsing of a
    JSON route's body answers a 500 when a client sends multipart without a boundary."""
    mime = (event.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if mime != "application/json":
        raise InvalidInputError("send the request body as application/json", "NOT_JSON")
    try:
        return model.model_validate_json(raw_body(event) or b"null")
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            raise InvalidInputError("the request body is not valid JSON", "NOT_JSON") from exc
        raise invalid(exc.errors()) from exc


def base64_file(encoded: str, limit: int) -> bytes:
    """A file sent as base64 text (standard alphabet; line breaks and a `data:...;base64,` prefix allowed)."""
    if encoded.startswith("data:") and ";base64," in encoded[:200]:  # a browser's FileReader.readAsDataURL
        encoded = encoded.split(",", 1)[1]
    compact = "".join(encoded.split())
    if len(compact) * 3 // 4 > limit + 2:  # too large, known without decoding
        raise FileTooLargeError(f"file is larger than {limit} bytes")
    try:
        data = base64.b64decode(compact, validate=True)
    except binascii.Error as exc:
        raise InvalidInputError("file is not valid base64", "INVALID_BASE64") from exc
    if not data:
        raise InvalidInputError("file is empty", "EMPTY_FILE")
    if len(data) > limit:
        raise FileTooLargeError(f"file is larger than {limit} bytes")
    return data


def validated(model: type[Model], values: Mapping[str, Any]) -> Model:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise invalid(exc.errors()) from exc


def refuse_repeated_parameters(event: BaseProxyEvent) -> None:
    """`?tag=a&tag=b` would silently mean only one of them; say so instead."""
    repeated = sorted(k for k, v in (event.multi_value_query_string_parameters or {}).items() if len(v) > 1)
    if repeated:
        raise InvalidInputError(f"{', '.join(repeated)}: given more than once", "INVALID_PARAMETER")


def invalid(errors: Sequence[Any], code: str | None = None) -> InvalidInputError:
    """One InvalidInputError for pydantic's errors: each field named, MISSING_FIELD when one is missing."""
    missing = any(error.get("type") == "missing" for error in errors)
    return InvalidInputError(_message_of(errors), code or ("MISSING_FIELD" if missing else "INVALID_FIELD"))


# What each pattern a field is checked against means, in words: pydantic's own message is the regex.
PATTERN_WORDS = {
    USER_PATTERN: "must be 1 to 64 letters, digits, '_', '.' or '-'",
    TAG_PATTERN: "must be 1 to 50 lower-case letters, digits, '_', '.' or '-'",
    TAG_FILTER_PATTERN: "must be 1 to 50 letters, digits, '_', '.' or '-'",
    V1_USER_PATTERN: "must be 3 to 50 letters, digits, '_' or '-'",
    DATE_PATTERN: "must be a date as YYYY-MM-DD",
}
# Pydantic's messages that speak of Python's types rather than of what to send.
TYPE_WORDS = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
}


def _message_of(errors: Sequence[Any]) -> str:
    def one(error: Any) -> str:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        name = ".".join(location).replace("from_", "from") or "request"
        kind = error.get("type")
        if kind == "string_pattern_mismatch":
            words = PATTERN_WORDS.get(str((error.get("ctx") or {}).get("pattern")), "is not in the form it must have")
            return f"{name}: {words}"
        return f"{name}: {TYPE_WORDS.get(kind) or error.get('msg', 'is invalid')}"

    return "; ".join(one(error) for error in errors)


def _parse_multipart(event: BaseProxyEvent, limits: dict[str, int]) -> list[multipart.Part]:
    try:
        return multipart.parse(event.headers.get("content-type"), raw_body(event), limits)
    except multipart.NotMultipartError as exc:
        raise InvalidInputError(f"{exc} (send the form with curl -F or a browser form)", "NOT_MULTIPART") from exc
    except multipart.PartTooLargeError as exc:
        if exc.name in limits:
            raise FileTooLargeError(f"{exc.name} is larger than {exc.limit} bytes") from exc
        raise InvalidInputError(f"{exc.name} is too long", "FIELD_TOO_LONG") from exc
    except multipart.MultipartError as exc:
        raise InvalidInputError(str(exc), "MALFORMED_MULTIPART") from exc


def _text(part: multipart.Part) -> str:
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{part.name} is not UTF-8 text", "INVALID_FIELD") from exc


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list
