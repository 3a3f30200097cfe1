"""API Gateway, as far as the local server plays it: HTTP requests in, REST proxy events to the
handler, proxy results back out as HTTP; an API key and a size cap checked first.

Each request becomes the event that the deployed `{proxy+}` resource would
send (payload 1.0), `app.handler.lambda_handler` answers it in this process,
one invocation at a time, as in one Lambda execution environment.
"""

from __future__ import annotations

import base64
import hmac
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from app.settings import PUBLIC_PATHS, get_settings, is_binary_type

STAGE = "local"
# API Gateway's own cap on a REST request; the Lambda's 6 MB event cap is what bites first.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


def _multi(items: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for key, value in items:
        multi.setdefault(key, []).append(value)
    return multi


def to_event(request: Request) -> dict[str, Any]:
    """The REST proxy event (payload 1.0) API Gateway sends for this request through `ANY /{proxy+}`."""
    path = request.path or "/"
    headers = _multi(request.headers.items())
    query = _multi(request.args.items(multi=True))
    raw = request.get_data(cache=False)
    binary = is_binary_type(request.content_type)
    body: str | None
    if not raw:
        body = None
    elif binary:
        body = base64.b64encode(raw).decode("ascii")
    else:
        # As API Gateway does for non-binary types: the bytes read as UTF-8 text.
        body = raw.decode("utf-8", errors="replace")
    now = time.time()
    return {
        "resource": "/" if path == "/" else "/{proxy+}",
        "path": path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None if path == "/" else {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "httpMethod": request.method,
            "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string},
            # No stage in the path: the local server serves at its root, like a custom domain.
            "path": path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourcePath": "/" if path == "/" else "/{proxy+}",
            "stage": STAGE,
        },
        "body": body,
        "isBase64Encoded": binary and body is not None,
    }


def to_response(result: dict[str, Any], accept: str | None) -> Response:
    """The HTTP response for a Lambda proxy result (headers and multi-value headers merged).

    As API Gateway does, a base64 body becomes bytes only when the request's `accept` is a
    binary media type; otherwise the client gets the base64 text."""
    headers = Headers()
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.add(name, str(value))
    for name, value in (result.get("headers") or {}).items():
        if name not in headers:
            headers.add(name, str(value))
    body = result.get("body") or ""
    binary = result.get("isBase64Encoded") and is_binary_type(accept)
    data = base64.b64decode(body) if binary else body.encode("utf-8")
    return Response(data, status=int(result.get("statusCode", 502)), headers=headers)


class LocalContext(LambdaContext):
    """What the Lambda runtime passes as `context`, as far as Powertools and the app read it."""

    _function_version = "$LATEST"
    _log_stream_name = "local"

    def __init__(self) -> None:
        settings = get_settings()
        name = settings.function_name
        self._function_name = name
        self._invoked_function_arn = f"arn:aws:lambda:{settings.region}:000000000000:function:{name}"
        self._log_group_name = f"/aws/lambda/{name}"
        self._aws_request_id = str(uuid.uuid4())
        self._memory_limit_in_mb = settings.memory_mb
        self._deadline = time.monotonic() + settings.function_timeout

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]  # static in the stub
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LambdaApp:
    """WSGI application that invokes the handler the way one Lambda execution environment does."""

    def __init__(self, api_key: str | None = None) -> None:
        # One invocation at a time per environment, as in Lambda: the resolver keeps
        # the current event on a module-level object, so concurrent calls must queue.
        self._lock = threading.Lock()
        self._api_key = api_key

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        refusal = self._gateway_refusal(request)
        if refusal is not None:
            return refusal(environ, start_response)
        from app.handler import lambda_handler

        try:
            event = to_event(request)
        except (HTTPException, OSError):  # the body ended before its Content-Length, or bad chunking
            return malformed_body()(environ, start_response)
        started = time.perf_counter()
        with self._lock:
            result = lambda_handler(event, LocalContext())
        took = (time.perf_counter() - started) * 1000
        print(
            f'{request.remote_addr} "{request.method} {request.full_path.rstrip("?")}" '
            f"{result.get('statusCode')} {took:.0f}ms",
            file=sys.stderr,
            flush=True,
        )
        return to_response(result, request.headers.get("Accept"))(environ, start_response)

    def _gateway_refusal(self, request: Request) -> Response | None:
        """What API Gateway itself answers before the Lambda runs: a missing API key, an oversized body."""
        if (
            self._api_key is not None
            and request.path not in PUBLIC_PATHS
            and not hmac.compare_digest(request.headers.get("x-api-key", "").encode(), self._api_key.encode())
        ):
            return Response('{"message": "Forbidden"}', status=403, content_type="application/json")
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return Response('{"message": "Request Entity Too Large"}', status=413, content_type="application/json")
        return None


def malformed_body() -> Response:
    """The API's own 400 for a body that cannot be read whole: no event can be made of it."""
    from app.models import ErrorBody

    body = ErrorBody(
        error="the request body is malformed or ended before its Content-Length",
        code="MALFORMED_BODY",
        request_id=str(uuid.uuid4()),
    )
    return Response(body.model_dump_json(), status=400, content_type="application/json")
