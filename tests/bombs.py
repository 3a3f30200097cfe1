"""Hostile images, made here from a few bytes (no binary fixtures): decompression bombs and their kin.

Each generator builds a file that is valid enough to reach the decoder and
whose header promises far more work or memory than its size suggests: tall,
wide and over-declared PNGs, huge-canvas GIFs and animated WebPs with many
frames, JPEGs that declare huge dimensions or carry hundreds of scans, and
oversized metadata. `CATALOGUE` names each with what the API must answer;
`tests/bomb_runner.py` measures what handling one costs.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

# --- PNG ---------------------------------------------------------------------------------
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# (colour type, channels) by name; bit depth is given separately.
_PNG_COLOUR = {"grey": (0, 1), "rgb": (2, 3), "palette": (3, 1), "grey-alpha": (4, 2), "rgba": (6, 4)}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _deflate(chunks: Iterator[bytes]) -> bytes:
    compressor = zlib.compressobj(9)
    out = [compressor.compress(chunk) for chunk in chunks]
    return b"".join(out) + compressor.flush()


def _zero_rows(row_bytes: int, rows: int) -> Iterator[bytes]:
    """`rows` scanlines of zeros (filter byte 0 each), in blocks of about 1 MB."""
    line = b"\0" * (row_bytes + 1)
    per_block = max(1, (1 << 20) // len(line))
    done = 0
    while done < rows:
        count = min(per_block, rows - done)
        yield line * count
        done += count


def png(
    width: int,
    height: int,
    colour: str = "grey",
    depth: int = 8,
    *,
    rows: int | None = None,
    before_idat: bytes = b"",
    after_idat: bytes = b"",
) -> bytes:
    """A PNG of zeros; `rows` < height makes it declare more than it holds."""
    colour_type, channels = _PNG_COLOUR[colour]
    row_bytes = (width * channels * depth + 7) // 8
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    palette = _chunk(b"PLTE", b"\0\0\0\xff\xff\xff") if colour == "palette" else b""
    pixels = _deflate(_zero_rows(row_bytes, height if rows is None else rows))
    return (
        _PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + palette
        + before_idat
        + _chunk(b"IDAT", pixels)
        + after_idat
        + _chunk(b"IEND", b"")
    )


def png_text(keyword: bytes, text_bytes: int, *, compressed: bool) -> bytes:
    """A tEXt chunk, or a zTXt chunk whose text inflates to `text_bytes`."""
    if compressed:
        packed = _deflate(iter([b"a" * min(text_bytes, 1 << 20)] * max(1, text_bytes >> 20)))
        return _chunk(b"zTXt", keyword + b"\0\0" + packed)
    return _chunk(b"tEXt", keyword + b"\0" + b"a" * text_bytes)


def png_icc(profile_bytes: int) -> bytes:
    """An iCCP chunk whose (compressed) profile inflates to `profile_bytes`."""
    packed = _deflate(iter([b"\0" * min(profile_bytes, 1 << 20)] * max(1, profile_bytes >> 20)))
    return _chunk(b"iCCP", b"icc\0\0" + packed)


def apng(canvas: tuple[int, int], frames: int, frame_size: tuple[int, int] | None = None) -> bytes:
    """An animated PNG: a `canvas` of zeros (the IDAT), then `frames` - 1 frames of `frame_size` (default: whole)."""
    width, height = canvas
    frame_width, frame_height = frame_size or canvas
    control = b""
    sequence = 0
    for index in range(frames):
        size = (width, height) if index == 0 else (frame_width, frame_height)
        row = _deflate(_zero_rows(size[0] * 4, size[1]))
        fctl = struct.pack(">IIIIIHHBB", sequence, *size, 0, 0, 1, 10, 0, 0)
        sequence += 1
        control += _chunk(b"fcTL", fctl)
        if index == 0:
            control += _chunk(b"IDAT", row)
        else:
            control += _chunk(b"fdAT", struct.pack(">I", sequence) + row)
            sequence += 1
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    actl = _chunk(b"acTL", struct.pack(">II", frames, 0))
    return _PNG_SIGNATURE + _chunk(b"IHDR", header) + actl + control + _chunk(b"IEND", b"")


# --- GIF ---------------------------------------------------------------------------------
# One pixel of colour 0, LZW-coded with a 2-bit minimum code size: Clear (4), 0, End (5).
_ONE_PIXEL = b"\x02\x02\x44\x01\x00"


def gif(canvas: tuple[int, int], frames: int, frame_size: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF whose logical screen is `canvas` with `frames` tiny frames (each declaring `frame_size`)."""
    width, height = canvas
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms, no disposal
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, frame_size[0], frame_size[1], 0)
        + _ONE_PIXEL
    )
    return head + loop + frame * frames + b"\x3b"


def gif_full_frames(size: tuple[int, int], frames: int) -> bytes:
    """A real animated GIF, as Pillow writes one: `frames` whole frames of alternating colours."""
    images = [Image.new("P", size, index % 2) for index in range(frames)]
    for image in images:
        image.putpalette([0, 0, 0, 255, 255, 255])
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=40, optimize=False)
    return buffer.getvalue()


# --- WebP --------------------------------------------------------------------------------
def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _u24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


def _vp8l_pixel() -> bytes:
    """The VP8L chunk (header included) of a lossless 1x1 WebP, as Pillow encodes it."""
    buffer = io.BytesIO()
    Image.new("RGBA", (1, 1), (0, 0, 0, 0)).save(buffer, "WEBP", lossless=True)
    data = buffer.getvalue()
    start = data.index(b"VP8L")
    return data[start:]


def webp_animation(canvas: tuple[int, int], frames: int) -> bytes:
    """An animated WebP: a `canvas`-sized VP8X header, then `frames` one-pixel ANMF frames."""
    width, height = canvas
    vp8x = _riff_chunk(b"VP8X", bytes([0x12, 0, 0, 0]) + _u24(width - 1) + _u24(height - 1))
    anim = _riff_chunk(b"ANIM", b"\0\0\0\0\0\0")
    pixel = _vp8l_pixel()
    anmf = _riff_chunk(b"ANMF", _u24(0) + _u24(0) + _u24(0) + _u24(0) + _u24(10) + b"\x02" + pixel)
    body = b"WEBP" + vp8x + anim + anmf * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_with_chunk(kind: bytes, size: int) -> bytes:
    """A small still WebP (VP8X container) carrying a metadata chunk (`EXIF`, `XMP `, `ICCP`) of `size` bytes."""
    flag = {b"ICCP": 0x20, b"EXIF": 0x08, b"XMP ": 0x04}[kind]
    vp8x = _riff_chunk(b"VP8X", bytes([flag, 0, 0, 0]) + _u24(0) + _u24(0))
    extra = _riff_chunk(kind, (b"Exif\0\0MM\0*\0\0\0\x08\0\0" if kind == b"EXIF" else b"") + b"\0" * size)
    pixel = _vp8l_pixel()
    chunks = [vp8x, extra, pixel] if kind == b"ICCP" else [vp8x, pixel, extra]
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- JPEG --------------------------------------------------------------------------------
def _jpeg(size: tuple[int, int], progressive: bool = False, subsampling: int = 2, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128 if mode == "L" else (120, 130, 140)).save(
        buffer, "JPEG", quality=75, progressive=progressive, **({} if mode == "L" else {"subsampling": subsampling})
    )
    return buffer.getvalue()


def _set_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming `width` x `height`."""
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]
    raise ValueError("no SOF0/SOF2 marker")


def jpeg_declaring(width: int, height: int, progressive: bool = False) -> bytes:
    """A small JPEG whose frame header declares `width` x `height` (the data covers a few blocks)."""
    return _set_jpeg_size(_jpeg((16, 16), progressive), width, height)


def jpeg_many_scans(size: tuple[int, int], scans: int) -> bytes:
    """A progressive JPEG of a flat colour whose last scan is repeated until it has `scans` scans."""
    data = _jpeg(size, progressive=True)
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]  # the SOS segment and its entropy-coded data, up to EOI
    present = data.count(b"\xff\xda")
    return data[:-2] + scan * max(0, scans - present) + b"\xff\xd9"


def jpeg_with_app_segments(marker: int, segment: bytes, count: int, size: tuple[int, int] = (64, 64)) -> bytes:
    """A JPEG carrying `count` copies of an APPn segment (EXIF, ICC or XMP payloads are at most 64 KiB each)."""
    data = _jpeg(size)
    app = bytes([0xFF, marker]) + struct.pack(">H", len(segment) + 2) + segment
    return data[:2] + app * count + data[2:]


def icc_segment(index: int, total: int, payload: int = 65000) -> bytes:
    return b"ICC_PROFILE\0" + bytes([index, total]) + b"\0" * payload


XMP_SEGMENT = b"http://ns.adobe.com/xap/1.0/\0" + b"<x:xmpmeta>" + b" " * 65000 + b"</x:xmpmeta>"


def exif_segment(entries: int) -> bytes:
    """An APP1 EXIF segment whose first IFD holds `entries` entries (a 64 KiB segment holds about 5,400)."""
    ifd = struct.pack(">H", entries) + struct.pack(">HHII", 0x010E, 2, 4, 0x41414100) * entries + b"\0\0\0\0"
    return b"Exif\0\0MM\0*\0\0\0\x08" + ifd


# --- the catalogue ---------------------------------------------------------------------
@dataclass(frozen=True)
class Bomb:
    name: str
    make: Callable[[], bytes]
    status: int  # what POST /upload must answer
    code: str | None = None  # the error code, when refused
    # What it answers when metadata is stripped (the default) and that changes the answer: the
    # metadata is removed before anything decodes it, and the image is stored without it.
    stripped: tuple[int, str | None] | None = None


MIB = 1 << 20
STRIPPED = (201, None)
CATALOGUE = [
    # Still images whose decoded size is the attack.
    Bomb("png-tall-1x67M", lambda: png(1, 67_000_000), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-wide-67Mx1", lambda: png(67_000_000, 1), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-tall-rgba-1x16M", lambda: png(1, 16_000_000, "rgba"), 201),  # just within budget: 382 MiB
    Bomb("png-tall-rgba-1x17M", lambda: png(1, 17_000_000, "rgba"), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-declares-1x100M", lambda: png(1, 100_000_000, rows=10), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-declares-rgba-10000x10000", lambda: png(10_000, 10_000, "rgba", rows=10), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-16bit-rgba-10000x10000", lambda: png(10_000, 10_000, "rgba", 16, rows=10), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-16bit-grey-12000x12000", lambda: png(12_000, 12_000, "grey", 16, rows=10), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-1bit-60000x60000", lambda: png(60_000, 60_000, "grey", 1, rows=10), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-palette-9000x9000", lambda: png(9_000, 9_000, "palette", rows=10), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-max-dimensions", lambda: png(2**31 - 1, 2**31 - 1, rows=0), 413, "IMAGE_TOO_LARGE"),
    # Within budget: decoded whole, then refused because the data ends early, or accepted.
    # Pillow, like browsers, shows a PNG whose data ends early (its zlib stream closed) as what it holds.
    Bomb("png-declares-6000x4000-holds-10-rows", lambda: png(6_000, 4_000, "rgb", rows=10), 201),
    Bomb("png-rgba-6800x6800", lambda: png(6_800, 6_800, "rgba"), 201),  # the largest RGBA within budget
    Bomb("png-rgba-7000x7000", lambda: png(7_000, 7_000, "rgba"), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-rgb-6000x4000", lambda: png(6_000, 4_000, "rgb"), 201),
    Bomb("png-palette-5000x4000", lambda: png(5_000, 4_000, "palette"), 201),
    Bomb("png-16bit-grey-4000x4000", lambda: png(4_000, 4_000, "grey", 16), 201),
    # Animations: canvas x frames is the work.
    Bomb("gif-8000x8000-200-frames", lambda: gif((8_000, 8_000), 200), 413, "IMAGE_TOO_LARGE"),
    Bomb("gif-1000x1000-5000-frames", lambda: gif((1_000, 1_000), 5_000), 413, "IMAGE_TOO_LARGE"),
    Bomb("gif-frames-grow-canvas", lambda: gif((1, 1), 300, (8_000, 8_000)), 413, "IMAGE_TOO_LARGE"),
    Bomb("gif-max-canvas", lambda: gif((65_535, 65_535), 1), 413, "IMAGE_TOO_LARGE"),
    Bomb("gif-500x500-100-frames", lambda: gif((500, 500), 100), 201),
    Bomb("gif-1000x1000-290-frames", lambda: gif((1_000, 1_000), 290), 201),  # just within the work limit
    Bomb("gif-1000x1000-290-whole-frames", lambda: gif_full_frames((1_000, 1_000), 290), 201),
    Bomb("webp-anim-16383x16383-2-frames", lambda: webp_animation((16_383, 16_383), 2), 413, "IMAGE_TOO_LARGE"),
    Bomb("webp-anim-4000x4000-500-frames", lambda: webp_animation((4_000, 4_000), 500), 413, "IMAGE_TOO_LARGE"),
    Bomb("webp-anim-600x400-200-frames", lambda: webp_animation((600, 400), 200), 201),
    Bomb("webp-anim-1000x1000-290-frames", lambda: webp_animation((1_000, 1_000), 290), 201),
    Bomb("webp-anim-1000x1000-310-frames", lambda: webp_animation((1_000, 1_000), 310), 413, "IMAGE_TOO_LARGE"),
    Bomb("apng-4000x4000-500-tiny-frames", lambda: apng((4_000, 4_000), 500, (1, 1)), 413, "IMAGE_TOO_LARGE"),
    Bomb("apng-300x300-20-frames", lambda: apng((300, 300), 20), 201),
    Bomb("apng-1000x1000-290-tiny-frames", lambda: apng((1_000, 1_000), 290, (1, 1)), 201),
    # JPEG: declared dimensions, progressive coefficient buffers, scans.
    Bomb("jpeg-declares-65000x65000", lambda: jpeg_declaring(65_000, 65_000), 413, "IMAGE_TOO_LARGE"),
    # Baseline JPEGs decode at 1/8 scale for the thumbnail; libjpeg pads data that ends early.
    Bomb("jpeg-declares-16000x12000", lambda: jpeg_declaring(16_000, 12_000), 201),
    Bomb(
        "jpeg-progressive-declares-16000x12000",
        lambda: jpeg_declaring(16_000, 12_000, progressive=True),
        413,
        "IMAGE_TOO_LARGE",
    ),
    Bomb("jpeg-progressive-2000-scans", lambda: jpeg_many_scans((2_048, 2_048), 2_000), 413, "IMAGE_TOO_LARGE"),
    Bomb("jpeg-progressive-350-scans", lambda: jpeg_many_scans((2_048, 2_048), 350), 201),  # within the work limit
    Bomb("jpeg-progressive-100k-scans-16px", lambda: jpeg_many_scans((16, 16), 100_000), 201),
    Bomb("jpeg-progressive-3000x3000", lambda: _jpeg((3_000, 3_000), progressive=True, subsampling=0), 201),
    # Metadata.
    Bomb("png-ztxt-inflates-to-100M", lambda: png(8, 8, before_idat=png_text(b"c", 100 * MIB, compressed=True)), 413, "IMAGE_TOO_LARGE", STRIPPED),
    Bomb("png-text-3M-in-chunks", lambda: png(8, 8, before_idat=png_text(b"c", 600_000, compressed=False) * 5), 413, "IMAGE_TOO_LARGE", STRIPPED),
    Bomb("png-iccp-inflates-to-64M", lambda: png(8, 8, before_idat=png_icc(64 * MIB)), 413, "IMAGE_TOO_LARGE"),
    Bomb("png-exif-after-idat-3M", lambda: png(8, 8, after_idat=_chunk(b"eXIf", b"MM\0*" + b"\0" * 3 * MIB)), 413, "IMAGE_TOO_LARGE", STRIPPED),
    Bomb("jpeg-icc-in-60-segments", lambda: jpeg_with_app_segments(0xE2, icc_segment(1, 60), 60), 413, "IMAGE_TOO_LARGE"),
    Bomb("jpeg-exif-5000-entries", lambda: jpeg_with_app_segments(0xE1, exif_segment(5_000), 1), 201),
    Bomb("jpeg-xmp-64k", lambda: jpeg_with_app_segments(0xE1, XMP_SEGMENT, 1), 201),
    Bomb("webp-exif-3M", lambda: webp_with_chunk(b"EXIF", 3 * MIB), 413, "IMAGE_TOO_LARGE", STRIPPED),
    Bomb("webp-xmp-3M", lambda: webp_with_chunk(b"XMP ", 3 * MIB), 413, "IMAGE_TOO_LARGE", STRIPPED),
]  # fmt: skip
