"""Every setting the service reads, and every name it gives what it creates, in one place.

Standard library only: deploy.sh (through deploy/resources.py), the local
server, the maintenance tool and the tests import this module from the host's
Python to learn the same names and limits the Lambda uses, so it must not need
the Lambda's dependencies.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from app.setting_rules import Choice, ConfigError, Flag, Integer, KeySet, Numbers, Origins, Setting, Text, Url

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


# The sizes of things, as this service's limits name them.
MAX_LAMBDA_BODY = 4_400_000  # bytes a Lambda request or answer carries, base64-encoded (6 MB) with room to spare
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # SigV4 signs for at most 7 days
NAME = Text(r"[A-Za-z0-9_-]{1,64}", "1 to 64 letters, digits, _ or -")
BUCKET = Text(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name: 3 to 63 lower-case letters, digits, . or -")
REGION = Text(r"[a-z]{2}(-[a-z]+)+-[0-9]", "an AWS region such as eu-west-1")
TABLE = Text(r"[A-Za-z0-9_.-]{3,255}", "3 to 255 letters, digits, _, . or -")
TOKEN = Text(r"[\x21-\x7e]{1,256}", "1 to 256 visible ASCII characters, no spaces")


@dataclass(frozen=True)
class Settings:
    """Configuration of one execution environment, each field's default the service's own.

    Built from the environment by `load`, through SETTINGS, which says for every field which
    variable sets it and what values it takes; tests may build one directly.
    """

    # What deploy.sh creates, by name (an existing deployment is found by these).
    function_name: str = SERVICE
    api_name: str = SERVICE
    role_name: str = f"{SERVICE}-lambda"
    stage: str = "dev"
    bucket: str = "images-bucket"
    table: str = "images"
    tags_table: str = "images-tags"
    idempotency_table: str = "images-idempotency"
    region: str = "us-east-1"
    endpoint_url: str = ""  # where the function talks to S3/DynamoDB (LocalStack sets it in its Lambdas)
    public_s3_endpoint: str = ""  # where the *user* reaches S3; empty: the same as endpoint_url
    max_upload_bytes: int = 4 * MIB
    max_direct_upload_bytes: int = 50 * MIB
    max_inline_bytes: int = 4 * MIB
    max_listing_window: int = 10_000
    listing_shards: int = 1
    idempotency_expires_in: int = 86_400  # a day, as payment APIs keep keys: a phone's queued retry fits
    url_expires_in: int = 3600
    url_window: int = 900
    strip_metadata: bool = True
    allow_duplicates: bool = False
    variant_sizes: tuple[int, ...] = (128, 256, 512, 1024, 2048)
    direct_upload_expires_in: int = 900
    tracing: bool = False
    function_timeout: int = 60
    memory_mb: int = 1024
    decode_budget_mb: int = 0  # 0: 3/8 of the memory (decode_budget_bytes)
    auth: str = "none"
    jwt_issuer: str = DEV_ISSUER
    jwt_audience: str = DEV_AUDIENCE
    jwt_jwks_url: str = ""
    jwt_jwks: str = ""
    jwt_user_claim: str = "cognito:username"
    jwt_admin_claim: str = "cognito:groups"
    jwt_admin_group: str = "admin"
    visibility: str = "shared"
    sign_in_url: str = ""
    api_cors_origins: tuple[str, ...] = ()
    # deploy.sh's and the template's own: the bucket's CORS and the usage plan of an API key.
    bucket_cors_origins: tuple[str, ...] = ("*",)
    api_rate_limit: int = 20
    api_burst_limit: int = 40

    @property
    def jwks_url(self) -> str:
        return self.jwt_jwks_url or f"{self.jwt_issuer.rstrip('/')}/.well-known/jwks.json"

    @property
    def stack_name(self) -> str:
        """The default name of the stack deploy/stack.sh makes of template.yaml (stack.sh's STACK variable, not
        this property, picks another)."""
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


# fmt: off
# Every setting: (its variables, the first set winning; its Settings field; the values it takes;
# its template.yaml parameter; what it means). Flags: NAMES (deploy.sh's, not the function's),
# PLATFORM (Lambda or LocalStack sets it), DEPLOY (deploy.sh's and the template's only), and
# SIGNED_IN (AUTH=jwt's issuer, which deploy/resources.auth_env hands the function itself).
NAMES, PLATFORM = {"function": False, "passed": False}, {"passed": False}
DEPLOY, SIGNED_IN = NAMES, PLATFORM
SETTINGS: tuple[Setting, ...] = (
    Setting.of("FUNCTION_NAME", "function_name", NAME, None, "the function deploy.sh creates", **NAMES),
    Setting.of("API_NAME", "api_name", NAME, None, "the REST API deploy.sh creates (and its key, usage plan)", **NAMES),
    Setting.of("ROLE_NAME", "role_name", NAME, None, "the function's IAM role (deploy.sh)", **NAMES),
    Setting.of("STAGE", "stage", Text(r"[A-Za-z0-9_]{1,128}", "1 to 128 letters, digits or _"), "Stage",
               "the API's stage", **NAMES),
    Setting.of("IMAGES_BUCKET", "bucket", BUCKET, None, "the bucket"),
    Setting.of("IMAGES_TABLE", "table", TABLE, None, "the images table"),
    Setting.of("TAGS_TABLE", "tags_table", TABLE, None, "the tags table"),
    Setting.of("IDEMPOTENCY_TABLE", "idempotency_table", TABLE, None,
               "`Idempotency-Key` records (they expire by DynamoDB's time to live)"),
    Setting.of("IDEMPOTENCY_EXPIRES_IN", "idempotency_expires_in", Integer(1), "IdempotencyExpiresIn",
               "seconds a key is remembered: a retry within them gets the first answer"),
    Setting.of("MAX_UPLOAD_BYTES", "max_upload_bytes", Integer(1, MAX_LAMBDA_BODY), "MaxUploadBytes",
               "largest file `POST /upload` accepts (what a Lambda request carries, base64-encoded)"),
    Setting.of("MAX_DIRECT_UPLOAD_BYTES", "max_direct_upload_bytes", Integer(1, 5 * 1024 * MIB),
               "MaxDirectUploadBytes", "largest direct upload (S3 takes up to 5 GiB in one POST)"),
    Setting.of("MAX_INLINE_BYTES", "max_inline_bytes", Integer(1, MAX_LAMBDA_BODY), "MaxInlineBytes",
               "largest image `GET /v1/images/{id}` answers itself (larger: 302 to S3)"),
    Setting.of("MAX_LISTING_WINDOW", "max_listing_window", Integer(1, 1_000_000), "MaxListingWindow",
               "most matching images one `GET /v1/images` reads (more: 400 `TOO_MANY_MATCHES`)"),
    Setting.of("LISTING_SHARDS", "listing_shards", Integer(1, 64), "ListingShards",
               "partitions of the all-images listing, about 1,000 uploads/s each on AWS (docs/capacity.md; "
               "after a change, `make migrate`)"),
    Setting.of("URL_EXPIRES_IN", "url_expires_in", Integer(1, MAX_PRESIGNED_SECONDS), "UrlExpiresIn",
               "lifetime of presigned URLs, seconds (at least: see `URL_WINDOW`)"),
    Setting.of("URL_WINDOW", "url_window", Integer(0, MAX_PRESIGNED_SECONDS), "UrlWindow",
               "presigned URLs stay the same this many seconds (signed as of the window's start); 0: always new"),
    Setting.of("STRIP_METADATA", "strip_metadata", Flag(), "StripMetadata",
               "`false` stores uploads byte for byte, EXIF (GPS) and XMP included"),
    Setting.of("ALLOW_DUPLICATES", "allow_duplicates", Flag(), "AllowDuplicates",
               "`true` stores a user's repeated bytes as another image (else `/upload` answers the image "
               "they have, `/v1` refuses with 409, a direct upload ends `rejected`)"),
    Setting.of("VARIANT_SIZES", "variant_sizes", Numbers(16, 8192), "VariantSizes",
               "the pixel sizes a variant's `w` and `h` may take"),
    Setting.of("DIRECT_UPLOAD_EXPIRES_IN", "direct_upload_expires_in", Integer(1, MAX_PRESIGNED_SECONDS),
               "DirectUploadExpiresIn", "lifetime of a direct upload's form, seconds"),
    Setting.of("FUNCTION_TIMEOUT", "function_timeout", Integer(1, 900), "FunctionTimeout",
               "the function's timeout, seconds; a delete in flight holds its image this long + 5 s"),
    Setting.of("AWS_LAMBDA_FUNCTION_MEMORY_SIZE FUNCTION_MEMORY_MB", "memory_mb", Integer(128, 10_240),
               "FunctionMemory", "the function's memory, MB (inside Lambda, AWS_LAMBDA_FUNCTION_MEMORY_SIZE says it)"),
    Setting.of("DECODE_BUDGET_MB", "decode_budget_mb", Integer(0, 10_240), "DecodeBudgetMb",
               "what decoding one image may hold, MB; 0: 3/8 of the function's memory"),
    Setting.of("TRACING", "tracing", Flag("Active", "PassThrough"), "Tracing",
               "`Active`: X-Ray traces of invocations and AWS calls; else the tracer is not even imported",
               passed=False, template_default="Active"),
    Setting.of("AUTH", "auth", Choice(AUTH_MODES), "Auth",
               "who may call: anyone, holders of the API key, or signed-in users (docs/api.md: Sign-in)"),
    Setting.of("VISIBILITY", "visibility", Choice(VISIBILITIES), "Visibility",
               "`private`: signed-in users see only their own images, admins all (needs `AUTH=jwt`)"),
    Setting.of("JWT_ISSUER", "jwt_issuer", Url(secure=True), None,
               "the OpenID Connect issuer whose tokens count (the dev issuer's: off AWS only)", **SIGNED_IN),
    Setting.of("JWT_AUDIENCE", "jwt_audience", TOKEN, None, "the app client the tokens are for", **SIGNED_IN),
    Setting.of("JWT_JWKS_URL", "jwt_jwks_url", Url(secure=True), None,
               "the issuer's keys (default `<issuer>/.well-known/jwks.json`)", **SIGNED_IN),
    Setting.of("JWT_JWKS", "jwt_jwks", KeySet(), None,
               "the issuer's keys themselves (the dev issuer's: deploy.sh and the local server set it)", **SIGNED_IN),
    Setting.of("JWT_USER_CLAIM", "jwt_user_claim", TOKEN, None, "the claim that names the user", **SIGNED_IN),
    Setting.of("JWT_ADMIN_CLAIM", "jwt_admin_claim", TOKEN, None, "the claim listing the user's groups", **SIGNED_IN),
    Setting.of("JWT_ADMIN_GROUP", "jwt_admin_group", TOKEN, None, "the group that makes an admin", **SIGNED_IN),
    Setting.of("SIGN_IN_URL", "sign_in_url", Url(secure=True), None,
               "the gallery's hosted sign-in page (the template sets Cognito's)", **SIGNED_IN),
    Setting.of("API_CORS_ORIGINS", "api_cors_origins", Origins(), "ApiCorsOrigins",
               "origins whose browser scripts may call the API; none by default"),
    Setting.of("PUBLIC_S3_ENDPOINT", "public_s3_endpoint", Url(), "PublicS3Endpoint",
               "where users reach S3: presigned URLs are signed for it (deploy.sh sets LocalStack's)", passed=False),
    Setting.of("AWS_ENDPOINT_URL", "endpoint_url", Url(), None,
               "where the function reaches AWS (LocalStack and the local server set it)", **PLATFORM),
    Setting.of("AWS_REGION AWS_DEFAULT_REGION", "region", REGION, None, "the region (Lambda sets it)", **PLATFORM),
    Setting.of("CORS_ORIGINS", "bucket_cors_origins", Origins(any=True), "CorsOrigins",
               "origins the bucket's CORS rules allow (browsers POST direct uploads to it)", **DEPLOY),
    Setting.of("API_RATE_LIMIT", "api_rate_limit", Integer(1, 10_000), "ApiRateLimit",
               "requests per second with an API key (its usage plan)", **DEPLOY),
    Setting.of("API_BURST_LIMIT", "api_burst_limit", Integer(1, 5_000), "ApiBurstLimit",
               "burst with an API key (its usage plan)", **DEPLOY),
)
# fmt: on
BY_NAME = {variable: setting for setting in SETTINGS for variable in setting.variables}


def default_text(setting: Setting) -> str:
    """A setting's default, as the environment would say it."""
    return setting.text(Settings())


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings an environment gives (the process's by default), every value checked:
    ConfigError names each bad one, and each rule between settings that does not hold."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems = []
    for setting in SETTINGS:
        value, problem = setting.check(environ)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            values[setting.field] = value
    if problems:  # the rules between settings would only repeat them
        raise ConfigError(problems)
    settings = Settings(**values)
    problems = [(name, rule, None) for name, rule in _together(settings)]
    if problems:
        raise ConfigError(problems)
    return settings


def _together(settings: Settings) -> list[tuple[str, str]]:
    """Rules between settings: (the variable to change, what it must be)."""
    problems = []
    if settings.visibility == "private" and settings.auth != "jwt":
        problems.append(("VISIBILITY", "be shared unless AUTH=jwt: without sign-in every caller is anyone"))
    if settings.decode_budget_mb > settings.memory_mb:
        problems.append(("DECODE_BUDGET_MB", f"be at most the function's memory ({settings.memory_mb} MB)"))
    if settings.auth == "jwt" and settings.jwt_issuer == DEV_ISSUER and not settings.endpoint_url:
        # The dev issuer's key sits on a developer's disk: on AWS nothing it signs may count.
        problems.append(
            ("JWT_ISSUER", "be set on AWS: the dev issuer is trusted on LocalStack and the local server only")
        )
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once (tests clear the cache to change them);
    ConfigError, again on every call, while any is bad."""
    return load()
