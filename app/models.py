"""What goes in and out of the API: pydantic models, with every rule a field must follow.

The models validate the requests (the routes hand them what they parsed) and
are the source of the OpenAPI document, rules included: nothing repeats them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from app.errors import ACCEPTED_NAMES

USER_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
TAG_PATTERN = r"^[a-z0-9_.\-]{1,50}$"
TAG_FILTER_PATTERN = r"^[A-Za-z0-9_.\-]{1,50}$"  # any case: filters are lower-cased like tags
MAX_DESCRIPTION = 1000
MAX_TAGS = 10
MAX_TAG_ENTRIES = 100  # entries before de-duplication ("a,a,b" is three)
_TAG_RE = re.compile(TAG_PATTERN)
USER_RE = re.compile(USER_PATTERN)


def is_user_name(value: object) -> TypeGuard[str]:
    """A user name as every way in takes it (forms, JSON, queries: USER_PATTERN; tokens: here): whole.
    fullmatch, because `$` alone lets "alice\n" through, and that user would show as alice."""
    return isinstance(value, str) and USER_RE.fullmatch(value) is not None


Status = Literal["ready", "pending", "rejected"]


def no_control_characters(value: str) -> str:
    """Text may hold any Unicode except control characters (tabs and newlines aside)."""
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


def _tags(value: Any) -> list[str]:
    """Tags from repeated and/or comma-separated values: trimmed, lower-cased, de-duplicated, in order.

    The number of entries is bounded before any is looked at, so a field of
    10,000 commas costs no more than one of ten.
    """
    if value is None:  # JSON's null: no tags
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(item, str) for item in values[: MAX_TAG_ENTRIES + 1]):
        raise PydanticCustomError("tags_type", "must be a list of strings or one comma-separated string")
    pieces: list[str] = []
    for item in values[: MAX_TAG_ENTRIES + 1]:
        pieces.extend(item.split(",", MAX_TAG_ENTRIES - len(pieces)))
        if len(pieces) > MAX_TAG_ENTRIES:
            raise PydanticCustomError("too_many_tags", f"at most {MAX_TAGS} tags (and {MAX_TAG_ENTRIES} entries)")
    tags = list(dict.fromkeys(piece.strip().lower() for piece in pieces if piece.strip()))
    for tag in tags:
        if not _TAG_RE.fullmatch(tag):
            raise PydanticCustomError(
                "tag_pattern", "tag {tag} must be 1-50 letters, digits, '_', '-' or '.'", {"tag": json.dumps(tag[:60])}
            )
    if len(tags) > MAX_TAGS:
        raise PydanticCustomError(
            "too_many_tags", "at most {limit} tags, got {count}", {"limit": MAX_TAGS, "count": len(tags)}
        )
    return tags


_TAG_LIST = {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string", "pattern": TAG_PATTERN}}
_STORED_AS = "stored lower-case, de-duplicated"
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION), AfterValidator(no_control_characters)]
# A form repeats the field, or separates tags with commas; JSON sends a list, or one such string.
FormTags = Annotated[
    list[str],
    BeforeValidator(_tags),
    WithJsonSchema({**_TAG_LIST, "description": f"Repeat the field or separate tags with commas; {_STORED_AS}"}),
]
JsonTags = Annotated[
    list[str],
    BeforeValidator(_tags),
    WithJsonSchema(
        {
            "anyOf": [_TAG_LIST, {"type": "string"}],
            "description": f"A list, or one comma-separated string; {_STORED_AS}",
        }
    ),
]


class UploadForm(BaseModel):
    """The text fields of `POST /upload` (the file travels beside them)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    user: Annotated[
        str | None,
        Field(pattern=USER_PATTERN, description="1-64 letters, digits, `_`, `-` or `.`; signed in: yours, or left out"),
    ] = None
    description: Description = ""
    tags: FormTags = Field(default_factory=list)


class UploadRequest(UploadForm):
    """`POST /upload` as the OpenAPI document describes it: the form's fields and its file."""

    file: bytes = Field(description=ACCEPTED_NAMES)


class ImageSummary(BaseModel):
    """One item of `GET /list`."""

    id: str
    filename: str = Field(description="The object's name in the bucket: `<id>.<extension>`")
    original_name: str = Field(description="The client's file name, sanitised; never used as a key")
    user: str
    description: str
    created_at: int = Field(description="Epoch seconds")
    content_type: str
    size: int
    tags: list[str] = Field(default_factory=list)
    width: int | None = Field(None, description="Pixels, as displayed (EXIF orientation applied); null until processed")
    height: int | None = None
    status: Status = "ready"
    thumbnail_url: str | None = Field(None, description="Presigned S3 GET of the thumbnail (WebP, 256 px)")


class ImageDetail(ImageSummary):
    """`GET /view/{id}`: the metadata and presigned URLs of the image and its thumbnail."""

    bucket: str
    url: str | None = Field(description="Presigned S3 GET of the image; null unless status is ready")
    expires_in: int = Field(description="Seconds the URLs stay valid")
    rejection_reason: str | None = Field(None, description="Why a direct upload was rejected")


class UploadResult(BaseModel):
    """`POST /upload` answer."""

    id: str
    key: str
    bucket: str
    message: str = "Upload successful"
    user: str
    description: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    created_at: int
    tags: list[str] = Field(default_factory=list)
    width: int
    height: int
    status: Status = "ready"
    duplicate: bool = Field(
        False, description="true: this user had stored these bytes already; this is that image (200, not 201)"
    )


class CompletedUpload(ImageDetail):
    """`POST /uploads/{id}/complete`: the processed image."""

    duplicate: bool = Field(
        False, description="true: this user had stored these bytes already; this is that image (another id)"
    )


class DirectUploadRequest(BaseModel):
    """`POST /uploads`: describe the file; its bytes go straight to S3 with the returned form."""

    model_config = ConfigDict(extra="forbid")

    user: Annotated[str | None, Field(pattern=USER_PATTERN, description="Signed in: yours, or left out")] = None
    filename: Annotated[str, Field(min_length=1, max_length=1024, description="Kept as original_name")]
    content_type: Annotated[str, Field(description="image/jpeg, image/png, image/gif or image/webp")]
    size: Annotated[int, Field(ge=1, description="Bytes; at most MAX_DIRECT_UPLOAD_BYTES")]
    description: Description = ""
    tags: JsonTags = Field(default_factory=list)


class PresignedPost(BaseModel):
    url: str = Field(description="POST a multipart form here: the fields below, then the file as `file`, last")
    fields: dict[str, str]


class DirectUploadResult(BaseModel):
    id: str
    upload: PresignedPost
    expires_in: int = Field(description="Seconds the upload form stays valid")
    status: Status = "pending"


class Redirect(BaseModel):
    """`GET /view/{id}?redirect=1`: 302, Location the presigned URL (repeated here)."""

    url: str


class DeleteResult(BaseModel):
    deleted: str
    key: str


class ImageEdit(BaseModel):
    """`PATCH /images/{id}`: the fields to change, with the rules they have at upload; the others stay."""

    model_config = ConfigDict(extra="forbid")

    description: Description | None = None
    tags: JsonTags | None = Field(None, description="Replaces the image's tags; [] or null removes them all")

    @model_validator(mode="after")
    def _something(self) -> ImageEdit:
        if not self.model_fields_set:
            raise PydanticCustomError("nothing_to_change", "give description, tags or both")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, as a row stores them (null tags: none; null description: empty)."""
        given = self.model_dump(include=self.model_fields_set)
        if "description" in given and given["description"] is None:
            given["description"] = ""
        if "tags" in given and given["tags"] is None:
            given["tags"] = []
        return given


MAX_BATCH_DELETE = 100


class BatchDeleteRequest(BaseModel):
    """`POST /images/delete`: the ids of the images to delete."""

    model_config = ConfigDict(extra="forbid")

    ids: Annotated[
        list[Annotated[str, Field(max_length=64)]],
        Field(min_length=1, max_length=MAX_BATCH_DELETE, description="Image ids; a repeated id counts once"),
        AfterValidator(lambda ids: list(dict.fromkeys(ids))),
    ]


class BatchDeleteItem(BaseModel):
    """What happened to one id: the status and code a DELETE /delete/{id} of it alone would have answered."""

    id: str
    status: int = Field(description="200 deleted; 403, 404, 409 or 500 as a single delete would answer")
    code: str = Field(description="DELETED, or the error's code")
    error: str | None = Field(default=None, description="Why not, for people")


class BatchDeleteResult(BaseModel):
    """`POST /images/delete`: 200 with a result per id, in the order asked, whatever each one's outcome."""

    results: list[BatchDeleteItem]
    deleted: int = Field(description="How many were deleted")
    failed: int = Field(description="How many were not (a retry of just those is safe)")


class AuthConfig(BaseModel):
    """`GET /auth.json`: what a client (the gallery, imgapi) needs: how to sign in, and the upload limits."""

    auth: str = Field(description="none, api-key or jwt")
    visibility: str = Field(description="shared or private")
    sign_in_url: str | None = Field(description="The issuer's hosted sign-in (Cognito), when there is one")
    client_id: str | None = Field(description="The app client the tokens are for (their audience)")
    user_claim: str | None
    admin_claim: str | None
    admin_group: str | None
    max_upload_bytes: int = Field(description="Largest file POST /upload takes; larger ones go direct (POST /uploads)")
    max_direct_upload_bytes: int = Field(description="Largest direct upload")


class ErrorBody(BaseModel):
    """Every error, whatever its status."""

    error: str = Field(description="What went wrong, for people")
    code: str = Field(description="What went wrong, for programs (e.g. `FILE_TOO_LARGE`)")
    request_id: str = Field(description="Quote it when reporting a problem; it is in the logs")
