"""app.images rules that need no storage: type sniffing, file names, cursors."""

from __future__ import annotations

import pytest

from app import images
from app.errors import ApiError
from tests.images import FORMATS, image_bytes


@pytest.mark.parametrize(("fmt", "mime", "extension"), FORMATS)
def test_sniff_recognises_the_four_formats(fmt: str, mime: str, extension: str) -> None:
    assert images.sniff(image_bytes(fmt)) == images.ImageType(mime, extension)


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
    ],
)
def test_sniff_refuses_everything_else(data: bytes) -> None:
    assert images.sniff(data) is None


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
    assert images.clean_original_name(name) == clean


@pytest.mark.parametrize("text", ["tab\tand\nnewline\r\n", "שלום", "🌍", ""])
def test_check_text_accepts_unicode(text: str) -> None:
    images.check_text("description", text)


@pytest.mark.parametrize("text", ["nul\x00", "bell\x07", "del\x7f", "c1\x85"])
def test_check_text_refuses_control_characters(text: str) -> None:
    with pytest.raises(ApiError) as error:
        images.check_text("description", text)
    assert error.value.code == "INVALID_FIELD"


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
    assert images.content_disposition({"original_name": name, "key": "id.png"}, download) == header


def test_tags_are_trimmed_lowered_and_deduplicated_in_order() -> None:
    assert images.normalise_tags(["Cat", " dog ,CAT,bird,", "cat"]) == ["cat", "dog", "bird"]


def test_tag_entries_are_counted_before_any_is_looked_at() -> None:
    assert images.normalise_tags(["a," * 99 + "a"]) == ["a"]  # 100 entries: within the bound
    for values in (["a," * 100 + "a"], ["a"] * 101, ["a," * 50, "a," * 50]):
        with pytest.raises(ApiError) as refused:
            images.normalise_tags(values)
        assert (refused.value.code, refused.value.message) == ("INVALID_FIELD", "at most 10 tags (and 100 entries)")


def test_a_bad_tag_is_quoted_as_json_not_as_a_python_repr() -> None:
    with pytest.raises(ApiError) as refused:
        images.normalise_tags(["ok", "bad\x01tag"])
    assert refused.value.message == "tag \"bad\\u0001tag\" must be 1-50 letters, digits, '_', '-' or '.'"
