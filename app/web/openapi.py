"""The OpenAPI document, generated from the routes and models (never written by hand).

`GET /openapi.json` serves it, `GET /swagger` renders it, and the committed
`openapi.json` is this output (`make openapi`; a test fails when it is stale).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import (
    APIKey,
    APIKeyIn,
    HTTPBearer,
    MediaType,
    OpenAPI,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    Server,
)
from pydantic import BaseModel

from app.errors import ACCEPTED_NAMES
from app.logic.files import ACCEPTED_TYPES
from app.models import ErrorBody, Redirect
from app.v1_models import V1ErrorBody
from app.web import retries

INFO: dict[str, Any] = {
    "title": "Image API",
    "version": "1.0.0",
    "description": "Images in S3, metadata in DynamoDB, one Lambda behind API Gateway. "
    'Every error is `{"error", "code", "request_id"}`; under /v1, `{"error", "message", "code", "request_id"}`.',
    # How a caller proves who it is, by deployment (docs/api.md: Sign-in): none, an API key, or a bearer token.
    "security_schemes": {
        "bearerAuth": HTTPBearer(bearerFormat="JWT", description="AUTH=jwt: an ID token of the issuer"),
        "apiKey": APIKey.model_validate({"in": APIKeyIn.header, "name": "x-api-key", "description": "AUTH=api-key"}),
    },
    "security": [{}, {"bearerAuth": []}, {"apiKey": []}],
}

_ERRORS = {
    400: "Invalid input: the code says which rule, the message which field",
    401: "AUTH=jwt: no valid bearer token (UNAUTHENTICATED; see WWW-Authenticate)",
    403: "AUTH=jwt: not yours to change (NOT_OWNER), or another user named (USER_MISMATCH)",
    404: "No such image, or no such route",
    405: "Method not allowed here (see the Allow header)",
    409: "Not possible in the image's current state (e.g. its file is not in S3 yet, or it is being deleted), "
    "or the user stored these bytes already (DUPLICATE_IMAGE)",
    412: "If-Match names a version the image no longer is (PRECONDITION_FAILED): GET it again",
    413: "File over MAX_UPLOAD_BYTES, or an image over a decoding limit (IMAGE_TOO_LARGE)",
    415: f"Not a {ACCEPTED_NAMES} image",
    422: "This Idempotency-Key was sent with a different request (IDEMPOTENCY_KEY_REUSED)",
    500: "Unexpected; quote the request id",
}

_SERVER_ERROR = {
    "description": _ERRORS[500],
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


_V1_SERVER_ERROR = {
    "description": _ERRORS[500],
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V1ErrorBody"}}},
}
V1_ERRORS = V1ErrorBody  # /v1/images answers every error in its own shape
IDEMPOTENCY_KEY = Parameter.model_validate(
    {
        "name": retries.HEADER,
        "in": "header",
        "required": False,
        "description": "Any unique string (a UUID): a retry with the same key and request gets the first answer, "
        "with Idempotent-Replayed: true, and nothing is written twice",
        "schema": {"type": "string", "pattern": retries.KEY_PATTERN},
    }
)

IF_MATCH = Parameter.model_validate(
    {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag of GET /images/{id} (or of the last PATCH): the change is made only if the image "
        "is still that version, else 412. Without it the change is made to whatever the image is now",
        "schema": {"type": "string"},
    }
)


def responses(
    status: int, model: Any, *errors: int, error_model: type[Any] = ErrorBody, duplicate: type[Any] | None = None
) -> dict[int, Any]:
    """Powertools `responses=` for a route: its success answer, the errors it can give, and 500;
    `duplicate`: the 200 of an upload whose bytes its user stored before."""
    documented: dict[int, Any] = {status: {"description": "Success", "content": {"application/json": {"model": model}}}}
    if duplicate is not None:
        documented[200] = {
            "description": "This user stored these bytes before: that image, with `duplicate: true` (ALLOW_DUPLICATES)",
            "content": {"application/json": {"model": duplicate}},
        }
    for code in (*errors, 500):
        if code == 302:
            documented[code] = {
                "description": "Redirect to the presigned URL (Location header)",
                "content": {"application/json": {"model": Redirect}},
            }
        else:
            documented[code] = {"description": _ERRORS[code], "content": {"application/json": {"model": error_model}}}
    return documented


def image_responses(*errors: int) -> dict[int, Any]:
    """`responses=` of a route answering an image's bytes, or a redirect to them."""
    documented = responses(302, Redirect, *errors, error_model=V1_ERRORS)
    documented[302]["description"] = "The image from S3 instead (Location): too large, or Accept is not image/*"
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"description": "The image's bytes", "content": dict.fromkeys(ACCEPTED_TYPES, binary)}, **documented}


# What a route reads itself, which Powertools cannot see in its signature: declared on the route
# (`openapi_extensions=openapi.reads(...)`), turned into the document's terms, and never shown.
_BODY, _KEY, _IF_MATCH = "x-reads-body", "x-reads-idempotency-key", "x-reads-if-match"


def reads(
    body: type[BaseModel] | None = None,
    media_type: str = "application/json",
    idempotency_key: bool = False,
    if_match: bool = False,
) -> dict[str, Any]:
    """A route's `openapi_extensions`: the body it parses itself (app/web/requests.py: strict multipart,
    JSON without Powertools' quirks), and the headers it reads (Idempotency-Key: app/web/retries.py)."""
    declared: dict[str, Any] = {_KEY: idempotency_key, _IF_MATCH: if_match}
    if body is not None:
        declared[_BODY] = {media_type: body.model_json_schema()}
    return declared


class DocumentedResolver(APIGatewayRestResolver):
    """The REST resolver, its generated document adjusted to what the API really does.

    - what a route reads itself (`reads`) is documented from its declaration: its body from
      its model, and the Idempotency-Key and If-Match headers;
    - Powertools' 422 answers are removed and its 500 for a response that breaks
      its model is described by ErrorBody: validation errors here are 400s, and
      every error has this API's own format (app/web/resolver.py);
    - the server is "." (where the document is served), because the API lives
      under different prefixes: `/dev` on AWS, `/_aws/execute-api/<id>/dev` on
      LocalStack, none on the local server.
    """

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> OpenAPI:
        kwargs["servers"] = [Server(url=".")]
        schema = super().get_openapi_schema(*args, **kwargs)
        for path, path_item in (schema.paths or {}).items():
            for operation in (path_item.get, path_item.post, path_item.patch, path_item.delete):
                if operation is not None and operation.responses:
                    _declared(operation)
                    if getattr(operation.responses.get(422), "description", None) != _ERRORS[422]:
                        operation.responses.pop(422, None)  # Powertools' own, never answered here
                    operation.responses[500] = _V1_SERVER_ERROR if path.startswith("/v1/") else _SERVER_ERROR
        if schema.components and schema.components.schemas:
            for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
                schema.components.schemas.pop(name, None)
        return schema


def _declared(operation: Operation) -> None:
    """Turn a route's `reads` declaration into its parameters and request body."""
    declared = operation.model_extra or {}
    headers = [IDEMPOTENCY_KEY] * bool(declared.pop(_KEY, False)) + [IF_MATCH] * bool(declared.pop(_IF_MATCH, False))
    if headers:
        operation.parameters = [*(operation.parameters or []), *headers]
    for media_type, body in declared.pop(_BODY, {}).items():
        content = {media_type: MediaType.model_validate({"schema": Schema.model_validate(body)})}
        operation.requestBody = RequestBody(required=True, content=content)


def document(app: APIGatewayRestResolver) -> str:
    """The OpenAPI document of `app` as stable, readable JSON."""
    return json.dumps(json.loads(app.get_openapi_json_schema(**INFO)), indent=2, sort_keys=True) + "\n"
