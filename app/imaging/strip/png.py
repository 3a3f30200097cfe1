"""PNG (and APNG): the chunks up to IEND that decode or colour the image; text, time and EXIF go.

The first eXIf's Orientation is written back alone, before the first image data, where
decoders look for it.
"""

from __future__ import annotations

import zlib

from app.imaging.strip.shared import need, orientation_tiff, read_orientation

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"pHYs", b"bKGD", b"cICP", b"mDCv", b"cLLI", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def strip(data: bytes) -> bytes:
    """A PNG's bytes without its metadata."""
    need(data.startswith(_SIGNATURE))
    out = [_SIGNATURE]
    orientation = 0
    first_image = 0  # where the EXIF must go: before the first IDAT (and frame 0's fcTL)
    pos = len(_SIGNATURE)
    while True:
        if pos == len(data):  # no IEND: decoders take the chunks there are, so the end is written back
            out.append(_chunk(b"IEND", b""))
            break
        need(pos + 12 <= len(data))
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        need(length < 2**31 and end <= len(data) and kind.isalpha() and kind.isascii())
        if kind == b"eXIf" and not orientation:
            orientation = read_orientation(data[pos + 8 : end - 4])
        if kind in (b"IDAT", b"fcTL") and not first_image:
            first_image = len(out)
        if kind in _KEEP or kind[:1].isupper():  # an unknown critical chunk is needed to decode
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    if orientation > 1:
        out.insert(first_image or len(out) - 1, _chunk(b"eXIf", orientation_tiff(orientation)))
    return b"".join(out)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")
