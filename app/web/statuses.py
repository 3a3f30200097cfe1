"""The status each kind of domain error answers with: one table, for every route and for each item of a batch."""

from __future__ import annotations

from http import HTTPStatus

from app.errors import (
    ConflictError,
    DomainError,
    FileTooLargeError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    ImageTooLargeError,
    InvalidInputError,
    NotAnImageError,
    NotFoundError,
    StaleVersionError,
    UnauthenticatedError,
)

# Every kind of refusal, and the status it answers with (a subclass before its base).
STATUS = {
    InvalidInputError: HTTPStatus.BAD_REQUEST,
    UnauthenticatedError: HTTPStatus.UNAUTHORIZED,
    ForbiddenError: HTTPStatus.FORBIDDEN,
    NotFoundError: HTTPStatus.NOT_FOUND,
    ConflictError: HTTPStatus.CONFLICT,
    StaleVersionError: HTTPStatus.PRECONDITION_FAILED,
    IdempotencyKeyReusedError: HTTPStatus.UNPROCESSABLE_ENTITY,
    FileTooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ImageTooLargeError: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    NotAnImageError: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
}
INTERNAL = "Internal error; quote the request id"


def status_for(error: DomainError) -> HTTPStatus:
    return next(status for kind, status in STATUS.items() if isinstance(error, kind))
