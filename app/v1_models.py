"""What goes in and out of /v1/images (app/web/v1.py): the same images as app/models.py describes,
in the JSON resource face's own field names; the shared field rules come from there."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.models import Description, JsonTags, no_control_characters

V1_USER_PATTERN = r"^[A-Za-z0-9_-]{3,50}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
V1_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "heif")
MAX_IMAGE_NAME = 255


def _image_name(value: str) -> str:
    """A file name (not a path) with one of the image extensions; the type itself is read from the bytes."""
    if "/" in value or "\\" in value:
        raise PydanticCustomError("image_name_path", "must be a file name, not a path")
    stem, dot, extension = value.rpartition(".")
    if not dot or not stem.strip() or extension.lower() not in V1_EXTENSIONS:
        raise PydanticCustomError("image_name_extension", f"must end in .{', .'.join(V1_EXTENSIONS)}")
    return value


ImageName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_IMAGE_NAME, description=f"A file name ending in .{', .'.join(V1_EXTENSIONS)}"),
    AfterValidator(no_control_characters),
    AfterValidator(_image_name),
]
V1UserId = Annotated[
    str, Field(pattern=V1_USER_PATTERN, description="3-50 letters, digits, `_` or `-`; signed in: yours, or left out")
]


class V1UploadRequest(BaseModel):
    """`POST /v1/images`: the image in base64, and what describes it."""

    model_config = ConfigDict(extra="ignore")

    user_id: V1UserId | None = None
    image_name: ImageName
    description: Annotated[Description | None, BeforeValidator(lambda v: "" if v is None else v)] = ""
    tags: JsonTags = Field(default_factory=list)
    file: Annotated[str, Field(min_length=1, description="The image in base64; at most 4 MiB decoded")]


class V1Image(BaseModel):
    """An image as /v1/images shows it."""

    image_id: str
    user_id: str
    image_name: str
    description: str
    tags: list[str]
    created_at: str = Field(description="ISO-8601, UTC, to the second (e.g. 2024-01-15T10:30:00Z)")
    s3_key: str
    file_size: int = Field(description="Bytes")
    mime_type: str


class V1UploadResult(V1Image):
    message: str = "Image uploaded successfully"


class V1Pagination(BaseModel):
    limit: int
    offset: int
    has_more: bool


class V1ImageList(BaseModel):
    """`GET /v1/images`: one page of a user's images, and how many match in all."""

    images: list[V1Image]
    total_count: int
    returned_count: int
    filter_applied: str | None = Field(description="The filters, in words; null without any")
    pagination: V1Pagination


class V1DeleteResult(BaseModel):
    message: str = "Image deleted successfully"
    image_id: str


class V1ErrorBody(BaseModel):
    """Every error of /v1/images."""

    error: str = Field(description="The status, in words (e.g. `Bad Request`)")
    message: str = Field(description="What went wrong, for people")
    code: str = Field(description="What went wrong, for programs (e.g. `FILE_TOO_LARGE`)")
    request_id: str = Field(description="Quote it when reporting a problem; it is in the logs")
