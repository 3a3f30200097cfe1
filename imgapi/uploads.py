"""Sending one image file: its type from its bytes, then `POST /upload` when it is small enough,
else a direct upload (a presigned form, the bytes straight to S3, then `complete`).

The upload and seed commands both send through send(); it returns the API's last answer
(the image, or the image that already had these bytes: `"duplicate": true`).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from urllib3 import encode_multipart_formdata

from imgapi.client import ApiError, Client, retry_once

MIB = 1024 * 1024
# The service's defaults (README: MAX_UPLOAD_BYTES, MAX_DIRECT_UPLOAD_BYTES), for an API whose
# /auth.json does not say its limits.
DEFAULT_MAX_UPLOAD = 4 * MIB
DEFAULT_MAX_DIRECT_UPLOAD = 50 * MIB
ACCEPTED = "JPEG, PNG, GIF, WebP, AVIF or HEIC"

# ISO base media files (AVIF, HEIC) name what they hold by brands in their first box, ftyp.
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"heif", b"mif1", b"msf1"}

Progress = Callable[[int], None]  # called with each number of bytes sent


@dataclass(frozen=True)
class Limits:
    upload: int  # the largest file POST /upload takes
    direct: int  # the largest direct upload


@dataclass(frozen=True)
class Upload:
    """A file to send and what to say about it (None: not sent)."""

    name: str
    data: bytes
    user: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()


def limits(client: Client) -> Limits:
    answer = client.call("limits").json()
    return Limits(
        int(answer.get("max_upload_bytes") or DEFAULT_MAX_UPLOAD),
        int(answer.get("max_direct_upload_bytes") or DEFAULT_MAX_DIRECT_UPLOAD),
    )


def content_type(data: bytes) -> str | None:
    """The image type from the magic numbers of the first bytes (as the service reads it), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        end = min(int.from_bytes(data[:4], "big"), len(data), 64)
        brands = {data[8:12], *(data[at : at + 4] for at in range(16, end - 3, 4))}
        if brands & _AVIF_BRANDS:  # AVIF first: a file naming both (mif1 is either) holds AV1
            return "image/avif"
        if brands & _HEIC_BRANDS:
            return "image/heic"
    return None


def send(client: Client, limit: Limits, upload: Upload, progress: Progress | None = None) -> dict[str, Any]:
    """The API's answer for the stored image (or the one that had these bytes already)."""
    kind = content_type(upload.data)
    if kind is None:  # the service would refuse it: say so before sending megabytes
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"{upload.name} is not a {ACCEPTED} image (by its bytes)")
    advance = progress or (lambda _: None)
    if len(upload.data) <= limit.upload:
        answer = _small(client, upload, kind)
        advance(len(upload.data))
        return answer
    return _direct(client, upload, kind, advance)


def _small(client: Client, upload: Upload, kind: str) -> dict[str, Any]:
    """POST /upload, multipart; a retry carries the same Idempotency-Key, so it cannot store twice."""
    key = str(uuid.uuid4())
    form: dict[str, Any] = {"user": upload.user, "description": upload.description, "tags": list(upload.tags)}
    form = {name: value for name, value in form.items() if value}
    files = {"file": (upload.name, upload.data, kind)}
    headers = {"Idempotency-Key": key}
    answer: dict[str, Any] = retry_once(lambda: client.call("upload", form=form, files=files, headers=headers).json())
    return answer


def _direct(client: Client, upload: Upload, kind: str, progress: Progress) -> dict[str, Any]:
    """POST /uploads for a presigned form, the form and the file to S3, then complete (which
    processes it now: the local server has no S3 notification, and elsewhere it is harmless)."""
    request: dict[str, Any] = {
        "user": upload.user,
        "filename": upload.name,
        "content_type": kind,
        "size": len(upload.data),
        "description": upload.description,
        "tags": list(upload.tags),
    }
    request = {name: value for name, value in request.items() if value}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    started = retry_once(lambda: client.call("start_direct_upload", json=request, headers=headers).json())
    _post_form(started["upload"], upload, kind, progress, client.timeout)
    answer: dict[str, Any] = client.call("complete_direct_upload", image_id=started["id"]).json()
    return answer


def _post_form(form: dict[str, Any], upload: Upload, kind: str, progress: Progress, timeout: float) -> None:
    """The presigned POST: its fields first, then the file (S3 reads fields only before it).
    S3 wants a Content-Length, not chunks, so the body is a file-like object of known length
    whose reads (as the connection sends it) advance the progress."""
    fields: list[tuple[str, Any]] = [*form["fields"].items(), ("file", (upload.name, upload.data, kind))]
    body, multipart_type = encode_multipart_formdata(fields)
    closing = len(b"\r\n--" + multipart_type.split("boundary=", 1)[1].encode() + b"--\r\n")
    start = len(body) - closing - len(upload.data)  # where the file's bytes are in the body
    reader = _Reading(body, progress, start, start + len(upload.data))
    headers = {"Content-Type": multipart_type, "Content-Length": str(len(body))}
    try:
        # No credentials: the form is the authorization, and S3 refuses a second one.
        response = requests.post(form["url"], data=reader, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise ApiError(0, "S3_UNREACHABLE", f"sending {upload.name} to S3 failed: {type(exc).__name__}") from exc
    if response.status_code >= 300:
        raise ApiError.of(response)


class _Reading(io.BytesIO):
    """A body that reports how far it has been read, counting the file's bytes only (body[start:end])."""

    def __init__(self, body: bytes, progress: Progress, start: int, end: int) -> None:
        super().__init__(body)
        self._progress, self._start, self._end = progress, start, end

    def read(self, size: int | None = -1) -> bytes:
        at = self.tell()
        chunk = super().read(size)
        counted = min(at + len(chunk), self._end) - max(at, self._start)
        if counted > 0:
            self._progress(counted)
        return chunk
