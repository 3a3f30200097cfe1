"""Remove metadata from an image's bytes, before anything decodes them, without re-encoding a pixel.

Why: a phone photo's EXIF carries where it was taken (GPS), and XMP, IPTC,
comments and text chunks carry names, devices and edit histories; an image
that is shared must not give away its owner's home. What is kept is only
what changes how the image displays: colour profiles and colour chunks,
JPEG's Adobe marker (CMYK/YCCK decoding), animation and looping, and the
EXIF Orientation when it is not 1 (rewritten as a one-entry EXIF).

Each format is walked structurally and copied chunk by chunk; AVIF and HEIC
are blanked in place (every box offset stays valid). Standard library only:
the bytes are untrusted, so every read is bounds-checked, every loop
consumes input, and anything malformed is refused as UnreadableError.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.imaging.limits import UnreadableError

DAMAGED = "damaged or truncated"
_ORIENTATION_TAG = 0x0112
_SHORT = 3  # TIFF field type


def strip_metadata(data: bytes, kind: str) -> bytes:
    """`data`, a `kind` image ("jpeg", "png", "gif", "webp", "avif", "heic"), without its metadata."""
    stripper = _STRIPPERS.get(kind)
    if stripper is None:
        raise ValueError(f"no metadata stripper for {kind!r}")
    try:
        return stripper(bytes(data))
    except (IndexError, struct.error, OverflowError) as exc:  # a bounds check missed is still a damaged file
        raise UnreadableError(DAMAGED) from exc


def _need(condition: bool) -> None:
    if not condition:
        raise UnreadableError(DAMAGED)


# --- EXIF orientation -------------------------------------------------------------------------


def _orientation(tiff: bytes) -> int:
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


def _orientation_tiff(value: int) -> bytes:
    """A TIFF with IFD0 holding only Orientation: big-endian, IFD0 at 8, one SHORT entry, no next IFD."""
    return struct.pack(">2sHIHHHIHHI", b"MM", 42, 8, 1, _ORIENTATION_TAG, _SHORT, 1, value, 0, 0)


# --- JPEG ------------------------------------------------------------------------------------

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_APP0, _APP1, _APP2, _APP14 = 0xE0, 0xE1, 0xE2, 0xEE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length


def _strip_jpeg(data: bytes) -> bytes:
    _need(data.startswith(b"\xff\xd8"))
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
        _need(marker != _SOI and pos + 2 <= len(data))
        length = int.from_bytes(data[pos : pos + 2], "big")
        _need(length >= 2 and pos + length <= len(data))
        payload = data[pos + 2 : pos + length]
        segment = bytes((0xFF, marker)) + data[pos : pos + length]
        pos += length
        if marker == _APP1 and payload.startswith(b"Exif\x00") and not orientation:
            orientation = _orientation(payload[6:])
        if marker == _APP0:  # JFIF only, without its thumbnail (a picture of its own); JFXX and vendors' go
            segment = _jfif_without_thumbnail(payload)
        if segment and _keep_jpeg_segment(marker, payload):
            if marker == _APP0 and len(out) == 1 + leading_app0:
                leading_app0 += 1
            out.append(segment)
        if marker == _SOS:
            end = _entropy_end(data, pos)
            out.append(data[pos:end])
            pos = end
    if orientation > 1:
        exif = b"Exif\x00\x00" + _orientation_tiff(orientation)
        out.insert(1 + leading_app0, b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif)
    return b"".join(out)


def _jfif_without_thumbnail(payload: bytes) -> bytes:
    """A JFIF APP0 segment with its thumbnail's size set to 0 x 0 and its pixels gone; b"" for any other APP0."""
    if not payload.startswith(b"JFIF\x00") or len(payload) < 14:
        return b""
    kept = payload[:12] + b"\x00\x00"  # identifier, version, density unit and x/y density; no thumbnail
    return b"\xff\xe0" + (len(kept) + 2).to_bytes(2, "big") + kept


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
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
        _need(start >= 0)
        pos = start + 1
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        _need(pos < len(data))
        if data[pos] != 0x00:  # 0xFF00 outside a scan is a stray byte, as libjpeg treats it
            return data[pos], pos + 1


def _entropy_end(data: bytes, pos: int) -> int:
    """Where a scan's entropy-coded data ends: at the first marker other than RSTn (0xFF00 is a stuffed 0xFF)."""
    while True:
        found = data.find(b"\xff", pos)
        _need(0 <= found < len(data) - 1)
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos = found + 2
        elif following == 0xFF:  # a fill byte; the last 0xFF of a run starts the marker
            pos = found + 1
        else:
            return found


# --- PNG -------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"pHYs", b"bKGD", b"cICP", b"mDCv", b"cLLI", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def _strip_png(data: bytes) -> bytes:
    _need(data.startswith(_PNG_SIGNATURE))
    out = [_PNG_SIGNATURE]
    orientation = 0
    first_image = 0  # where the EXIF must go: before the first IDAT (and frame 0's fcTL)
    pos = len(_PNG_SIGNATURE)
    while True:
        if pos == len(data):  # no IEND: decoders take the chunks there are, so the end is written back
            out.append(_png_chunk(b"IEND", b""))
            break
        _need(pos + 12 <= len(data))
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        _need(length < 2**31 and end <= len(data) and kind.isalpha() and kind.isascii())
        if kind == b"eXIf" and not orientation:
            orientation = _orientation(data[pos + 8 : end - 4])
        if kind in (b"IDAT", b"fcTL") and not first_image:
            first_image = len(out)
        if kind in _PNG_KEEP or kind[:1].isupper():  # an unknown critical chunk is needed to decode
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    if orientation > 1:
        out.insert(first_image or len(out) - 1, _png_chunk(b"eXIf", _orientation_tiff(orientation)))
    return b"".join(out)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")


# --- WebP ------------------------------------------------------------------------------------

_WEBP_KEEP = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes) -> bytes:
    _need(len(data) >= 20 and data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    _need(riff_end <= len(data))
    chunks = list(_riff_chunks(data, 12, riff_end))
    _need(bool(chunks))
    if chunks[0][0] != b"VP8X":  # simple format: one VP8 or VP8L chunk, nothing else is read
        _need(chunks[0][0] in (b"VP8 ", b"VP8L"))
        return _riff(chunks[:1])
    orientation = next((_orientation(payload) for kind, payload in chunks if kind == b"EXIF"), 1)
    kept = [(kind, payload) for kind, payload in chunks if kind in _WEBP_KEEP]
    header = kept[0][1]
    _need(len(header) >= 10)
    flags = header[0] & ~(_VP8X_EXIF | _VP8X_XMP)
    if orientation > 1:
        flags |= _VP8X_EXIF
        kept.append((b"EXIF", _orientation_tiff(orientation)))
    kept[0] = (b"VP8X", bytes((flags,)) + header[1:])
    return _riff(kept)


def _riff_chunks(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, bytes]]:
    while pos < end:
        _need(pos + 8 <= end)
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        _need(pos + 8 + size <= end)
        yield data[pos : pos + 4], data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)  # odd chunks are padded (the last pad is sometimes missing)


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        kind + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1) for kind, payload in chunks
    )
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


# --- GIF -------------------------------------------------------------------------------------

_GIF_IMAGE, _GIF_EXTENSION, _GIF_TRAILER = 0x2C, 0x21, 0x3B
_GIF_KEEP_LABELS = {0xF9, 0x01}  # graphic control (delays, transparency) and plain text
_GIF_KEPT_APPLICATIONS = {b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012"}  # looping; the colour profile


def _strip_gif(data: bytes) -> bytes:
    _need(data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 13)
    pos = 13 + _colour_table_size(data[10])
    _need(pos <= len(data))
    out = [data[:pos]]
    while pos < len(data):  # some encoders leave the trailer out; it is written back
        block = data[pos]
        if block == _GIF_TRAILER:
            break
        if block == _GIF_IMAGE:
            _need(pos + 11 <= len(data))
            end = _sub_blocks_end(data, pos + 11 + _colour_table_size(data[pos + 9]))  # +1: LZW code size
            out.append(data[pos:end])
        elif block != _GIF_EXTENSION:  # stray bytes: decoders stop reading there, and so does this
            break
        else:
            _need(pos + 2 <= len(data))
            end = _sub_blocks_end(data, pos + 2)
            if _keep_gif_extension(data[pos + 1], data[pos + 2 : end]):
                out.append(data[pos:end])
        pos = end
    out.append(b"\x3b")
    return b"".join(out)


def _colour_table_size(packed: int) -> int:
    return 3 << ((packed & 7) + 1) if packed & 0x80 else 0


def _sub_blocks_end(data: bytes, pos: int) -> int:
    """Just past the zero-length block that ends the sub-blocks starting at `pos`."""
    while True:
        _need(pos < len(data))
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _keep_gif_extension(label: int, blocks: bytes) -> bool:
    # Comments (0xFE) and application extensions other than looping and ICC (XMP, vendors') go.
    if label == 0xFF:
        return blocks[:1] == b"\x0b" and blocks[1:12] in _GIF_KEPT_APPLICATIONS
    return label in _GIF_KEEP_LABELS


# --- AVIF and HEIC (ISOBMFF, HEIF) -----------------------------------------------------------

_XMP_TYPE = "application/rdf+xml"
_EMPTY_EXIF = b"\x00\x00\x00\x00" + b"MM\x00*\x00\x00\x00\x08" + b"\x00\x00" + b"\x00\x00\x00\x00"
_EMPTY_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'


@dataclass
class _Box:
    kind: bytes
    start: int  # of the payload
    end: int


@dataclass
class _Item:
    kind: str  # "exif" or "xmp"
    method: int = 0  # construction_method: 0 file offsets, 1 in idat, 2 other items
    extents: list[tuple[int, int]] = field(default_factory=list)  # absolute (offset, length)


def _strip_heif(data: bytes) -> bytes:
    """Overwrite every Exif and XMP item in place: the length and every offset stay the same."""
    _need(data[4:8] == b"ftyp")  # the file type box comes first
    out = bytearray(data)
    blanked = 0
    for box in _boxes(data, 0, len(data)):
        if box.kind == b"meta":
            for item in _metadata_items(data, box):
                blanked += sum(length for _, length in item.extents)
                _need(blanked <= len(data))  # overlapping extents must not multiply the work
                _blank(out, item)
    return bytes(out)


def _boxes(data: bytes, pos: int, end: int) -> Iterator[_Box]:
    while pos < end:
        _need(pos + 8 <= end)
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1:  # 64-bit size follows the type
            _need(pos + 16 <= end)
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:  # to the end
            size = end - pos
        if kind == b"uuid":
            header += 16
        _need(size >= header and pos + size <= end)
        yield _Box(kind, pos + header, pos + size)
        pos += size


def _metadata_items(data: bytes, meta: _Box) -> list[_Item]:
    """The Exif and XMP items of a `meta` box, with where their bytes are."""
    _need(meta.start + 4 <= meta.end)  # a FullBox: version and flags
    children = {box.kind: box for box in reversed(list(_boxes(data, meta.start + 4, meta.end)))}
    if b"iinf" not in children or b"iloc" not in children:
        return []
    items = _item_infos(data, children[b"iinf"])
    if not items:
        return []
    _locate(data, children[b"iloc"], items)
    idat = children.get(b"idat", _Box(b"idat", 0, 0))  # a missing idat holds nothing
    for item in items.values():
        _need(item.method != 2)  # data made of other items' data: refused rather than left readable
        if item.method == 1:
            item.extents = [(idat.start + offset, length) for offset, length in item.extents]
            _need(all(offset + length <= idat.end for offset, length in item.extents))
    return list(items.values())


def _item_infos(data: bytes, iinf: _Box) -> dict[int, _Item]:
    """item_ID -> the item, for the items that are Exif or XMP."""
    _need(iinf.start + 4 <= iinf.end)
    entries = iinf.start + 4 + (2 if data[iinf.start] == 0 else 4)
    _need(entries <= iinf.end)
    items = {}
    for infe in _boxes(data, entries, iinf.end):
        if infe.kind == b"infe":
            item_id, kind = _item_info(data, infe)
            if kind:
                items[item_id] = _Item(kind)
    return items


def _item_info(data: bytes, infe: _Box) -> tuple[int, str]:
    """An `infe` entry's item_ID and whether it is "exif", "xmp" or neither ("")."""
    pos, end = infe.start, infe.end
    _need(pos + 4 <= end)
    version = data[pos]
    pos += 4
    id_size = 4 if version >= 3 else 2
    _need(pos + id_size + 2 <= end)
    item_id = int.from_bytes(data[pos : pos + id_size], "big")
    pos += id_size + 2  # and item_protection_index
    item_type = b"mime"  # versions 0 and 1 describe their content by MIME type only
    if version >= 2:
        _need(pos + 4 <= end)
        item_type = data[pos : pos + 4]
        pos += 4
    if item_type == b"Exif":
        return item_id, "exif"
    if item_type != b"mime":
        return item_id, ""
    _, pos = _c_string(data, pos, end)  # item_name
    content_type, _ = _c_string(data, pos, end)
    is_xmp = content_type.split(b";")[0].strip().lower() == _XMP_TYPE.encode()
    return item_id, "xmp" if is_xmp else ""


def _c_string(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    """A NUL-terminated string and what follows it; a missing NUL ends the string at `end`."""
    nul = data.find(b"\x00", pos, end)
    return (data[pos:end], end) if nul < 0 else (data[pos:nul], nul + 1)


def _locate(data: bytes, iloc: _Box, items: dict[int, _Item]) -> None:
    """Fill in the construction method and extents of `items` from the `iloc` box."""
    reader = _Reader(data, iloc.start, iloc.end)
    version = reader.uint(1)
    _need(version <= 2)
    reader.uint(3)  # flags
    sizes = reader.uint(2)
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version else 0
    _need(all(size in (0, 4, 8) for size in (offset_size, length_size, base_size, index_size)))
    id_size = 4 if version == 2 else 2
    for _ in range(reader.uint(id_size)):
        item_id = reader.uint(id_size)
        method = reader.uint(2) & 15 if version else 0
        reader.uint(2)  # data_reference_index
        base = reader.uint(base_size)
        extent_count = reader.uint(2)
        if not index_size + offset_size + length_size:  # identical empty extents: read none, keep one
            extent_count = min(extent_count, 1)
        extents = []
        for _ in range(extent_count):
            reader.uint(index_size)
            offset, length = reader.uint(offset_size), reader.uint(length_size)
            extents.append((base + offset, length))
        item = items.get(item_id)
        if item is not None:
            _need(all(length > 0 for _, length in extents))  # 0 would mean "all of the file"
            item.method, item.extents = method, extents
            _need(method != 0 or all(offset + length <= len(data) for offset, length in extents))


class _Reader:
    """Big-endian unsigned integers read from data[pos:end], refusing to read past `end`."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def uint(self, size: int) -> int:
        _need(self.pos + size <= self.end)
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value


def _blank(out: bytearray, item: _Item) -> None:
    """Overwrite the item's extents with an empty payload of the same total length."""
    total = sum(length for _, length in item.extents)
    if item.kind == "exif":  # an empty IFD0 after a zero TIFF-header offset; zeros if it cannot fit
        payload = _EMPTY_EXIF.ljust(total, b"\x00") if total >= len(_EMPTY_EXIF) else bytes(total)
    else:
        payload = _EMPTY_XMP.ljust(total, b" ") if total >= len(_EMPTY_XMP) else b" " * total
    done = 0
    for offset, length in item.extents:
        out[offset : offset + length] = payload[done : done + length]
        done += length


_STRIPPERS: dict[str, Callable[[bytes], bytes]] = {
    "jpeg": _strip_jpeg,
    "png": _strip_png,
    "gif": _strip_gif,
    "webp": _strip_webp,
    "avif": _strip_heif,
    "heic": _strip_heif,
}
