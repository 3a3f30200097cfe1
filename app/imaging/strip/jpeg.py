"""JPEG: the segments up to the primary image's EOI, minus every metadata segment.

Kept: JFIF (without its thumbnail, a picture of its own), ICC profile pieces, Adobe's
marker (it decides how CMYK and YCCK decode) and everything needed to decode; the first
EXIF's Orientation is written back as a one-entry EXIF right after JFIF.
"""

from __future__ import annotations

from app.imaging.strip.shared import need, orientation_tiff, read_orientation

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_APP0, _APP1, _APP2, _APP14 = 0xE0, 0xE1, 0xE2, 0xEE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length


def strip(data: bytes) -> bytes:
    """A JPEG's bytes without its metadata."""
    need(data.startswith(b"\xff\xd8"))
    out = [b"\xff\xd8"]
    orientation = 0  # 0: no Exif seen yet; only the first (the primary image's) counts
    leading_app0 = 0  # the JFIF APP0 right after SOI: the EXIF goes after it
    pos = 2
    while True:
        marker, pos = _next_marker(data, pos)
        if marker == _EOI:  # the primary image ends here: phones append more pictures, with their own EXIF
            out.append(b"\xff\xd9")
            break
        if marker in _STANDALONE:
            out.append(bytes((0xFF, marker)))
            continue
        need(marker != _SOI and pos + 2 <= len(data))
        length = int.from_bytes(data[pos : pos + 2], "big")
        need(length >= 2 and pos + length <= len(data))
        payload = data[pos + 2 : pos + length]
        segment = bytes((0xFF, marker)) + data[pos : pos + length]
        pos += length
        if marker == _APP1 and payload.startswith(b"Exif\x00") and not orientation:
            orientation = read_orientation(payload[6:])
        if marker == _APP0:  # JFIF only, without its thumbnail (a picture of its own); JFXX and vendors' go
            segment = _jfif_without_thumbnail(payload)
        if segment and _keep_segment(marker, payload):
            if marker == _APP0 and len(out) == 1 + leading_app0:
                leading_app0 += 1
            out.append(segment)
        if marker == _SOS:
            end = _entropy_end(data, pos)
            out.append(data[pos:end])
            pos = end
    if orientation > 1:
        exif = b"Exif\x00\x00" + orientation_tiff(orientation)
        out.insert(1 + leading_app0, b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif)
    return b"".join(out)


def _jfif_without_thumbnail(payload: bytes) -> bytes:
    """A JFIF APP0 segment with its thumbnail's size set to 0 x 0 and its pixels gone; b"" for any other APP0."""
    if not payload.startswith(b"JFIF\x00") or len(payload) < 14:
        return b""
    kept = payload[:12] + b"\x00\x00"  # identifier, version, density unit and x/y density; no thumbnail
    return b"\xff\xe0" + (len(kept) + 2).to_bytes(2, "big") + kept


def _keep_segment(marker: int, payload: bytes) -> bool:
    if marker == _APP2:  # ICC profiles, in pieces; MPF (offsets of the pictures after EOI) and FlashPix go
        return payload.startswith(b"ICC_PROFILE\x00")
    if marker == _APP14:  # Adobe's transform flag decides how CMYK and YCCK decode
        return payload.startswith(b"Adobe")
    # APP0 (JFIF, rewritten above) stays; APP1 (Exif, XMP), APP3-13 (APP13: Photoshop/IPTC), APP15 and COM go.
    return marker == _APP0 or not (0xE1 <= marker <= 0xEF or marker == _COM)


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at or after `pos` and where its segment starts; fill 0xFFs and stray bytes are skipped."""
    while True:
        start = data.find(b"\xff", pos)
        need(start >= 0)
        pos = start + 1
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        need(pos < len(data))
        if data[pos] != 0x00:  # 0xFF00 outside a scan is a stray byte, as libjpeg treats it
            return data[pos], pos + 1


def _entropy_end(data: bytes, pos: int) -> int:
    """Where a scan's entropy-coded data ends: at the first marker other than RSTn (0xFF00 is a stuffed 0xFF)."""
    while True:
        found = data.find(b"\xff", pos)
        need(0 <= found < len(data) - 1)
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos = found + 2
        elif following == 0xFF:  # a fill byte; the last 0xFF of a run starts the marker
            pos = found + 1
        else:
            return found
