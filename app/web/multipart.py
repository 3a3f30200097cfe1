"""multipart/form-data bodies into fields and files, strictly.

Framing is python-multipart's streaming parser (the one behind Starlette and
FastAPI); part headers are read with the standard library's `email` package,
which understands quoted names with escapes and RFC 5987/2231 `filename*=`.
What this module adds is strictness: a body that does not end with the closing
boundary is rejected instead of being accepted half-read, and sizes are
bounded while parsing, so a huge part is refused before it is copied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, cast

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 32
MAX_FIELD_BYTES = 64 * 1024  # any part the caller gives no limit of its own


class MultipartError(ValueError):
    """The body is not a well-formed multipart/form-data message."""


class NotMultipartError(MultipartError):
    """The request does not declare multipart/form-data with a boundary."""


class PartTooLargeError(MultipartError):
    """A part is larger than its limit (`name` says which)."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"a part is larger than {limit} bytes")
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
    body = _restore_empty_parts(body, boundary)
    # A preamble (LocalStack sends a CRLF, RFC 2046 allows any text) precedes
    # the first delimiter; the parser itself only skips bare newlines.
    start = body.find(b"--" + boundary)
    if start < 0:
        raise MultipartError("the body does not contain the boundary")
    collector = _Collector(limits)
    parser = MultipartParser(boundary, collector.callbacks())
    try:
        # The parser skips bare newlines itself; copy only to drop a text preamble.
        parser.write(body[start:] if body[:start].strip(b"\r\n") else body)
    except FormParserError as exc:
        # python-multipart's own message describes its parser's state, not the client's mistake.
        raise MultipartError("the multipart body is malformed (a boundary or part header is broken)") from exc
    # python-multipart's finalize() does not check that the closing boundary
    # arrived; a truncated upload must not be stored as if it were whole.
    if parser.state != MultipartState.END:
        raise MultipartError("the multipart body is truncated (no closing boundary)")
    return collector.parts


class _Collector:
    """python-multipart's callbacks: each part's headers read as they end, its data bounded as it comes."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits
        self.parts: list[Part] = []
        self.current = _PartBuilder()

    def callbacks(self) -> MultipartCallbacks:
        return cast("MultipartCallbacks", {f"on_{name}": getattr(self, name) for name in _CALLBACKS})

    def part_begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise MultipartError(f"more than {MAX_PARTS} parts")
        self.current = _PartBuilder()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.current.header_field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.current.header_value += data[start:end]

    def header_end(self) -> None:
        current = self.current
        current.headers.append((bytes(current.header_field), bytes(current.header_value)))
        current.header_field.clear()
        current.header_value.clear()

    def headers_finished(self) -> None:
        _read_part_headers(self.current)

    def part_data(self, data: bytes, start: int, end: int) -> None:
        current = self.current
        current.size += end - start
        limit = self.limits.get(current.name, MAX_FIELD_BYTES)
        if current.size > limit:
            raise PartTooLargeError(current.name, limit)
        current.chunks.append(data[start:end])

    def part_end(self) -> None:
        current = self.current
        self.parts.append(Part(current.name, current.filename, current.content_type, b"".join(current.chunks)))


_CALLBACKS = ("part_begin", "header_field", "header_value", "header_end", "headers_finished", "part_data", "part_end")


def _restore_empty_parts(body: bytes, boundary: bytes) -> bytes:
    """Give back the CRLF that LocalStack's API Gateway drops after the headers of an empty part.

    LocalStack rebuilds multipart bodies from a parsed form (werkzeug's
    encode_multipart), which writes an empty field or a 0-byte file as
    `headers CRLF CRLF --boundary` instead of `headers CRLF CRLF CRLF --boundary`;
    read strictly, the empty part would swallow the parts after it. This can
    only be repaired unambiguously because a delimiter never occurs inside
    content (RFC 2046), so nothing but an empty part can start with one.
    AWS itself passes the body through untouched, and then this finds nothing.
    """
    delimiter = b"--" + boundary
    if b"\r\n\r\n" + delimiter not in body:
        return body
    # A delimiter line (at the start or after a newline, not consumed: empty parts can follow
    # one another), its header lines, the blank line, and then at once the next delimiter.
    header_block = re.compile(
        rb"(?<![^\n])(" + re.escape(delimiter) + rb"\r\n(?:[^\r\n]+\r\n)+\r\n)(?=" + re.escape(delimiter) + rb")"
    )
    return header_block.sub(rb"\1\r\n", body)


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
