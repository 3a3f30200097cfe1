"""Pixel work with Pillow: decode and measure an image, make its thumbnail.

Imported only where an image is processed (upload and the processing of a
direct upload), so that routes that only read metadata keep their cold start.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

THUMBNAIL_SIDE = 256
# Pillow warns above this many pixels and refuses above twice that; a phone photo is
# 12-50 Mpx. A warning is treated as a refusal: a decompression bomb must not reach memory.
Image.MAX_IMAGE_PIXELS = 100_000_000
# What the pixels may take once decoded, counted as 4 bytes a pixel (RGBA, the widest
# mode a thumbnail goes through), so that one image fits a 1 GB function with room to
# spare. JPEG decodes at a reduced scale for the thumbnail, so only the scaled size counts;
# a PNG, GIF or WebP decodes whole: about 67 Mpx at most.
MAX_DECODED_BYTES = 256 * 1024 * 1024
MAX_FRAMES = 1000  # every frame of an animation is decoded, so that a truncated one is refused
# Pillow calls a JPEG with extra pictures (MPF: phones' depth or HDR maps) "MPO"; it is a JPEG.
FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
_ORIENTATION = 0x0112  # the EXIF tag


class NotAnImageError(ValueError):
    """The bytes do not decode as one of the accepted formats (the message says why)."""


@dataclass(frozen=True)
class Decoded:
    format: str  # jpeg, png, gif or webp: what the pixels are, whatever the name said
    width: int  # as displayed: EXIF orientation applied
    height: int
    thumbnail: bytes  # WebP, longest side THUMBNAIL_SIDE at most
    thumbnail_type: str = "image/webp"
    thumbnail_extension: str = "webp"


def decode(data: bytes) -> Decoded:
    """Decode the whole image (a truncated or corrupt file is refused) and make its thumbnail."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = FORMATS.get(image.format or "")
                if kind is None:
                    raise NotAnImageError(f"{image.format or 'unknown'} images are not accepted")
                width, height = image.size  # from the header, before draft() scales it down
                if image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):  # shown rotated by 90 degrees
                    width, height = height, width
                # JPEG can decode at 1/2, 1/4 or 1/8 scale: a thumbnail never needs full resolution.
                image.draft("RGB", (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))
                _check_memory(image)
                _decode_every_frame(image)
                return Decoded(kind, width, height, _thumbnail(image))
    except NotAnImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NotAnImageError(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # what Pillow raises for broken files
        raise NotAnImageError(f"the image is damaged or truncated ({exc})") from exc


def _check_memory(image: Image.Image) -> None:
    width, height = image.size  # after draft(): what will really be decoded
    if width * height * 4 > MAX_DECODED_BYTES:
        megapixels = width * height / 1e6
        raise NotAnImageError(
            f"{megapixels:.0f} Mpx is more than this service decodes ({MAX_DECODED_BYTES // 4 // 10**6} Mpx)"
        )


def _decode_every_frame(image: Image.Image) -> None:
    """Decode each frame (load() alone decodes the first), leaving the first one loaded."""
    frames = getattr(image, "n_frames", 1)
    if frames > MAX_FRAMES:
        raise NotAnImageError(f"{frames} frames is more than this service decodes ({MAX_FRAMES})")
    for index in range(frames):
        image.seek(index)
        image.load()
    if frames > 1:
        image.seek(0)
        image.load()


def _thumbnail(image: Image.Image) -> bytes:
    """Shrink first, then turn upright and convert: no copy of the full-size image is ever made."""
    if image.mode not in ("RGB", "RGBA"):  # palette and grey images resize badly as they are
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    upright = ImageOps.exif_transpose(image)
    buffer = io.BytesIO()
    upright.save(buffer, format="WEBP", quality=80, method=4)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
