"""The errors the API answers with: an HTTP status, a machine code and a message for people."""

from __future__ import annotations

from http import HTTPStatus


class ApiError(Exception):
    """Raised anywhere below the routes; the resolver turns it into the JSON error body."""

    def __init__(self, status: HTTPStatus, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, code, message)


def not_found(message: str = "No image with this id") -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "NOT_FOUND", message)
