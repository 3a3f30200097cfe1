"""GIF: the header, frames and the extensions that time, loop or colour them; comments and XMP go.

GIF has no EXIF, so there is no Orientation to keep.
"""

from __future__ import annotations

from app.imaging.strip.shared import need

_IMAGE, _EXTENSION, _TRAILER = 0x2C, 0x21, 0x3B
_KEEP_LABELS = {0xF9, 0x01}  # graphic control (delays, transparency) and plain text
_KEPT_APPLICATIONS = {b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"}  # looping; the colour profile


def strip(data: bytes) -> bytes:
    """A GIF's bytes without its metadata."""
    need(data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 13)
    pos = 13 + _colour_table_size(data[10])
    need(pos <= len(data))
    out = [data[:pos]]
    while pos < len(data):  # some encoders leave the trailer out; it is written back
        block = data[pos]
        if block == _TRAILER:
            break
        if block == _IMAGE:
            need(pos + 11 <= len(data))
            end = _sub_blocks_end(data, pos + 11 + _colour_table_size(data[pos + 9]))  # +1: LZW code size
            out.append(data[pos:end])
        elif block != _EXTENSION:  # stray bytes: decoders stop reading there, and so does this
            break
        else:
            need(pos + 2 <= len(data))
            end = _sub_blocks_end(data, pos + 2)
            if _keep_extension(data[pos + 1], data[pos + 2 : end]):
                out.append(data[pos:end])
        pos = end
    out.append(b"\x3b")
    return b"".join(out)


def _colour_table_size(packed: int) -> int:
    return 3 << ((packed & 7) + 1) if packed & 0x80 else 0


def _sub_blocks_end(data: bytes, pos: int) -> int:
    """Just past the zero-length block that ends the sub-blocks starting at `pos`."""
    while True:
        need(pos < len(data))
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _keep_extension(label: int, blocks: bytes) -> bool:
    # Comments (0xFE) and application extensions other than looping and ICC (XMP, vendors') go.
    if label == 0xFF:
        return blocks[:1] == b"\x0b" and blocks[1:12] in _KEPT_APPLICATIONS
    return label in _KEEP_LABELS
