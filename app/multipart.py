"""multipart/form-data bodies into fields and files, strictly.

Framing is python-multipart's streaming parser (the one behind Starlette and
FastAPI); part headers are read with the standard library's `email` package,
which understands quoted names with escapes and RFC 5987/2231 `filename*=`.
What this module adds is strictness: a body that does not end with the closing
boundary is rejected instead of being accepted half-read, and sizes are
bounded while parsing, so a huge part is refused before it is copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

MAX_PARTS = 32
MAX_FIELD_BYTES = 64 * 1024  # any part the caller gives no limit of its own


class MultipartError(ValueError):
    """The body is not a well-formed multipart/form-data message."""


class NotMultipartError(MultipartError):
    """The request does not declare multipart/form-data with a boundary."""


class PartTooLargeError(MultipartError):
    """A part is larger than its limit (`name` says which)."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"part {name!r} is larger than {limit} bytes")
        self.name = name
        self.limit = limit


@dataclass
class Part:
    name: str
    filename: str | None  # None for a plain field; "" when a file part names no file
    content_type: str | None
    data: bytes


@dataclass
class _PartBuilder:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    name: str = ""
    filename: str | None = None
    content_type: str | None = None


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type header, or NotMultipartError."""
    mime, options = parse_options_header(content_type or "")
    if mime != b"multipart/form-data":
        raise NotMultipartError("Content-Type must be multipart/form-data")
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 70:  # RFC 2046: 1 to 70 characters
        raise NotMultipartError("multipart/form-data needs a boundary parameter of 1 to 70 characters")
    return boundary


def parse(content_type: str | None, body: bytes, limits: dict[str, int] | None = None) -> list[Part]:
    """All parts of a multipart/form-data body, in order.

    `limits` caps the size of named parts (others get MAX_FIELD_BYTES); a part
    over its cap stops the parse before more of it is copied. Raises
    NotMultipartError, PartTooLargeError or MultipartError (malformed, truncated).
    """
    limits = limits or {}
    boundary = boundary_of(content_type)
    # A preamble (LocalStack sends a CRLF, RFC 2046 allows any text) precedes
    # the first delimiter; the parser itself only skips bare newlines.
    start = body.find(b"--" + boundary)
    if start < 0:
        raise MultipartError("the body does not contain the boundary")
    parts: list[Part] = []
    current = _PartBuilder()

    def on_part_begin() -> None:
        nonlocal current
        if len(parts) >= MAX_PARTS:
            raise MultipartError(f"more than {MAX_PARTS} parts")
        current = _PartBuilder()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        current.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        current.header_value += data[start:end]

    def on_header_end() -> None:
        current.headers.append((bytes(current.header_field), bytes(current.header_value)))
        current.header_field.clear()
        current.header_value.clear()

    def on_headers_finished() -> None:
        _read_part_headers(current)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current.size += end - start
        limit = limits.get(current.name, MAX_FIELD_BYTES)
        if current.size > limit:
            raise PartTooLargeError(current.name, limit)
        current.chunks.append(data[start:end])

    def on_part_end() -> None:
        data = b"".join(current.chunks)
        parts.append(Part(current.name, current.filename, current.content_type, data))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        # The parser skips bare newlines itself; copy only to drop a text preamble.
        parser.write(body[start:] if body[:start].strip(b"\r\n") else body)
    except FormParserError as exc:
        raise MultipartError(f"malformed multipart body: {exc}") from exc
    # python-multipart's finalize() does not check that the closing boundary
    # arrived; a truncated upload must not be stored as if it were whole.
    if parser.state != MultipartState.END:
        raise MultipartError("the multipart body is truncated (no closing boundary)")
    return parts


def _read_part_headers(part: _PartBuilder) -> None:
    message = Message()
    for raw_name, raw_value in part.headers:
        try:
            # Browsers and curl send non-ASCII file names as raw UTF-8.
            message[raw_name.decode("ascii")] = raw_value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MultipartError("a part header is not valid UTF-8") from exc
    disposition = message.get("content-disposition")
    if disposition is None or message.get_content_disposition() != "form-data":
        raise MultipartError("every part needs Content-Disposition: form-data")
    name = message.get_param("name", header="content-disposition")
    if not isinstance(name, str) or not name:
        raise MultipartError("a part has no name")
    part.name = name
    has_filename = "filename" in disposition.lower()
    # get_filename() decodes RFC 2231/5987 `filename*=UTF-8''...` and unquotes `filename="..."`.
    filename = message.get_filename()
    part.filename = filename if filename is not None else ("" if has_filename else None)
    part.content_type = message.get("content-type")
