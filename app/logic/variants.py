"""Variants: an image at an allowed size and in a format, rendered once on request and kept beside it.

A variant's key (layout.variant_key) names its image, size, fit and format, so
the first request renders and stores it and every later one finds it with one
HEAD. The sizes a variant may have are a short list (settings.variant_sizes):
nobody can fill the bucket with a variant per pixel width.

The order of writes: the variant is stored, then its image is read again. An
image deleted meanwhile gets the variant deleted too; if the function dies in
between, reconciliation finds the variant without a row and removes it. A
delete lists the image's variants after its tombstone is written (deletes.py),
so a variant rendered after that is the one this check catches.
"""

from __future__ import annotations

from app import layout
from app.errors import ConflictError, InvalidInputError, NotFoundError, rejection
from app.imaging.limits import RefusedError
from app.layout import READY
from app.logic.access import ANYONE, Caller
from app.logic.files import TYPES
from app.logic.image_bytes import delete_quietly
from app.logic.images import get_visible
from app.observability import metrics
from app.records import ImageRow
from app.settings import get_settings
from app.storage import ImageStore

# Best first: what `format=auto` answers when the client's Accept names it.
_PREFERRED = ("avif", "webp")
# Without either, a format that keeps what the original may have: alpha (PNG), or not (JPEG).
_MAY_HAVE_ALPHA = ("png", "gif", "webp", "avif")


def allowed_size(value: int | None, name: str) -> int:
    """A requested side (None: not given, 0) if the settings allow it; InvalidInputError otherwise."""
    sizes = get_settings().variant_sizes
    if value is None:
        return 0
    if value not in sizes:
        raise InvalidInputError(f"{name} must be one of {', '.join(map(str, sizes))}", "SIZE_NOT_ALLOWED")
    return value


def negotiated(requested: str, accept: str | None, original_format: str) -> str:
    """The format to render: the one asked for, or for `auto` the best one the Accept header names."""
    if requested != "auto":
        return requested
    accepted = _accepted_types(accept or "")
    for fmt in _PREFERRED:
        if TYPES[fmt].mime in accepted:
            return fmt
    return "png" if original_format in _MAY_HAVE_ALPHA else "jpeg"


def _accepted_types(accept: str) -> set[str]:
    """The media types an Accept header names with a quality above 0."""
    accepted = set()
    for part in accept.split(","):
        media, *parameters = (piece.strip().lower() for piece in part.split(";"))
        quality = next((value for name, _, value in (p.partition("=") for p in parameters) if name == "q"), "1")
        try:
            if float(quality) > 0:
                accepted.add(media)
        except ValueError:
            continue
    return accepted


def get_variant(
    store: ImageStore,
    image_id: str,
    width: int | None,
    height: int | None,
    fit: str,
    fmt: str,
    accept: str | None = None,
    caller: Caller = ANYONE,
) -> str:
    """A presigned URL of the variant of a ready image the caller may see, rendered now if it was not stored yet."""
    width, height = allowed_size(width, "w"), allowed_size(height, "h")
    if not width and not height:
        raise InvalidInputError("give w, h or both", "SIZE_REQUIRED")
    row = get_visible(store, image_id, caller)
    if row["status"] != READY:
        raise ConflictError(f"the image is {row['status']}, not ready", "NOT_READY")
    fmt = negotiated(fmt, accept, row.get("format", ""))
    fit = fit if width and height else "contain"  # one side given: both fits are the same picture
    if fit == "contain" and width >= row["width"] * bool(width) and height >= row["height"] * bool(height):
        width = height = 0  # a box the image fits in whole: its own size, one object for every such box
    key = layout.variant_key(row["id"], width, height, fit, TYPES[fmt].extension)
    if store.object_size(key) is None:
        _render(store, row, key, width, height, fit, fmt)
    return store.presigned_get(key, get_settings().url_expires_in)


def _render(store: ImageStore, row: ImageRow, key: str, width: int, height: int, fit: str, fmt: str) -> None:
    from app.imaging.variants import render  # Pillow: imported when a variant is first made

    data = store.read_object(row["key"])
    if data is None:  # its image was deleted after it was read above
        raise NotFoundError()
    try:
        variant = render(data, width, height, fit, fmt)
    except RefusedError as exc:  # e.g. the decode budget was lowered since it was stored
        raise rejection(exc.code, str(exc)) from exc
    store.put_object(key, variant.data, TYPES[fmt].mime, row["id"])
    now = store.get_row(row["id"])
    if now is None or now["status"] != READY:  # deleted meanwhile: the variant would outlive it
        delete_quietly(store, key)
        raise NotFoundError()
    metrics.add_metric(name="VariantsRendered", unit="Count", value=1)
