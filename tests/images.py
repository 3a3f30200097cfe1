"""Real image files made with Pillow, for tests that need a valid image of a given kind."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def png_of_size(total: int) -> bytes:
    """A valid PNG of exactly `total` bytes: pixels, then random bytes after IEND, which decoders ignore."""
    head = image_bytes("PNG")
    assert total >= len(head)
    return head + os.urandom(total - len(head))


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path
