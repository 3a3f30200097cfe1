"""app.logic.files: type sniffing, file names made safe, Content-Disposition."""

from __future__ import annotations

import pytest

from app.logic import files
from tests.images import FORMATS, image_bytes


@pytest.mark.parametrize(("fmt", "mime", "extension"), FORMATS)
def test_sniff_recognises_every_accepted_format(fmt: str, mime: str, extension: str) -> None:
    kind = files.sniff(image_bytes(fmt)[: files.SNIFF_BYTES])
    assert kind is not None
    assert (kind.mime, kind.extension) == (mime, extension)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",  # too short to be a JPEG
        b"GIF88a....",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"<svg/onload=alert(1)>",
        b"%PDF-1.7",
        b"BM\x00\x00",  # BMP is not accepted
        b"\x00\x00\x01\x00",  # ICO
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",  # MP4 video: an ISO file, no image brand
        b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ",  # QuickTime
    ],
)
def test_sniff_refuses_everything_else(data: bytes) -> None:
    assert files.sniff(data) is None


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        (None, ""),
        ("", ""),
        ("cat.png", "cat.png"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Pictures\\cat.png", "cat.png"),
        ("a\x00b\x1fc.png", "abc.png"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("  spaced.png  ", "spaced.png"),
        ("..", ""),
        ("x" * 300 + ".png", "x" * 255),
        ("cafe\u0301.png", "café.png"),  # NFC
        ("صورة.png", "صورة.png"),
    ],
)
def test_clean_original_name(name: str | None, clean: str) -> None:
    assert files.clean_original_name(name) == clean


@pytest.mark.parametrize(
    ("name", "download", "header"),
    [
        ("cat.png", False, 'inline; filename="cat.png"'),
        ("cat.png", True, 'attachment; filename="cat.png"'),
        ('a"b;c.png', True, "attachment; filename=\"a_b_c.png\"; filename*=utf-8''a%22b%3Bc.png"),
        ("Été.png", True, "attachment; filename=\"Ete.png\"; filename*=utf-8''%C3%89t%C3%A9.png"),
        ("写真.jpg", False, "inline; filename=\".jpg\"; filename*=utf-8''%E5%86%99%E7%9C%9F.jpg"),
        ("", True, 'attachment; filename="id.png"'),
    ],
)
def test_content_disposition_follows_rfc_6266(name: str, download: bool, header: str) -> None:
    assert files.content_disposition(name, "id.png", download) == header


def test_the_accepted_names_are_the_accepted_types() -> None:
    from app.errors import ACCEPTED_NAMES

    names = ACCEPTED_NAMES.replace(" or ", ", ").split(", ")
    assert [name.lower() for name in names] == list(files.TYPES)
