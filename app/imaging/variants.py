"""Rendering a variant: the image at another size and in another format, with Pillow.

The original was checked when it was stored; it is checked against the limits
again here (opened() in decode.py), as the limits or the function's memory may
have changed since. An animation's variant is its first frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from app.imaging.decode import opened

# Quality and effort: AVIF's speed 8 keeps a 2048 px render near a second on one core.
_SAVE: dict[str, dict[str, Any]] = {
    "jpeg": {"format": "JPEG", "quality": 85, "optimize": True, "progressive": True},
    "png": {"format": "PNG", "optimize": False, "compress_level": 6},
    "webp": {"format": "WEBP", "quality": 80, "method": 4},
    "avif": {"format": "AVIF", "quality": 60, "speed": 8},
}


@dataclass(frozen=True)
class Rendered:
    data: bytes
    width: int
    height: int


def render(data: bytes, width: int, height: int, fit: str, fmt: str) -> Rendered:
    """The image turned upright and made to fit `width` x `height` (0: follows the aspect ratio; both
    0: its own size), never larger than the original: `contain` fits inside the box, `cover` fills it and crops the
    middle. Encoded as `fmt` (one of files.VARIANT_FORMATS) without any metadata but the colour profile."""
    unbounded = 1 << 30
    box = (width or height * 64 or unbounded, height or width * 64 or unbounded)  # a side of 0 never limits
    draft = (width or 1, height or 1) if width or height else box  # a JPEG decodes at the scale that covers it
    with opened(data, draft) as (image, _, _):
        image.seek(0)
        image.load()
        # A CMYK profile does not describe the RGB pixels Pillow converts CMYK to.
        icc = None if image.mode == "CMYK" else image.info.get("icc_profile")
        upright = _convertible(ImageOps.exif_transpose(image), fmt)  # turned first: flattening drops EXIF
        resized = _cover(upright, width, height) if fit == "cover" and width and height else _contain(upright, box)
        for name in ("exif", "xmp", "XML:com.adobe.xmp", "comment"):  # some encoders copy what info holds
            resized.info.pop(name, None)
        buffer = io.BytesIO()
        resized.save(buffer, **_SAVE[fmt], **({"icc_profile": icc} if icc else {}))
        return Rendered(buffer.getvalue(), resized.width, resized.height)


def _convertible(image: Image.Image, fmt: str) -> Image.Image:
    """A mode the format stores: JPEG has no alpha (it is laid on white); palette and grey images are
    widened (they resize badly as they are)."""
    alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if fmt == "jpeg" and alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("RGB", "RGBA"):
        return image
    return image.convert("RGBA" if alpha and fmt != "jpeg" else "RGB")


def _contain(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    image = image.copy()
    image.thumbnail(box, Image.Resampling.LANCZOS)  # shrinks only
    return image


def _cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Crop the middle to the box's aspect ratio, then shrink to the box (never enlarge)."""
    scale = min(1.0, image.width / width, image.height / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS)
