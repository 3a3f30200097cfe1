"""AVIF and HEIC (HEIF, on ISOBMFF boxes): every Exif and XMP item overwritten in place.

Why in place rather than copied without them: items are found through absolute file
offsets (iloc), so removing bytes would mean rewriting every offset; blanking keeps the
length and every offset as they were. The EXIF left is empty, so no Orientation survives
here: HEIF states rotation in its own `irot` property, which is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from app.imaging.strip.shared import need

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


def strip(data: bytes) -> bytes:
    """Overwrite every Exif and XMP item in place: the length and every offset stay the same."""
    need(data[4:8] == b"ftyp")  # the file type box comes first
    out = bytearray(data)
    blanked = 0
    for box in _boxes(data, 0, len(data)):
        if box.kind == b"meta":
            for item in _metadata_items(data, box):
                blanked += sum(length for _, length in item.extents)
                need(blanked <= len(data))  # overlapping extents must not multiply the work
                _blank(out, item)
    return bytes(out)


def _boxes(data: bytes, pos: int, end: int) -> Iterator[_Box]:
    while pos < end:
        need(pos + 8 <= end)
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1:  # 64-bit size follows the type
            need(pos + 16 <= end)
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:  # to the end
            size = end - pos
        if kind == b"uuid":
            header += 16
        need(size >= header and pos + size <= end)
        yield _Box(kind, pos + header, pos + size)
        pos += size


def _metadata_items(data: bytes, meta: _Box) -> list[_Item]:
    """The Exif and XMP items of a `meta` box, with where their bytes are."""
    need(meta.start + 4 <= meta.end)  # a FullBox: version and flags
    children = {box.kind: box for box in reversed(list(_boxes(data, meta.start + 4, meta.end)))}
    if b"iinf" not in children or b"iloc" not in children:
        return []
    items = _item_infos(data, children[b"iinf"])
    if not items:
        return []
    _locate(data, children[b"iloc"], items)
    idat = children.get(b"idat", _Box(b"idat", 0, 0))  # a missing idat holds nothing
    for item in items.values():
        need(item.method != 2)  # data made of other items' data: refused rather than left readable
        if item.method == 1:
            item.extents = [(idat.start + offset, length) for offset, length in item.extents]
            need(all(offset + length <= idat.end for offset, length in item.extents))
    return list(items.values())


def _item_infos(data: bytes, iinf: _Box) -> dict[int, _Item]:
    """item_ID -> the item, for the items that are Exif or XMP."""
    need(iinf.start + 4 <= iinf.end)
    entries = iinf.start + 4 + (2 if data[iinf.start] == 0 else 4)
    need(entries <= iinf.end)
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
    need(pos + 4 <= end)
    version = data[pos]
    pos += 4
    id_size = 4 if version >= 3 else 2
    need(pos + id_size + 2 <= end)
    item_id = int.from_bytes(data[pos : pos + id_size], "big")
    pos += id_size + 2  # and item_protection_index
    item_type = b"mime"  # versions 0 and 1 describe their content by MIME type only
    if version >= 2:
        need(pos + 4 <= end)
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
    need(version <= 2)
    reader.uint(3)  # flags
    sizes = reader.uint(2)
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version else 0
    need(all(size in (0, 4, 8) for size in (offset_size, length_size, base_size, index_size)))
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
            need(all(length > 0 for _, length in extents))  # 0 would mean "all of the file"
            item.method, item.extents = method, extents
            need(method != 0 or all(offset + length <= len(data) for offset, length in extents))


class _Reader:
    """Big-endian unsigned integers read from data[pos:end], refusing to read past `end`."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.pos, self.end = data, pos, end

    def uint(self, size: int) -> int:
        need(self.pos + size <= self.end)
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
