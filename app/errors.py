"""What can go wrong, in the domain's terms: the logic raises these and never speaks HTTP.

Each error carries a `code` (a stable name for programs, part of the API's
contract) and a message for people, written here or by the raiser, never an
exception's text. The HTTP edge (app/web/resolver.py) is the one place that
turns each kind into a status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.records import ImageRow

# The accepted image types as people name them (app/logic/files.py's TYPES; a test checks they agree).
ACCEPTED_NAMES = "JPEG, PNG, GIF, WebP, AVIF or HEIC"


class DomainError(Exception):
    """Base of every refusal the service explains to its client."""

    code = "ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInputError(DomainError):
    """The request breaks a rule: a field, a parameter or the body itself (the code says which kind)."""

    code = "INVALID_FIELD"


class UnauthenticatedError(DomainError):
    """No caller could be established: a missing, malformed, expired, tampered or foreign token."""

    code = "UNAUTHENTICATED"


class ForbiddenError(DomainError):
    """The caller is known, and not allowed this (NOT_OWNER, USER_MISMATCH)."""

    code = "FORBIDDEN"


class NotFoundError(DomainError):
    """No such image (or it is being deleted)."""

    code = "NOT_FOUND"

    def __init__(self, message: str = "No image with this id") -> None:
        super().__init__(message)


class ConflictError(DomainError):
    """Not possible in the image's current state; `retry_after` (seconds) when waiting will help."""

    code = "CONFLICT"

    def __init__(self, message: str, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class DuplicateImageError(ConflictError):
    """The user already stored these very bytes (`image_id` names that image; `row` is it, when read)."""

    code = "DUPLICATE_IMAGE"

    def __init__(self, image_id: str | None, row: ImageRow | None = None) -> None:
        super().__init__("this user already stored these bytes" + (f", as image {image_id}" if image_id else ""))
        self.image_id = image_id
        self.row = row


class StaleVersionError(DomainError):
    """The image changed since the version the caller saw (its ETag): read it again, then change it."""

    code = "PRECONDITION_FAILED"

    def __init__(self) -> None:
        super().__init__("the image changed since that version (If-Match); GET it again for its current ETag")


class IdempotencyKeyReusedError(DomainError):
    """An Idempotency-Key already stands for a different request: a retry must repeat its request exactly."""

    code = "IDEMPOTENCY_KEY_REUSED"


class NotUploadedError(ConflictError):
    """A direct upload whose file is not in S3 (yet, or ever)."""

    code = "NOT_UPLOADED"


class RejectedFileError(DomainError):
    """The file is not one this service stores."""


class NotAnImageError(RejectedFileError):
    """The bytes are not a JPEG, PNG, GIF, WebP, AVIF or HEIC image (or are damaged)."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class FileTooLargeError(RejectedFileError):
    """More bytes than an upload may have."""

    code = "FILE_TOO_LARGE"


class ImageTooLargeError(RejectedFileError):
    """Decoding would take more memory or work than the limits allow (the message names the limit)."""

    code = "IMAGE_TOO_LARGE"


REJECTIONS: dict[str, type[RejectedFileError]] = {
    kind.code: kind for kind in (NotAnImageError, FileTooLargeError, ImageTooLargeError)
}


def rejection(code: str, reason: str = "") -> RejectedFileError:
    """The refusal of a file for `reason`, as the kind that `code` names words it.

    A rejected direct upload stores the code and the reason, and answers this every time.
    """
    kind = REJECTIONS.get(code, NotAnImageError)
    if kind is NotAnImageError:
        return kind(f"file is not a {ACCEPTED_NAMES} image" + (f" ({reason})" if reason else ""))
    if kind is ImageTooLargeError:
        return kind(f"the image is too large: {reason}")
    return kind(reason)
