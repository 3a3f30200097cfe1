"""Every setting the service reads, and every name it gives what it creates, in one place.

Standard library only: deploy.sh (through deploy/resources.py), the local
server, the maintenance tool and the tests import this module from the host's
Python to learn the same names and limits the Lambda uses, so it must not need
the Lambda's dependencies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

MIB = 1024 * 1024
SERVICE = "image-api"  # the default of every name below, and the service in logs and metrics
# Paths served without an API key even when deploy.sh --api-key protects the rest: a browser
# cannot add x-api-key to a page load, and the page, its assets and the API's documentation
# hold no data. They are all GET routes of the site and the resolver (app/web).
PUBLIC_PATHS = ("/", "/gallery.js", "/gallery.css", "/auth.json", "/openapi.json", "/swagger")
# The REST API's binary media types. API Gateway hands a request body of these types to the
# function base64-encoded, and turns a base64 answer back into bytes only when the request's
# Accept header (its first type) is one of them: with curl's default `*/*` it would deliver
# the base64 text. The function asks `is_binary_type` before answering an image's bytes.
BINARY_MEDIA_TYPES = ("multipart/form-data", "image/*", "application/octet-stream")


def is_binary_type(media_type: str | None) -> bool:
    """True when `media_type` (a Content-Type, or an Accept header: its first type counts) matches
    a binary media type as API Gateway matches them: exactly, or `type/*`; `*/*` never does."""
    first = (media_type or "").split(",", 1)[0].split(";", 1)[0].strip().lower()
    kind, _, subtype = first.partition("/")
    if not subtype or kind == "*":
        return False
    return any(pattern in (f"{kind}/{subtype}", f"{kind}/*") for pattern in BINARY_MEDIA_TYPES)


AUTH_MODES = ("none", "api-key", "jwt")
VISIBILITIES = ("shared", "private")
# The dev issuer (deploy/dev_issuer.py) signs tokens for the local server and LocalStack with a
# key made on this machine. Its issuer name is accepted only where the function talks to an
# endpoint of its own (LocalStack, the local server), never on AWS.
DEV_ISSUER = f"https://dev-issuer.{SERVICE}.invalid"
DEV_AUDIENCE = f"{SERVICE}-dev"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class Settings:
    """Configuration of one execution environment (environment variables, defaults for LocalStack)."""

    # What deploy.sh creates, by name (an existing deployment is found by these).
    function_name: str = field(default_factory=lambda: _str("FUNCTION_NAME", SERVICE))
    api_name: str = field(default_factory=lambda: _str("API_NAME", SERVICE))
    role_name: str = field(default_factory=lambda: _str("ROLE_NAME", f"{SERVICE}-lambda"))
    stage: str = field(default_factory=lambda: _str("STAGE", "dev"))
    bucket: str = field(default_factory=lambda: _str("IMAGES_BUCKET", "images-bucket"))
    table: str = field(default_factory=lambda: _str("IMAGES_TABLE", "images"))
    tags_table: str = field(default_factory=lambda: _str("TAGS_TABLE", "images-tags"))
    idempotency_table: str = field(default_factory=lambda: _str("IDEMPOTENCY_TABLE", "images-idempotency"))
    region: str = field(default_factory=lambda: _str("AWS_REGION", _str("AWS_DEFAULT_REGION", "us-east-1")))
    # Where the Lambda talks to S3/DynamoDB (LocalStack sets it inside its Lambdas).
    endpoint_url: str = field(default_factory=lambda: _str("AWS_ENDPOINT_URL"))
    # Where the *user* reaches S3: presigned URLs are signed for this host.
    # Empty means "same as endpoint_url", and on AWS both are empty.
    public_s3_endpoint: str = field(default_factory=lambda: _str("PUBLIC_S3_ENDPOINT"))
    max_upload_bytes: int = field(default_factory=lambda: _int("MAX_UPLOAD_BYTES", 4 * MIB))
    max_direct_upload_bytes: int = field(default_factory=lambda: _int("MAX_DIRECT_UPLOAD_BYTES", 50 * MIB))
    # Largest image answered in the body of GET /v1/images/{id}; larger ones redirect to S3. A
    # Lambda answer is at most 6 MB, and the bytes travel base64-encoded (4/3 larger).
    max_inline_bytes: int = field(default_factory=lambda: _int("MAX_INLINE_BYTES", 4 * MIB))
    # The most images GET /v1/images reads for one answer (its total_count and offset need them all).
    max_listing_window: int = field(default_factory=lambda: _int("MAX_LISTING_WINDOW", 10_000))
    # Partitions the listing of all images is spread over (app/layout.py, docs/capacity.md): each
    # takes about 1,000 uploads a second on AWS, and a page of GET /list reads all of them.
    listing_shards: int = field(default_factory=lambda: _int("LISTING_SHARDS", 1))
    # How long a write's Idempotency-Key is remembered: a retry within it gets the first answer.
    # A day, as payment APIs keep theirs: long enough for a phone that queued the retry offline.
    idempotency_expires_in: int = field(default_factory=lambda: _int("IDEMPOTENCY_EXPIRES_IN", 86_400))
    url_expires_in: int = field(default_factory=lambda: _int("URL_EXPIRES_IN", 3600))
    # Presigned URLs are signed as of the start of a window of this many seconds (and live that much
    # longer), so every view within it gets the same URL and a browser's cache hits.
    url_window: int = field(default_factory=lambda: _int("URL_WINDOW", 900))
    # Metadata (EXIF with GPS, XMP, comments) is removed from stored originals; false keeps it.
    strip_metadata: bool = field(default_factory=lambda: _str("STRIP_METADATA", "true").lower() != "false")
    # The same bytes uploaded again by the same user are not stored twice: POST /upload answers the
    # image that has them, /v1 refuses them (409), a direct upload ends rejected. true stores repeats.
    allow_duplicates: bool = field(default_factory=lambda: _str("ALLOW_DUPLICATES", "false").lower() == "true")
    # The sizes (pixels) a variant's w and h may take: nobody fills the bucket with a variant per width.
    variant_sizes: tuple[int, ...] = field(
        default_factory=lambda: tuple(
            sorted({int(size) for size in _str("VARIANT_SIZES", "128,256,512,1024,2048").split(",")})
        )
    )
    direct_upload_expires_in: int = field(default_factory=lambda: _int("DIRECT_UPLOAD_EXPIRES_IN", 900))
    # X-Ray tracing (the template sets TRACING=Active on the function); off, Tracer is not even imported.
    tracing: bool = field(default_factory=lambda: _str("TRACING") == "Active")
    # Seconds a function may run (deploy.sh sets it): how long a delete in flight holds its image.
    function_timeout: int = field(default_factory=lambda: _int("FUNCTION_TIMEOUT", 60))
    # The function's memory: Lambda tells its code in AWS_LAMBDA_FUNCTION_MEMORY_SIZE; deploy.sh
    # reads FUNCTION_MEMORY_MB to set it. Everything an image decode may hold follows from it.
    memory_mb: int = field(
        default_factory=lambda: _int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", _int("FUNCTION_MEMORY_MB", 1024))
    )
    # What decoding one image may hold at once. 3/8 of the function leaves room for the
    # runtime (~130 MB), the request's own copies of the file, and S3's buffers.
    decode_budget_mb: int = field(default_factory=lambda: _int("DECODE_BUDGET_MB", 0))

    # Who may call: `none` (anyone; the default), `api-key` (API Gateway checks x-api-key),
    # `jwt` (a bearer token from an OpenID Connect issuer, checked by the function itself).
    auth: str = field(default_factory=lambda: _str("AUTH", "none"))
    # jwt: the issuer, the audience (its app client id), and its keys: a JWKS URL (default
    # <issuer>/.well-known/jwks.json, as Cognito serves it) or the JWKS itself (the dev issuer's).
    jwt_issuer: str = field(default_factory=lambda: _str("JWT_ISSUER", DEV_ISSUER))
    jwt_audience: str = field(default_factory=lambda: _str("JWT_AUDIENCE", DEV_AUDIENCE))
    jwt_jwks_url: str = field(default_factory=lambda: _str("JWT_JWKS_URL"))
    jwt_jwks: str = field(default_factory=lambda: _str("JWT_JWKS"))
    # Which claim names the user, and which claim holding which group makes an admin (Cognito's).
    jwt_user_claim: str = field(default_factory=lambda: _str("JWT_USER_CLAIM", "cognito:username"))
    jwt_admin_claim: str = field(default_factory=lambda: _str("JWT_ADMIN_CLAIM", "cognito:groups"))
    jwt_admin_group: str = field(default_factory=lambda: _str("JWT_ADMIN_GROUP", "admin"))
    # shared: every caller sees every image; private: users see their own, admins all (jwt only).
    visibility: str = field(default_factory=lambda: _str("VISIBILITY", "shared"))
    # The hosted sign-in page of the gallery (Cognito's domain, e.g. https://x.auth.<region>.amazoncognito.com).
    sign_in_url: str = field(default_factory=lambda: _str("SIGN_IN_URL"))
    # Origins whose browser scripts may call the API (comma-separated); none by default.
    api_cors_origins: str = field(default_factory=lambda: _str("API_CORS_ORIGINS"))

    @property
    def jwks_url(self) -> str:
        return self.jwt_jwks_url or f"{self.jwt_issuer.rstrip('/')}/.well-known/jwks.json"

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack deploy/stack.sh makes of template.yaml (STACK overrides it)."""
        return f"{SERVICE}-stack"

    @property
    def api_key_name(self) -> str:
        return f"{self.api_name}-key"

    @property
    def usage_plan_name(self) -> str:
        return f"{self.api_name}-plan"

    @property
    def decode_budget_bytes(self) -> int:
        return (self.decode_budget_mb or self.memory_mb * 3 // 8) * MIB


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once (tests clear the cache to change them)."""
    return Settings()
