"""The same Lambda, served in-process: `python -m deploy.local` (`make dev`).

Each HTTP request becomes the API Gateway REST proxy event that the deployed
`{proxy+}` resource would send (payload 1.0), `app.handler.lambda_handler`
answers it, and the proxy result goes back as HTTP. Storage is moto's server
mode, started in this process on a free port with the bucket and table
created by the same code as the tests (`deploy.resources.provision`), unless
AWS_ENDPOINT_URL points at a running LocalStack or at AWS.

    python -m deploy.local [--host 127.0.0.1] [--port 3000] [--aws-port 0] [--api-key KEY]
    (or HOST, PORT, LOCAL_AWS_PORT, LOCAL_API_KEY in the environment)
"""

from __future__ import annotations

import argparse
import base64
import hmac
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from fnmatch import fnmatch
from types import FrameType
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from deploy.resources import BINARY_MEDIA_TYPES, PUBLIC_PATHS, usage

STAGE = "local"
# API Gateway's own cap on a REST request; the Lambda's 6 MB event cap is what bites first.
MAX_REQUEST_BYTES = 10 * 1024 * 1024


def is_binary(content_type: str | None) -> bool:
    """True when the API delivers bodies of this type base64-encoded (its binary media types)."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return bool(mime) and any(fnmatch(mime, pattern) for pattern in BINARY_MEDIA_TYPES)


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
    binary = is_binary(request.content_type)
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


def to_response(result: dict[str, Any]) -> Response:
    """The HTTP response for a Lambda proxy result (headers and multi-value headers merged)."""
    headers = Headers()
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            headers.add(name, str(value))
    for name, value in (result.get("headers") or {}).items():
        if name not in headers:
            headers.add(name, str(value))
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return Response(data, status=int(result.get("statusCode", 502)), headers=headers)


class LocalContext(LambdaContext):
    """What the Lambda runtime passes as `context`, as far as Powertools and the app read it."""

    _function_name = "image-api"
    _function_version = "$LATEST"
    _invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:image-api"
    _log_group_name = "/aws/lambda/image-api"
    _log_stream_name = "local"

    def __init__(self) -> None:
        from app.settings import get_settings

        settings = get_settings()
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
        return to_response(result)(environ, start_response)

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


def start_embedded_aws(host: str, port: int) -> tuple[Any, str]:
    """moto's server in this process, with the bucket and table; returns (server, endpoint)."""
    from moto.server import ThreadedMotoServer

    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    endpoint = f"http://{bound_host}:{bound_port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    return server, endpoint


def provision_storage() -> None:
    import boto3

    from app.settings import get_settings
    from deploy.resources import provision

    settings = get_settings()
    endpoint = settings.endpoint_url or None
    provision(
        boto3.client("s3", endpoint_url=endpoint, region_name=settings.region),
        boto3.client("dynamodb", endpoint_url=endpoint, region_name=settings.region),
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "0")), help="embedded moto (0: any free)"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("LOCAL_API_KEY") or None,
        help="require this x-api-key header, as deploy.sh API_KEY=1 does",
    )
    return parser.parse_args(argv)


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Embedded-metric lines are for CloudWatch; locally they would only flood the terminal.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # Our own access line per request (LambdaApp) replaces werkzeug's, which moto's server would echo too.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        http: BaseWSGIServer = make_server(args.host, args.port, LambdaApp(args.api_key), threaded=True)
    except (OSError, SystemExit):  # werkzeug reports a busy port itself, then exits
        print(
            f"deploy.local: cannot listen on {args.host}:{args.port}. Is another server running? "
            "Choose another port with --port N or PORT=N.",
            file=sys.stderr,
        )
        return 2
    moto_server = None
    if os.environ.get("AWS_ENDPOINT_URL"):
        backend = f"{os.environ['AWS_ENDPOINT_URL']} (from AWS_ENDPOINT_URL)"
    else:
        moto_server, endpoint = start_embedded_aws(args.host, args.aws_port)
        # Presigned URLs must point where the browser can reach the embedded S3.
        os.environ.setdefault("PUBLIC_S3_ENDPOINT", endpoint)
        backend = f"embedded moto at {endpoint}; data is kept in memory only and is lost when this stops"
    # Explicit, because a shell that starts us in the background makes SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    try:
        provision_storage()
        base_url = f"http://{args.host}:{http.server_port}"
        inspect = f"AWS_ENDPOINT_URL={os.environ['AWS_ENDPOINT_URL']} awslocal"
        print(f"Image API (local mode) on {base_url}\n  storage: {backend}", flush=True)
        if args.api_key:
            os.environ["LOCAL_API_KEY"] = args.api_key
            print("  every request needs the header x-api-key: $LOCAL_API_KEY", flush=True)
        print(flush=True)
        print(usage(base_url, inspect, "$LOCAL_API_KEY" if args.api_key else ""), flush=True)
        print("Ctrl-C stops it.", flush=True)
        http.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        http.server_close()
        if moto_server is not None:
            moto_server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
