"""Every request imgapi makes to the API, as data: the contract it holds the API to.

client.Client.call sends only what an operation here declares (anything else is a
programming error), and tests/integration/test_cli.py checks each operation
against openapi.json: the path and method exist, every query parameter and header is
a declared parameter, every body field a property of the request body's schema, and
every field read a property of a success answer's schema. Changing what the CLI
sends or reads therefore starts here.

A field read is a dotted path into the answer: "upload.url" is a field of an
object, "results[].code" a field of each item of an array.
"""

from __future__ import annotations

from dataclasses import dataclass

JSON = "application/json"
FORM = "multipart/form-data"

# What the upload commands print of an image (and so read of every answer that is one).
IMAGE_FIELDS = ("id", "user", "original_name", "content_type", "size", "width", "height")
LISTED_FIELDS = (*IMAGE_FIELDS, "created_at", "tags", "status")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # a template: {image_id} is filled in
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()  # the JSON body's fields, or the form's
    body_type: str | None = None  # JSON or FORM
    headers: tuple[str, ...] = ()  # sent besides the credentials (x-api-key, Authorization)
    reads: tuple[str, ...] = ()
    success: tuple[int, ...] = (200,)


OPERATIONS: dict[str, Operation] = {
    # Public (no key needed): the upload limits, to choose between /upload and a direct upload.
    "limits": Operation("GET", "/auth.json", reads=("max_upload_bytes", "max_direct_upload_bytes")),
    "upload": Operation(
        "POST",
        "/upload",
        body=("user", "description", "tags", "file"),
        body_type=FORM,
        headers=("Idempotency-Key",),
        reads=(*IMAGE_FIELDS, "duplicate"),
        success=(200, 201),  # 200: the user stored these bytes already (duplicate)
    ),
    "start_direct_upload": Operation(
        "POST",
        "/uploads",
        body=("user", "filename", "content_type", "size", "description", "tags"),
        body_type=JSON,
        headers=("Idempotency-Key",),
        reads=("id", "upload.url", "upload.fields", "expires_in"),
        success=(201,),
    ),
    "complete_direct_upload": Operation(
        "POST", "/uploads/{image_id}/complete", reads=(*IMAGE_FIELDS, "duplicate"), success=(200,)
    ),
    "list": Operation(
        "GET",
        "/list",
        query=("limit", "user", "tag", "name_contains", "from", "to", "order", "status"),
        reads=tuple(f"[].{field}" for field in LISTED_FIELDS),
    ),
    "view": Operation("GET", "/view/{image_id}", reads=(*LISTED_FIELDS, "description", "url")),
    "delete": Operation("DELETE", "/delete/{image_id}", headers=("Idempotency-Key",), reads=("deleted",)),
    "delete_many": Operation(
        "POST",
        "/images/delete",
        body=("ids",),
        body_type=JSON,
        headers=("Idempotency-Key",),
        reads=("results[].id", "results[].status", "results[].code", "results[].error", "deleted", "failed"),
    ),
    "get_image": Operation("GET", "/images/{image_id}", reads=("id", "description", "tags")),
    "edit": Operation(
        "PATCH",
        "/images/{image_id}",
        body=("description", "tags"),
        body_type=JSON,
        headers=("If-Match",),
        reads=("id", "description", "tags"),
    ),
}
