"""WebP: the RIFF chunks that decode, animate or colour the image; EXIF and XMP go.

A simple (lossy or lossless) WebP is one image chunk and nothing else is read, so only
that chunk is kept. An extended one keeps VP8X with its EXIF and XMP flags cleared, or
its EXIF flag set again when the Orientation is written back.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.imaging.strip.shared import need, orientation_tiff, read_orientation

_KEEP = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def strip(data: bytes) -> bytes:
    """A WebP's bytes without its metadata."""
    need(len(data) >= 20 and data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    need(riff_end <= len(data))
    chunks = list(_chunks(data, 12, riff_end))
    need(bool(chunks))
    if chunks[0][0] != b"VP8X":  # simple format: one VP8 or VP8L chunk, nothing else is read
        need(chunks[0][0] in (b"VP8 ", b"VP8L"))
        return _riff(chunks[:1])
    orientation = next((read_orientation(payload) for kind, payload in chunks if kind == b"EXIF"), 1)
    kept = [(kind, payload) for kind, payload in chunks if kind in _KEEP]
    header = kept[0][1]
    need(len(header) >= 10)
    flags = header[0] & ~(_VP8X_EXIF | _VP8X_XMP)
    if orientation > 1:
        flags |= _VP8X_EXIF
        kept.append((b"EXIF", orientation_tiff(orientation)))
    kept[0] = (b"VP8X", bytes((flags,)) + header[1:])
    return _riff(kept)


def _chunks(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    while pos < end:
        need(pos + 8 <= end)
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        need(pos + 8 + size <= end)
        yield data[pos : pos + 4], data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)  # odd chunks are padded (the last pad is sometimes missing)


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        kind + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1) for kind, payload in chunks
    )
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body
