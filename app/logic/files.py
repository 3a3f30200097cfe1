"""What a file is and what it is called: its type from its first bytes, and the client's name made safe."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.utils import encode_rfc2231

MAX_NAME = 255
SNIFF_BYTES = 64  # enough for every signature sniff() knows (an AVIF/HEIC ftyp box's first brands)
# Bidirectional overrides can make "evil\u202egpj.exe" display as "evilexe.jpg".
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))


@dataclass(frozen=True)
class ImageType:
    kind: str
    mime: str
    extension: str


TYPES = {
    "jpeg": ImageType("jpeg", "image/jpeg", "jpg"),
    "png": ImageType("png", "image/png", "png"),
    "gif": ImageType("gif", "image/gif", "gif"),
    "webp": ImageType("webp", "image/webp", "webp"),
    "avif": ImageType("avif", "image/avif", "avif"),
    "heic": ImageType("heic", "image/heic", "heic"),
}
# ISO base media files name what they hold in their first box (ftyp): its brands.
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"heif", b"mif1", b"msf1"}
ACCEPTED_TYPES = tuple(kind.mime for kind in TYPES.values())
# The formats a variant is rendered in (app/imaging/variants.py encodes each; a test checks).
VARIANT_FORMATS = ("webp", "avif", "jpeg", "png")


def sniff(data: bytes) -> ImageType | None:
    """The image type from the first bytes (magic numbers), or None for anything else.

    Names and declared Content-Types are never trusted; SVG is deliberately
    not an image here (it is a document that can carry script).
    """
    if data.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return TYPES["gif"]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return TYPES["webp"]
    if data[4:8] == b"ftyp":
        return _iso_type(data)
    return None


def _iso_type(data: bytes) -> ImageType | None:
    """AVIF or HEIC by the ftyp box's brands (major, then compatible): AVIF wins, as a file that
    names both brands (mif1 is either) holds an AV1 picture when it names avif."""
    end = min(int.from_bytes(data[:4], "big"), len(data))
    brands = {data[8:12], *(data[at : at + 4] for at in range(16, end - 3, 4))}
    if brands & _AVIF_BRANDS:
        return TYPES["avif"]
    if brands & _HEIC_BRANDS:
        return TYPES["heic"]
    return None


def clean_original_name(name: str | None) -> str:
    """The client's file name as safe metadata: no path, no control characters, bounded."""
    if not name:
        return ""
    name = unicodedata.normalize("NFC", name).translate(_BIDI_CONTROLS)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc").strip()
    if name in {".", ".."}:
        return ""
    return name[:MAX_NAME]


def content_disposition(original_name: str, key: str, download: bool) -> str:
    """`inline` or `attachment`, naming the original file (RFC 6266: ASCII fallback plus UTF-8 form)."""
    name = original_name or key
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r'["\\;]', "_", fallback).strip() or key
    disposition = f'{"attachment" if download else "inline"}; filename="{fallback}"'
    if fallback != name:
        disposition += f"; filename*={encode_rfc2231(name, 'utf-8')}"
    return disposition
