"""Remove metadata from an image's bytes, before anything decodes them, without re-encoding a pixel.

Why: a phone photo's EXIF carries where it was taken (GPS), and XMP, IPTC,
comments and text chunks carry names, devices and edit histories; an image
that is shared must not give away its owner's home. What is kept is only
what changes how the image displays: colour profiles and colour chunks,
JPEG's Adobe marker (CMYK/YCCK decoding), animation and looping, and the
EXIF Orientation when it is not 1 (rewritten as a one-entry EXIF).

Each format is walked structurally and copied chunk by chunk (jpeg.py, png.py,
webp.py, gif.py); AVIF and HEIC are blanked in place, so every box offset stays
valid (heif.py). Standard library only: the bytes are untrusted, so every read
is bounds-checked, every loop consumes input, and anything malformed is refused
as UnreadableError (shared.py holds the check and the EXIF Orientation that
three of the formats carry).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from app.imaging.limits import UnreadableError
from app.imaging.strip import gif, heif, jpeg, png, webp
from app.imaging.strip.shared import DAMAGED

__all__ = ["DAMAGED", "strip_metadata"]


def strip_metadata(data: bytes, kind: str) -> bytes:
    """`data`, a `kind` image ("jpeg", "png", "gif", "webp", "avif", "heic"), without its metadata."""
    stripper = _STRIPPERS.get(kind)
    if stripper is None:
        raise ValueError(f"no metadata stripper for {kind!r}")
    try:
        return stripper(bytes(data))
    except (IndexError, struct.error, OverflowError) as exc:  # a bounds check missed is still a damaged file
        raise UnreadableError(DAMAGED) from exc


_STRIPPERS: dict[str, Callable[[bytes], bytes]] = {
    "jpeg": jpeg.strip,
    "png": png.strip,
    "gif": gif.strip,
    "webp": webp.strip,
    "avif": heif.strip,
    "heic": heif.strip,
}
