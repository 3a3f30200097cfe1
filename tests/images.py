"""Real image files made with Pillow, for tests that need a valid image of a given kind."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image
from pillow_heif import register_heif_opener

register_heif_opener()  # tests make and read HEIC files (the service registers it only when one comes)

# (Pillow format, the type the API records, the extension of the stored key) for each accepted format.
FORMATS = [
    ("JPEG", "image/jpeg", "jpg"),
    ("PNG", "image/png", "png"),
    ("GIF", "image/gif", "gif"),
    ("WEBP", "image/webp", "webp"),
    ("AVIF", "image/avif", "avif"),
    ("HEIF", "image/heic", "heic"),
]


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def unique_png(size: tuple[int, int] = (40, 30)) -> bytes:
    """A PNG no other call returns (48 random bits in its first two pixels): a new image for any user,
    never a repeat of bytes they stored (which the service answers with the image they have)."""
    picture = Image.new("RGB", size, (200, 40, 90))
    noise = os.urandom(6)
    picture.putpixel((0, 0), tuple(noise[:3]))
    picture.putpixel((1 % size[0], 0 if size[0] > 1 else 1 % size[1]), tuple(noise[3:]))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def png_of_size(total: int) -> bytes:
    """A valid PNG of exactly `total` bytes: pixels, then random bytes after IEND, which decoders ignore.
    What is stored of it is the PNG alone (metadata stripping drops what follows IEND): `stored(...)`."""
    head = image_bytes("PNG")
    assert total >= len(head)
    return head + os.urandom(total - len(head))


def stored(data: bytes, kind: str = "png") -> bytes:
    """What the service keeps of an upload (app/imaging/strip/, STRIP_METADATA's default)."""
    from app.imaging.strip import strip_metadata

    return strip_metadata(data, kind)


def noisy_png(at_least: int) -> bytes:
    """A PNG of random pixels (incompressible) of at least `at_least` bytes, with nothing to strip."""
    side = int((at_least / 3) ** 0.5) + 8
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, format="PNG", compress_level=1)
    assert len(buffer.getvalue()) >= at_least
    return buffer.getvalue()


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def scene(
    size: tuple[int, int], sky: tuple[int, int, int], ground: tuple[int, int, int], grain: float = 0.0
) -> Image.Image:
    """A small landscape (a gradient and a sun), so that screenshots show something; `grain` adds
    noise, which JPEG cannot compress: the way to reach a given file size with real pixels."""
    from PIL import ImageDraw

    width, height = size
    ramp = Image.linear_gradient("L").resize(size)
    bands = [ramp.point(lambda v, a=a, b=b: a + (b - a) * v // 255) for a, b in zip(sky, ground, strict=True)]
    image = Image.merge("RGB", bands)
    if grain:
        noise = Image.merge("RGB", [Image.effect_noise(size, 120) for _ in range(3)])
        image = Image.blend(image, noise, grain)
    ImageDraw.Draw(image).ellipse((width * 0.62, height * 0.16, width * 0.86, height * 0.48), fill=(250, 200, 60))
    return image


GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo_with_location(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), orientation: int = 1) -> bytes:
    """A photo as a phone makes it: EXIF with the camera, the place (GPS) and an orientation, and XMP."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "PhoneModel 12"  # Model
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (52.0, 22.0, 7.5), 3: "E", 4: (4.0, 53.0, 40.2)})
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><creator>Someone Private</creator></rdf:RDF></x:xmpmeta>'
    buffer = io.BytesIO()
    scene(size, (90, 140, 220), (40, 120, 40)).save(buffer, format=fmt, exif=exif.tobytes(), xmp=xmp)
    return buffer.getvalue()


def location_of(data: bytes) -> dict[int, object]:
    """The GPS tags Pillow finds in an image's EXIF (empty: none)."""
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(GPS_IFD))


def pixels(data: bytes) -> bytes:
    """The decoded pixels of the first frame, as RGBA."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()
