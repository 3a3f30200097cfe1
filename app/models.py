"""What goes in and out of the API: pydantic models, also the source of the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

USER_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
TAG_PATTERN = r"^[a-z0-9_.\-]{1,50}$"
TAG_FILTER_PATTERN = r"^[A-Za-z0-9_.\-]{1,50}$"  # any case: filters are lower-cased like tags
MAX_DESCRIPTION = 1000


class UploadForm(BaseModel):
    """The text fields of `POST /upload` (the file travels beside them)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    user: Annotated[str, Field(pattern=USER_PATTERN, description="1-64 letters, digits, `_`, `-` or `.`")]
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] = ""


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


class ImageDetail(ImageSummary):
    """`GET /view/{id}`: the metadata and a presigned URL of the bytes."""

    bucket: str
    url: str = Field(description="Presigned S3 GET")
    expires_in: int = Field(description="Seconds the URL stays valid")


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


class DeleteResult(BaseModel):
    deleted: str
    key: str


class ErrorBody(BaseModel):
    """Every error, whatever its status."""

    error: str = Field(description="What went wrong, for people")
    code: str = Field(description="What went wrong, for programs (e.g. `FILE_TOO_LARGE`)")
    request_id: str = Field(description="Quote it when reporting a problem; it is in the logs")
