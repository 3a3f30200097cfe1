"""Decoding with Pillow: measure an image from its headers, decode it, make its thumbnail.

Order matters: open (headers only) -> draft -> measure and check the limits
(limits.py) -> only then anything that reads pixel data, EXIF included (a
PNG's EXIF may follow its pixels, and reading it decodes them).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, PngImagePlugin, UnidentifiedImageError

from app.imaging import limits
from app.imaging.limits import OverLimitError, RefusedError, UnreadableError
from app.settings import get_settings

THUMBNAIL_SIDE = 256
# Pillow's own limits, set deliberately rather than left at their defaults:
# - nothing over MAX_DECLARED_PIXELS gets past its header (Pillow warns above the limit and
#   refuses above twice it; decode() treats the warning as a refusal);
# - a truncated image is an error, never a partly grey picture;
# - PNG text chunks (tEXt, zTXt, iTXt, and iCCP profiles, which share the limit) inflate to at
#   most 1 MiB each and 2 MiB together.
Image.MAX_IMAGE_PIXELS = limits.MAX_DECLARED_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False
PngImagePlugin.MAX_TEXT_CHUNK = limits.MAX_METADATA_BYTES
PngImagePlugin.MAX_TEXT_MEMORY = 2 * limits.MAX_METADATA_BYTES
# The plugins Pillow may try: nothing else is ever parsed (MPO is JPEG's plugin; HEIF is
# pillow-heif's, registered only when a HEIC file comes, as it costs cold start).
PILLOW_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "HEIF")  # HEIF last: see _open()
# Pillow calls a JPEG with extra pictures (MPF: phones' depth or HDR maps) "MPO"; it is a JPEG.
FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "AVIF": "avif", "HEIF": "heic"}
# Formats whose further pictures are not frames of an animation (MPO's depth maps, a HEIC's burst).
_STILL = ("jpeg", "heic")
_ORIENTATION = 0x0112  # the EXIF tag
DAMAGED = "damaged or truncated"


@dataclass(frozen=True)
class Decoded:
    format: str  # jpeg, png, gif or webp: what the pixels are, whatever the name said
    width: int  # as displayed: EXIF orientation applied
    height: int
    thumbnail: bytes  # WebP, longest side THUMBNAIL_SIDE at most
    thumbnail_type: str = "image/webp"
    thumbnail_extension: str = "webp"


def decode(data: bytes, budget: int | None = None) -> Decoded:
    """Check the limits, decode the whole image (a truncated or corrupt file is refused), thumbnail it.

    Raises OverLimitError or UnreadableError, whose messages (reasons) are
    written here for people: never an exception's text, a repr or a path.
    """
    with opened(data, (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2), budget) as (image, kind, declared):
        width, height = _displayed_size(image, declared)
        _decode_every_frame(image, kind)
        limits.check_metadata(image.info)  # what followed the pixels (a PNG's late eXIf chunk)
        return Decoded(kind, width, height, _thumbnail(image))


@contextmanager
def opened(
    data: bytes, draft_to: tuple[int, int], budget: int | None = None
) -> Iterator[tuple[Image.Image, str, tuple[int, int]]]:
    """The image opened (headers only) and checked against the limits: (image, kind, declared size).

    A JPEG is drafted to the smallest scale (1/2, 1/4, 1/8) that still covers `draft_to`:
    what is made from it never needs more. Errors inside are refusals, as for decode().
    """
    budget = get_settings().decode_budget_bytes if budget is None else budget
    with _pillow_errors(), _open(data) as image:
        kind = FORMATS.get(image.format or "")
        if kind is None:
            raise UnreadableError("its format is not accepted")
        declared = image.size
        limits.check_metadata(image.info)
        if kind == "jpeg" and _turned(image):  # draft() compares with the stored size, not the shown one
            draft_to = (draft_to[1], draft_to[0])
        image.draft("RGB", draft_to)
        limits.check(limits.measure(image, data, declared), budget)
        yield image, kind, declared


def _open(data: bytes) -> Image.Image:
    """Pillow's own plugins first; pillow-heif's only for an ISO file none of them knows (a HEIC),
    as registering it loads libheif (and the x265 it links) into the process."""
    registered = "HEIF" in Image.OPEN
    try:  # Pillow refuses a format it was asked for that no plugin registered
        return Image.open(io.BytesIO(data), formats=PILLOW_FORMATS if registered else PILLOW_FORMATS[:-1])
    except UnidentifiedImageError:
        if data[4:8] != b"ftyp" or registered:
            raise
    _register_heif()
    return Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)


def _register_heif() -> None:
    """pillow-heif's plugin, the first time a HEIF-family file comes (AVIF is Pillow's own)."""
    if "HEIF" not in Image.OPEN:
        from pillow_heif import register_heif_opener

        # Only the primary picture: never a HEIC's thumbnails or depth images.
        register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


@contextmanager
def _pillow_errors() -> Iterator[None]:
    """Pillow's refusals as this service's, with messages of our own."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except RefusedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        limit = limits.MAX_DECLARED_PIXELS // 1_000_000
        raise OverLimitError(f"it declares more than {limit} Mpx; this service decodes at most {limit} Mpx") from exc
    except ValueError as exc:
        if "MAX_TEXT" in str(exc):  # PngImagePlugin's MAX_TEXT_CHUNK / MAX_TEXT_MEMORY (set above)
            limit = limits.MAX_METADATA_BYTES // limits.MIB
            raise OverLimitError(
                f"its text or ICC chunks are too large; this service reads at most {limit} MiB of each "
                f"and {2 * limit} MiB in all"
            ) from exc
        raise UnreadableError(DAMAGED) from exc
    except UnidentifiedImageError as exc:
        raise UnreadableError("its format is not recognised") from exc
    # Pillow on malformed files; RuntimeError: libavif's and libheif's refusals ("decoding failed").
    except (OSError, SyntaxError, EOFError, IndexError, TypeError, KeyError, RuntimeError) as exc:
        raise UnreadableError(DAMAGED) from exc


def _displayed_size(image: Image.Image, declared: tuple[int, int]) -> tuple[int, int]:
    """Width and height as shown: swapped when EXIF says the picture is turned by 90 degrees."""
    width, height = declared
    return (height, width) if _turned(image) else (width, height)


def _turned(image: Image.Image) -> bool:
    """Whether EXIF says the picture is shown turned by 90 degrees (orientations 5 to 8)."""
    return image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8)


def _decode_every_frame(image: Image.Image, kind: str) -> None:
    """Decode each frame of an animation (load() alone decodes the first), leaving the first loaded.

    A JPEG's further pictures (MPO: depth or gain maps) are not needed: only its first is decoded.
    """
    frames = 1 if kind in _STILL else getattr(image, "n_frames", 1)
    for index in range(frames):
        image.seek(index)
        image.load()
    if frames > 1:
        image.seek(0)
        image.load()


def _thumbnail(image: Image.Image) -> bytes:
    """Convert palette and grey images (they resize badly as they are), shrink, then turn upright:
    only the thumbnail is ever turned, never the full-size image."""
    if image.mode not in ("RGB", "RGBA"):  # palette and grey images resize badly as they are
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    upright = ImageOps.exif_transpose(image)
    buffer = io.BytesIO()
    upright.save(buffer, format="WEBP", quality=80, method=4)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
