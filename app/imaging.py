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
# Pillow warns above 89 Mpx and refuses above twice that; a phone photo is 12-50 Mpx.
# A warning is treated as a refusal: a decompression bomb must not reach memory.
Image.MAX_IMAGE_PIXELS = 100_000_000
FORMATS = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
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
                image.load()
                return Decoded(kind, width, height, _thumbnail(ImageOps.exif_transpose(image)))
    except NotAnImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NotAnImageError(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # what Pillow raises for broken files
        raise NotAnImageError(f"the image is damaged or truncated ({exc})") from exc


def _thumbnail(image: Image.Image) -> bytes:
    frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    frame.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    frame.save(buffer, format="WEBP", quality=80, method=4)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
