"""What every container's walker shares: refusing damaged input, and the EXIF Orientation.

The Orientation is read from the EXIF being dropped and written back alone, because it
changes how the image displays; JPEG, PNG and WebP all carry it as TIFF-structured EXIF.
"""

from __future__ import annotations

import struct

from app.imaging.limits import UnreadableError

DAMAGED = "damaged or truncated"
_ORIENTATION_TAG = 0x0112
_SHORT = 3  # TIFF field type


def need(condition: bool) -> None:
    """Refuse the image unless `condition`: every structural check on untrusted bytes goes through here."""
    if not condition:
        raise UnreadableError(DAMAGED)


def read_orientation(tiff: bytes) -> int:
    """IFD0's Orientation in TIFF-structured EXIF; 1 when absent or unreadable (it is only a hint)."""
    if tiff.startswith(b"Exif\x00\x00"):  # some PNG and WebP writers keep JPEG's prefix
        tiff = tiff[6:]
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    magic, ifd = struct.unpack_from(order + "HI", tiff, 2)
    if magic != 42 or ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    entries = ifd + 2
    for entry in range(entries, min(entries + 12 * count, len(tiff) - 11), 12):
        tag, kind, n = struct.unpack_from(order + "HHI", tiff, entry)
        if tag == _ORIENTATION_TAG:
            (value,) = struct.unpack_from(order + "H", tiff, entry + 8)
            return value if kind == _SHORT and n == 1 and 1 <= value <= 8 else 1
    return 1


def orientation_tiff(value: int) -> bytes:
    """A TIFF with IFD0 holding only Orientation: big-endian, IFD0 at 8, one SHORT entry, no next IFD."""
    return struct.pack(">2sHIHHHIHHI", b"MM", 42, 8, 1, _ORIENTATION_TAG, _SHORT, 1, value, 0, 0)
