"""What goes in and out of the API: pydantic models, also the source of the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

USER_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
TAG_PATTERN = r"^[a-z0-9_.\-]{1,50}$"
TAG_FILTER_PATTERN = r"^[A-Za-z0-9_.\-]{1,50}$"  # any case: filters are lower-cased like tags
MAX_DESCRIPTION = 1000


Status = Literal["ready", "pending", "rejected"]


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


class DirectUploadRequest(BaseModel):
    """`POST /uploads`: describe the file; its bytes go straight to S3 with the returned form."""

    model_config = ConfigDict(extra="forbid")

    user: Annotated[str, Field(pattern=USER_PATTERN)]
    filename: Annotated[str, Field(min_length=1, max_length=1024, description="Kept as original_name")]
    content_type: Annotated[str, Field(description="image/jpeg, image/png, image/gif or image/webp")]
    size: Annotated[int, Field(ge=1, description="Bytes; at most MAX_DIRECT_UPLOAD_BYTES")]
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] = ""
    tags: list[str] | str = Field(default_factory=list, description="A list, or one comma-separated string")


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


class ErrorBody(BaseModel):
    """Every error, whatever its status."""

    error: str = Field(description="What went wrong, for people")
    code: str = Field(description="What went wrong, for programs (e.g. `FILE_TOO_LARGE`)")
    request_id: str = Field(description="Quote it when reporting a problem; it is in the logs")
