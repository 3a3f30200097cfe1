"""app.web.multipart on bodies as curl, browsers and API Gateway deliver them."""

from __future__ import annotations

import tracemalloc

import pytest

from app.web import multipart
from tests.curl_form import curl_form

MIB = 1024 * 1024
CT = "multipart/form-data; boundary=XyZ"


def body(*parts: bytes, preamble: bytes = b"") -> bytes:
    return preamble + b"".join(b"--XyZ\r\n" + part + b"\r\n" for part in parts) + b"--XyZ--\r\n"


def test_curl_body_with_binary_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 16 + b"\r\n--XyZ\r\n"
    (tmp_path / "f.bin").write_bytes(data)
    content_type, raw = curl_form("user=bob", "description=hi there", "file=@f.bin", cwd=str(tmp_path))

    parts = multipart.parse(content_type, raw, {"file": MIB})

    assert [(p.name, p.filename) for p in parts] == [("user", None), ("description", None), ("file", "f.bin")]
    assert parts[0].data == b"bob"
    assert parts[1].data == b"hi there"
    assert parts[2].data == data
    assert parts[2].content_type == "application/octet-stream"


@pytest.mark.parametrize("preamble", [b"\r\n", b"\r\n\r\n", b"This is a preamble, which RFC 2046 allows.\r\n"])
def test_preamble_before_the_first_boundary(preamble: bytes) -> None:
    raw = body(b'Content-Disposition: form-data; name="user"\r\n\r\nbob', preamble=preamble)

    assert [(p.name, p.data) for p in multipart.parse(CT, raw)] == [("user", b"bob")]


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        (b'form-data; name="file"; filename="plain.png"', "plain.png"),
        (b'form-data; name="file"; filename="with \\"quotes\\".png"', 'with "quotes".png'),
        (b'form-data; filename="first.png"; name="file"', "first.png"),
        (b"form-data; name=file; filename=bare.png", "bare.png"),
        (b"form-data; name=\"file\"; filename*=UTF-8''%E2%82%AC%20rates.png", "€ rates.png"),
        ('form-data; name="file"; filename="café.png"'.encode(), "café.png"),  # raw UTF-8, as browsers send
        (b'form-data; name="file"; filename="we%22ird.png"', "we%22ird.png"),  # curl's escape, kept verbatim
        (b'form-data; name="file"; filename=""', ""),
    ],
)
def test_file_names(disposition: bytes, filename: str) -> None:
    raw = body(b"Content-Disposition: " + disposition + b"\r\nContent-Type: image/png\r\n\r\nPNG")

    (part,) = multipart.parse(CT, raw)

    assert (part.name, part.filename, part.data) == ("file", filename, b"PNG")


def test_quoted_boundary_and_case_of_the_media_type() -> None:
    raw = body(b'Content-Disposition: form-data; name="a"\r\n\r\n1')

    (part,) = multipart.parse('Multipart/Form-Data; boundary="XyZ"', raw)

    assert part.data == b"1"


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/json",
        "multipart/mixed; boundary=XyZ",
        "multipart/form-data",
        "multipart/form-data; boundary=",
    ],
)
def test_not_multipart(content_type: str | None) -> None:
    with pytest.raises(multipart.NotMultipartError):
        multipart.parse(content_type, body(b'Content-Disposition: form-data; name="a"\r\n\r\n1'))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no delimiter here",
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1',  # no closing boundary
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--XyZ\r\n',  # closing boundary missing its --
        b"--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--\r\n",  # no Content-Disposition
        b"--XyZ\r\nContent-Disposition: form-data\r\n\r\n1\r\n--XyZ--\r\n",  # no name
        b'--XyZ\r\nContent-Disposition: attachment; name="a"\r\n\r\n1\r\n--XyZ--\r\n',
        b'--XyZ\r\nContent-Disposition: form-data; name="\xff"\r\n\r\n1\r\n--XyZ--\r\n',  # header not UTF-8
        b"--XyZ\r\nno colon in this header\r\n\r\n1\r\n--XyZ--\r\n",
    ],
)
def test_malformed(raw: bytes) -> None:
    with pytest.raises(multipart.MultipartError) as error:
        multipart.parse(CT, raw)
    assert not isinstance(error.value, multipart.NotMultipartError)


def test_too_many_parts() -> None:
    raw = body(*[b'Content-Disposition: form-data; name="a"\r\n\r\n1'] * (multipart.MAX_PARTS + 1))

    with pytest.raises(multipart.MultipartError, match="parts"):
        multipart.parse(CT, raw)


def test_a_part_over_its_limit_stops_the_parse() -> None:
    raw = body(b'Content-Disposition: form-data; name="file"; filename="a"\r\n\r\n' + b"x" * 101)

    with pytest.raises(multipart.PartTooLargeError) as error:
        multipart.parse(CT, raw, {"file": 100})
    assert (error.value.name, error.value.limit) == ("file", 100)
    assert len(multipart.parse(CT, raw, {"file": 101})[0].data) == 101


def test_fields_without_a_limit_get_the_default_one() -> None:
    raw = body(b'Content-Disposition: form-data; name="description"\r\n\r\n' + b"x" * (multipart.MAX_FIELD_BYTES + 1))

    with pytest.raises(multipart.PartTooLargeError):
        multipart.parse(CT, raw)


def test_a_4_mib_file_is_parsed_without_repeated_copies() -> None:
    data = bytes(range(256)) * (4 * MIB // 256)
    raw = body(b'Content-Disposition: form-data; name="file"; filename="big"\r\n\r\n' + data)

    tracemalloc.start()
    (part,) = multipart.parse(CT, raw, {"file": 4 * MIB})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert part.data == data
    # One copy of the file and a little more; a parser that re-copied per chunk would need far more.
    assert peak < 2.2 * len(data)


# As LocalStack's API Gateway hands them over: rebuilt from a parsed form, files after
# fields, and no CRLF between the headers of an empty part and the next delimiter.
LOCALSTACK_EMPTY_FIELD = (
    b'\r\n--B\r\nContent-Disposition: form-data; name="user"\r\n\r\nx\r\n'
    b'--B\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
    b'--B\r\nContent-Disposition: form-data; name="file"; filename="notes.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    b"not an image\n\r\n--B--\r\n"
)
LOCALSTACK_TWO_EMPTY_FIELDS = (
    b'\r\n--B\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
    b'--B\r\nContent-Disposition: form-data; name="tags"\r\n\r\n'
    b'--B\r\nContent-Disposition: form-data; name="user"\r\n\r\nx\r\n--B--\r\n'
)
LOCALSTACK_EMPTY_FILE = (
    b'\r\n--B\r\nContent-Disposition: form-data; name="user"\r\n\r\nx\r\n'
    b'--B\r\nContent-Disposition: form-data; name="file"; filename="empty.txt"\r\nContent-Type: text/plain\r\n\r\n'
    b"--B--\r\n"
)


def test_empty_parts_as_localstack_rebuilds_them() -> None:
    field = multipart.parse("multipart/form-data; boundary=B", LOCALSTACK_EMPTY_FIELD)
    two = multipart.parse("multipart/form-data; boundary=B", LOCALSTACK_TWO_EMPTY_FIELDS)
    empty_file = multipart.parse("multipart/form-data; boundary=B", LOCALSTACK_EMPTY_FILE)

    assert [(p.name, p.data) for p in field] == [("user", b"x"), ("description", b""), ("file", b"not an image\n")]
    assert [(p.name, p.filename, p.data) for p in empty_file] == [("user", None, b"x"), ("file", "empty.txt", b"")]
    assert [(p.name, p.data) for p in two] == [("description", b""), ("tags", b""), ("user", b"x")]


def test_a_value_ending_in_a_blank_line_is_not_mistaken_for_an_empty_part() -> None:
    raw = body(
        b'Content-Disposition: form-data; name="a"\r\n\r\nline\r\n', b'Content-Disposition: form-data; name="b"\r\n\r\n'
    )

    assert [(p.name, p.data) for p in multipart.parse(CT, raw)] == [("a", b"line\r\n"), ("b", b"")]
