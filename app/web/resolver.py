"""The HTTP edge's hub: the resolver, the routers it serves, and the one place where errors become statuses.

Routes live with their concern (images.py: the original contract; uploads.py:
direct uploads; collection.py: editing and deleting many; v1.py: the JSON resource /v1/images;
site.py: the gallery); this module includes them, serves the
API's own documentation, and answers every error in one JSON shape:
`{"error", "code", "request_id"}`. `python -m app.web.resolver` prints the
OpenAPI document (`make openapi`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)

from app.errors import DomainError, RejectedFileError, UnauthenticatedError
from app.models import ErrorBody
from app.observability import logger
from app.setting_rules import ConfigError
from app.settings import PUBLIC_PATHS, SERVICE, get_settings
from app.v1_models import V1ErrorBody
from app.web import auth, collection, images, openapi, requests, site, statuses, uploads, v1, variants

INTERNAL = statuses.INTERNAL


# A response that breaks its own model is our bug: answered as such (a 500 below), not as the client's 4xx.
def cors() -> CORSConfig | None:
    """Browser scripts of API_CORS_ORIGINS may call the API: their preflights are answered with the
    headers it reads (Powertools adds Authorization, Content-Type, X-Api-Key and AWS's own); never
    `*`, and no credentials (tokens travel in Authorization, not cookies)."""
    try:
        origins = get_settings().api_cors_origins
    except ConfigError:  # every request is refused (app/handler.py): no preflight is answered either
        return None
    if not origins:
        return None
    headers = ["Idempotency-Key", "If-Match"]
    return CORSConfig(allow_origin=origins[0], extra_origins=list(origins[1:]), allow_headers=headers, max_age=600)


app = openapi.DocumentedResolver(
    enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR, cors=cors()
)
app.enable_swagger(path="/swagger", **openapi.INFO)  # Swagger UI with its assets inline: works offline
for router in (images.router, uploads.router, collection.router, variants.router, v1.router, site.router):
    app.include_router(router)
app.use(middlewares=[auth.authenticate])  # the caller of every route (AUTH=jwt: from its token)


@app.get("/openapi.json", summary="This API's OpenAPI document", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(HTTPStatus.OK, content_types.APPLICATION_JSON, _openapi_json())


@lru_cache(maxsize=1)
def _openapi_json() -> str:
    return openapi.document(app)


# --- errors --------------------------------------------------------------------
def status_of(error: DomainError) -> HTTPStatus:
    if isinstance(error, RejectedFileError) and v1.serves(app.current_event.path):
        return HTTPStatus.BAD_REQUEST  # /v1/images' contract: every refusal of the input is a 400
    return statuses.status_for(error)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[ErrorBody | V1ErrorBody]:
    body = error_body(app.current_event.path, status, code, message, request_id(app.current_event, app.lambda_context))
    return Response(status, content_types.APPLICATION_JSON, body, headers)


def error_body(path: str, status: int, code: str, message: str, request: str) -> ErrorBody | V1ErrorBody:
    """The error in the shape of the face that was asked: /v1 adds `message` and names the status in `error`."""
    if v1.serves(path):
        return V1ErrorBody(error=HTTPStatus(status).phrase, message=message, code=code, request_id=request)
    return ErrorBody(error=message, code=code, request_id=request)


def request_id(event: Mapping[str, Any], context: object) -> str:
    """API Gateway's request id (in the logs as `correlation_id`), or the Lambda's."""
    request_context = event.get("requestContext") or {}
    if request_context.get("requestId"):
        return str(request_context["requestId"])
    return getattr(context, "aws_request_id", "") or "unknown"


def misconfigured(event: Mapping[str, Any], context: object, problem: ConfigError) -> dict[str, Any]:
    """The answer to every request while a setting is bad: 500 CONFIG_INVALID naming it (never its value),
    before any route, validation or sign-in runs, so that nothing is served in a mode nobody chose."""
    message = f"this deployment's settings are invalid, so it serves nothing until they are corrected: {problem.public}"
    body = error_body(str(event.get("path") or "/"), 500, "CONFIG_INVALID", message, request_id(event, context))
    return {
        "statusCode": 500,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, "Cache-Control": "no-store"},
        "body": body.model_dump_json(),
        "isBase64Encoded": False,
    }


def refusal(exc: DomainError) -> Response[ErrorBody | V1ErrorBody]:
    headers = {}
    retry = getattr(exc, "retry_after", None)
    if retry:
        headers["Retry-After"] = str(retry)
    if isinstance(exc, UnauthenticatedError):  # RFC 6750: say how to authenticate
        given = bool(app.current_event.headers.get("authorization"))
        headers["WWW-Authenticate"] = f'Bearer realm="{SERVICE}"' + (', error="invalid_token"' if given else "")
    return error_response(status_of(exc), exc.code, exc.message, headers or None)


@app.exception_handler(DomainError)
def handle_domain_error(exc: DomainError) -> Response[ErrorBody | V1ErrorBody]:
    return refusal(exc)


@app.exception_handler(RequestValidationError)
def handle_validation_error(exc: RequestValidationError) -> Response[ErrorBody | V1ErrorBody]:
    errors = list(exc.errors())
    in_query = any("query" in error.get("loc", ()) for error in errors)
    return refusal(requests.invalid(errors, "INVALID_PARAMETER" if in_query else None))


@app.exception_handler(RequestUnsupportedContentType)
def handle_unsupported_content_type(_: RequestUnsupportedContentType) -> Response[ErrorBody | V1ErrorBody]:
    return error_response(HTTPStatus.BAD_REQUEST, "NOT_JSON", "send the request body as application/json")


@app.not_found
def handle_not_found(_: RouteNotFound) -> Response[ErrorBody | V1ErrorBody]:
    event = app.current_event
    allowed = sorted({method for pattern, methods in _routes() if pattern.fullmatch(event.path) for method in methods})
    if event.http_method == "OPTIONS" and allowed:
        # A preflight from an origin API_CORS_ORIGINS does not name (none by default): answered,
        # without Access-Control-Allow-Origin, so the browser does not send the request.
        return Response(HTTPStatus.NO_CONTENT, headers={"Allow": ", ".join([*allowed, "OPTIONS"])})
    # A method the path allows, yet no route matched: a parameter Powertools' routes refuse (e.g. "%00").
    if allowed and event.http_method not in allowed:
        return error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            f"{event.http_method} is not allowed here; use {', '.join(allowed)}",
            {"Allow": ", ".join(allowed)},
        )
    return error_response(HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No route for {event.path}")


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of every route: the documented ones from the OpenAPI document,
    and the public pages and documentation, which are all GET."""
    table = [(re.compile(f"^{re.escape(path)}$"), frozenset({"GET"})) for path in PUBLIC_PATHS]
    for path, item in (app.get_openapi_schema().paths or {}).items():
        segments = ("[^/]+" if segment.startswith("{") else re.escape(segment) for segment in path.split("/"))
        pattern = re.compile(f"^{'/'.join(segments)}$")
        methods = frozenset(name.upper() for name in ("get", "post", "put", "patch", "delete") if getattr(item, name))
        table.append((pattern, methods))
    return table


@app.exception_handler(ResponseValidationError)
def handle_response_validation_error(exc: ResponseValidationError) -> Response[ErrorBody | V1ErrorBody]:
    # A route answered something its declared model does not allow: our bug, not the client's.
    logger.error("response failed validation", extra={"errors": exc.errors()})
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", INTERNAL)


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[ErrorBody | V1ErrorBody]:
    # Full detail goes to the log (with the request id), never to the client.
    logger.exception("unhandled error")
    return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", INTERNAL)


if __name__ == "__main__":
    print(openapi.document(app), end="")
