"""What decoding an image will cost, read from its headers before a pixel is decoded, and the limits it must fit.

A few kilobytes can declare gigabytes of pixels (a 1 x 67,000,000 PNG of
zeros is 130 KB), and an animation's cost is its canvas times its frames
(a 4.6 KB GIF with an 8000 x 8000 canvas and 200 frames takes a minute of
CPU). So the width, height, mode, frames and scans that the headers declare
give an upper bound of the memory and work that decoding, orienting and
thumbnailing will take, and anything over the limits is refused first.

The bound counts Pillow's storage: 4 bytes a pixel for every mode it widens
to (RGB is stored as RGBX), plus a pointer per row of every buffer, which is
what makes a 1-pixel-wide image expensive. The bomb catalogue
(tests/integration/test_bombs.py) measures the real peak against it.
Standard library only: Pillow's image is only looked at.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.errors import ImageTooLargeError, NotAnImageError

if TYPE_CHECKING:
    from PIL import Image

MIB = 1024 * 1024
# Larger than any phone photo (200 Mpx sensors included); Pillow refuses more from the header.
# JPEGs decode at 1/2, 1/4 or 1/8 scale for thumbnails, so a JPEG this large stays cheap.
MAX_DECLARED_PIXELS = 200_000_000
MAX_FRAMES = 1000
# Work, in pixels decoded: each frame of an animation is composited over the whole canvas,
# and each scan of a progressive JPEG passes over every coefficient. Measured here, both
# limits are about 1.5 s of decoding (animated WebP ~5 ns a pixel, JPEG scans ~1 ns).
MAX_FRAME_PIXELS = 300_000_000  # frames x canvas
MAX_SCAN_PIXELS = 1_500_000_000  # scans x pixels
MAX_METADATA_BYTES = 1 * MIB  # each of EXIF, ICC profile and XMP; PNG text chunks: see imaging.py
PIXEL_BYTES = 4
ROW_BYTES = 8  # Pillow keeps a pointer to every row of a buffer
FIXED_BYTES = 16 * MIB  # whatever the size: the thumbnail's encoder, the decoders' own state


class RefusedError(ValueError):
    """Pillow work refused: the message is the reason, for people; `code` names the kind (app/errors.py)."""

    code = NotAnImageError.code


class UnreadableError(RefusedError):
    """The bytes do not decode as a JPEG, PNG, GIF, WebP, AVIF or HEIC image."""


class OverLimitError(RefusedError):
    """Decoding would take more memory or work than the limits allow (the message names the limit)."""

    code = ImageTooLargeError.code


@dataclass(frozen=True)
class Cost:
    """An upper bound of what decoding and thumbnailing one image takes."""

    memory: int  # bytes held at once
    pixels: int  # decoded per pass
    frames: int = 1  # of an animation
    scans: int = 1  # of a progressive JPEG


def buffer_bytes(width: int, height: int) -> int:
    """Memory of one Pillow image buffer of this size."""
    return height * (width * PIXEL_BYTES + ROW_BYTES)


def measure(image: Image.Image, data: bytes, declared: tuple[int, int]) -> Cost:
    """The cost of `image`, opened (headers read) and drafted but not loaded.

    `declared` is its size before JPEG's draft() scaled it down.
    """
    width, height = image.size
    if image.format in ("JPEG", "MPO"):
        return _jpeg_cost(image, data, declared)
    if image.format == "GIF":
        frames, width, height = gif_frames(data)
        frames = max(frames, 1)
    else:
        frames = getattr(image, "n_frames", 1)
    # A still image: the decoded buffer and one full-size copy (a palette or grey image is
    # converted for the thumbnail, RGBA is premultiplied to resize). An animation also keeps the
    # previous frame; libwebp decodes every WebP into two canvases of its own first.
    # AVIF and HEIC decoders hold the picture's YUV planes besides the RGB buffer Pillow copies out.
    buffers = 4 if image.format == "WEBP" else 3 if frames > 1 or image.format in ("AVIF", "HEIF") else 2
    return Cost(FIXED_BYTES + buffers * buffer_bytes(width, height), width * height, frames=frames)


def _jpeg_cost(image: Image.Image, data: bytes, declared: tuple[int, int]) -> Cost:
    """Baseline JPEG streams at the drafted scale; a progressive one keeps every DCT coefficient of
    the full-size image in memory (2 bytes each), and each scan passes over them."""
    width, height = image.size
    memory = FIXED_BYTES + 2 * buffer_bytes(width, height)
    if not image.info.get("progressive"):
        return Cost(memory, width * height)
    layers = getattr(image, "layer", [])  # (id, h sampling, v sampling, table) per component
    most_h = max((layer[1] for layer in layers), default=1) or 1
    most_v = max((layer[2] for layer in layers), default=1) or 1
    full_w, full_h = declared
    coefficients = sum(_blocks(full_w, layer[1], most_h) * _blocks(full_h, layer[2], most_v) * 64 for layer in layers)
    scans = data.count(b"\xff\xda")  # SOS markers: 0xFF in entropy-coded data is always escaped
    return Cost(memory + 2 * coefficients, full_w * full_h, scans=max(scans, 1))


def _blocks(pixels: int, sampling: int, most: int) -> int:
    """8x8 blocks along one side of a component (at most one MCU more than it needs)."""
    return -(-pixels * sampling // (most * 8)) + sampling


def check(cost: Cost, budget: int) -> None:
    """Refuse an image whose decoding would exceed a limit, naming the limit."""
    if cost.frames > MAX_FRAMES:
        raise OverLimitError(f"the animation has {cost.frames} frames; this service decodes at most {MAX_FRAMES}")
    for passes, limit, what in ((cost.frames, MAX_FRAME_PIXELS, "frames"), (cost.scans, MAX_SCAN_PIXELS, "scans")):
        if passes * cost.pixels > limit:
            raise OverLimitError(
                f"its {passes} {what} of {cost.pixels / 1e6:.1f} Mpx each are {passes * cost.pixels // 1_000_000} "
                f"Mpx to decode; this service decodes at most {limit // 1_000_000} Mpx of {what}"
            )
    if cost.memory > budget:
        raise OverLimitError(
            f"decoding it takes about {-(-cost.memory // MIB)} MiB; this service decodes images of up to "
            f"{budget // MIB} MiB (a still PNG of about {max_still_pixels(budget) // 1_000_000} Mpx)"
        )


def check_metadata(info: Mapping[Any, Any]) -> None:
    """EXIF, ICC profile and XMP each within MAX_METADATA_BYTES (they are copied and parsed)."""
    for key, name in (("exif", "EXIF"), ("icc_profile", "ICC profile"), ("xmp", "XMP")):
        value = info.get(key)
        if isinstance(value, bytes | str) and len(value) > MAX_METADATA_BYTES:
            raise OverLimitError(
                f"its {name} is {len(value)} bytes; this service reads at most {MAX_METADATA_BYTES} bytes of it"
            )


def max_still_pixels(budget: int, buffers: int = 2) -> int:
    """The most pixels of a still PNG or GIF (2 buffers) or WebP (4) that the budget decodes."""
    return (budget - FIXED_BYTES) // (buffers * PIXEL_BYTES)


def describe(budget: int) -> dict[str, int]:
    """The limits, in the units the API guide (docs/api.md) states them in."""
    return {
        "budget_mib": budget // MIB,
        "png_gif_mpx": max_still_pixels(budget) // 1_000_000,
        "webp_mpx": max_still_pixels(budget, 4) // 1_000_000,
        "declared_mpx": MAX_DECLARED_PIXELS // 1_000_000,
        # 4:2:0, the usual sampling: 1.5 coefficients a pixel, 2 bytes each
        "progressive_jpeg_mpx": (budget - FIXED_BYTES) // 3 // 1_000_000,
        "frames": MAX_FRAMES,
        "frame_mpx": MAX_FRAME_PIXELS // 1_000_000,
        "scan_mpx": MAX_SCAN_PIXELS // 1_000_000,
        "metadata_mib": MAX_METADATA_BYTES // MIB,
    }


def gif_frames(data: bytes) -> tuple[int, int, int]:
    """(frames, width, height) of a GIF from its block structure: the number of image descriptors,
    and the smallest canvas that holds the logical screen and every frame (Pillow grows the
    canvas to fit a frame that sticks out). Counting stops past MAX_FRAMES; no pixel is decoded."""
    if len(data) < 13:
        return 0, 0, 0
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    position = 13 + _colour_table(flags)
    frames = 0
    while position < len(data) and frames <= MAX_FRAMES:
        block = data[position]
        if block == 0x21:  # extension: label, then sub-blocks
            position = _after_sub_blocks(data, position + 2)
        elif block == 0x2C and position + 10 <= len(data):  # image descriptor
            left, top, frame_w, frame_h, flags = struct.unpack_from("<HHHHB", data, position + 1)
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            frames += 1
            position = _after_sub_blocks(data, position + 10 + _colour_table(flags) + 1)
        else:  # the trailer, or not GIF structure (the decoder will say so)
            break
    return frames, width, height


def _colour_table(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _after_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data) and data[position]:
        position += data[position] + 1
    return position + 1
