"""The same Lambda, served in-process: `python -m localserver` (`make dev`, and `make run` without Docker).

HTTP goes through the API Gateway stand-in of gateway.py to `lambda_handler`.
Storage is moto's server mode, started in this process on the API's port + 1 (3001: the
same at every start, so that presigned URLs and printed lines stay valid), with
the bucket and tables created by the same code as the tests
(`deploy.resources.provision`), unless AWS_ENDPOINT_URL points at a running
LocalStack or at AWS. What it stores is kept in DATA_DIR (.local-data/) and is
there again after a restart (journal.py says how); --fresh (FRESH=1) keeps it in
memory only. While it runs, build/local-server.json says where (for `make inspect`).

    python -m localserver [--host 127.0.0.1] [--port 3000] [--aws-port 3001] [--api-key KEY]
                          [--data-dir .local-data] [--fresh]
    (or HOST, PORT, LOCAL_AWS_PORT, LOCAL_API_KEY, LOCAL_DATA_DIR, FRESH=1 in the environment)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from app.setting_rules import ConfigError, Integer
from deploy.resources import usage
from localserver import journal, output
from localserver.gateway import LambdaApp

STATE = Path("build") / "local-server.json"
DATA_DIR = Path(".local-data")  # gitignored; `make clean` leaves it, deleting it starts afresh


def running_state() -> dict[str, str] | None:
    """build/local-server.json while its server runs, else None."""
    if not STATE.exists():
        return None
    state = json.loads(STATE.read_text())
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None  # a server that did not stop cleanly left it behind
    return {name: str(value) for name, value in state.items()}


def start_embedded_aws(host: str, port: int, data_dir: Path | None = None) -> tuple[Any, str]:
    """moto's server in this process, with what `data_dir` kept (None: empty, memory only);
    returns (server, endpoint)."""
    if data_dir is not None:
        journal.prepare(journal.journal_of(data_dir))  # before moto is imported: it reads where at import
    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_REGION", "us-east-1")
    if port:  # said in one line here, before werkzeug would print its own two about it
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds: TIME_WAIT is free
            probe.bind((host, port))
    server = journal.moto_server(host, port)
    server.start()
    if server.bind_error is not None:
        raise server.bind_error
    bound_host, bound_port = server.get_host_and_port()
    endpoint = f"http://{bound_host}:{bound_port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    if data_dir is not None:
        journal.restore_and_record(endpoint)
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
    parser = argparse.ArgumentParser(prog="python -m localserver", description=__doc__.split("\n\n")[0])

    def port(variable: str, default: str) -> int:
        """A port from the environment, refused as the service's own settings are: exactly a number."""
        try:
            return int(Integer(0, 65535).parse(os.environ.get(variable) or default))
        except ValueError as exc:
            parser.error(f"{variable}={os.environ[variable]!r} must {exc}")

    fresh = os.environ.get("FRESH") or "0"
    if fresh not in ("0", "1"):
        parser.error(f"FRESH={fresh!r} must be 1 (memory only) or 0")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=port("PORT", "3000"))
    # The storage's port stays the same across restarts (presigned URLs name it): the API's port + 1.
    parser.add_argument(
        "--aws-port",
        type=int,
        default=port("LOCAL_AWS_PORT", "0") if os.environ.get("LOCAL_AWS_PORT") else None,
        help="embedded moto (default: --port + 1; 0: any free)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("LOCAL_API_KEY") or None,
        help="require this x-api-key header, as deploy.sh API_KEY=1 does",
    )
    parser.add_argument("--state", default=str(STATE), help="where to say where this runs ('' for nowhere)")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("LOCAL_DATA_DIR") or str(DATA_DIR),
        help="where the embedded S3 and DynamoDB keep what they store across restarts",
    )
    parser.add_argument(
        "--fresh", action="store_true", default=fresh == "1", help="start empty and keep everything in memory only"
    )
    args = parser.parse_args(argv)
    if args.aws_port is None:
        args.aws_port = args.port + 1 if args.port else 0
    return args


def settings_problem() -> str | None:
    """What is wrong with the service's settings in this environment, as the function would refuse them."""
    from app.settings import load

    # The function here always has an endpoint of its own: the embedded moto, or AWS_ENDPOINT_URL's.
    environ = {**os.environ, "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1"}
    try:
        load(environ)
    except ConfigError as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    problem = settings_problem()
    if problem is not None:  # never serve in a mode nobody chose: AUTH=JWT is not jwt, and not "anyone" either
        print(f"localserver: {problem}; not started", file=sys.stderr)
        return 2
    streams = output.never_block()  # a reader that does not read must not stall requests or the stop
    try:
        return _serve(args, streams)
    finally:  # a refusal's message reaches the terminal before the process ends
        for stream in streams:
            stream.finish(within=1.0)


def _serve(args: argparse.Namespace, streams: list[output.NeverBlocking]) -> int:
    # Embedded-metric lines are for CloudWatch; locally they would only flood the terminal.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # Our own access line per request (LambdaApp) replaces werkzeug's, which moto's server would echo too.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _quiet_memory_lines()
    try:
        http: BaseWSGIServer = make_server(args.host, args.port, LambdaApp(args.api_key), threaded=True)
    except (OSError, SystemExit):  # werkzeug reports a busy port itself, then exits
        print(
            f"localserver: cannot listen on {args.host}:{args.port}. Is another server running? "
            "Choose another port with --port N or PORT=N.",
            file=sys.stderr,
        )
        return 2
    stop = _stop_signals()  # explicit: a shell that starts us in the background ignores SIGINT
    try:
        moto_server, backend = _storage(args.host, args.aws_port, None if args.fresh else Path(args.data_dir))
    except OSError as exc:  # the storage's port is taken
        print(
            f"localserver: cannot start the embedded storage on {args.host}:{args.aws_port} ({exc.strerror}). "
            "Choose another with --aws-port N or LOCAL_AWS_PORT=N (0: any free port).",
            file=sys.stderr,
        )
        http.server_close()
        return 2
    except journal.JournalInUseError as exc:
        print(f"localserver: {exc}. Stop it first, or start with --fresh or --data-dir DIR.", file=sys.stderr)
        http.server_close()
        return 2
    base_url = f"http://{args.host}:{http.server_port}"
    _configure_auth()
    provision_storage()
    state = Path(args.state) if args.state else None
    _announce(base_url, backend, args.api_key, state)
    threading.Thread(target=http.serve_forever, name="http", daemon=True).start()
    os.read(stop, 1)  # until SIGINT or SIGTERM: one is enough, whenever it came
    for signum in STOP_SIGNALS:  # a second Ctrl-C (or make's forwarded SIGTERM) must not interrupt the stop
        signal.signal(signum, signal.SIG_IGN)
    # What must be closed closes in well under a second; should anything hang, the process ends anyway.
    threading.Timer(STOP_SECONDS, os._exit, args=(0,)).start()
    http.shutdown()
    http.server_close()
    if moto_server is not None:
        moto_server.stop()
    if state is not None:
        state.unlink(missing_ok=True)
    print("Stopped.", flush=True)
    for stream in streams:
        stream.finish(within=1.0)
    # Everything that matters is closed above. Skip the interpreter's finalisation, which a
    # request thread still holding a client's keep-alive connection can keep waiting.
    os._exit(0)


def _configure_auth() -> None:
    """AUTH=jwt: hand the function its issuer, as deploy.sh does (the dev issuer's key, made on first use)."""
    from app.settings import get_settings
    from app.storage import reset_clients
    from deploy.resources import auth_env

    os.environ.update(auth_env())
    reset_clients()  # the settings are read again, with these
    if get_settings().auth == "jwt":
        print("  signed-in users (AUTH=jwt): make token USER=alice [ADMIN=1] prints a bearer token", flush=True)


def _quiet_memory_lines() -> None:
    """The function's memory line per invocation is for `make soak` on a Lambda; here it would
    only bury the access lines (one process serves every request: there is nothing to compare)."""
    from app.observability import MEMORY_MESSAGE, logger

    logger.addFilter(lambda record: record.getMessage() != MEMORY_MESSAGE)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_SECONDS = 3.0


def _stop_signals() -> int:
    """A descriptor that becomes readable at the first SIGINT or SIGTERM.

    The signal handler itself does nothing: Python's C-level handler writes the signal's number to
    the wakeup descriptor, which takes no lock. (Setting a threading.Event from a handler can
    deadlock: the handler runs in the main thread, which may hold the Event's lock while it waits.)
    """
    readable, writable = os.pipe()
    os.set_blocking(writable, False)
    signal.set_wakeup_fd(writable, warn_on_full_buffer=False)
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: None)
    return readable


def _storage(host: str, aws_port: int, data_dir: Path | None) -> tuple[Any, str]:
    """(the embedded moto server or None, what the banner says about storage)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None, f"{os.environ['AWS_ENDPOINT_URL']} (from AWS_ENDPOINT_URL)"
    moto_server, endpoint = start_embedded_aws(host, aws_port, data_dir)
    # Presigned URLs must point where the browser can reach the embedded S3.
    os.environ.setdefault("PUBLIC_S3_ENDPOINT", endpoint)
    if data_dir is None:
        return moto_server, f"embedded moto at {endpoint}; data in memory only (--fresh), gone when this stops"
    return moto_server, f"embedded moto at {endpoint}; data kept in {data_dir}/ (delete it, or FRESH=1, to start empty)"


def _announce(base_url: str, backend: str, api_key: str | None, state: Path | None) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    if state is not None:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"base_url": base_url, "aws_endpoint": endpoint, "pid": os.getpid()}) + "\n")
    print(f"Image API (local mode) on {base_url}\n  storage: {backend}", flush=True)
    if api_key:
        os.environ["LOCAL_API_KEY"] = api_key
        print("  every request needs the header x-api-key: $LOCAL_API_KEY", flush=True)
    print(flush=True)
    print(usage(base_url, "$LOCAL_API_KEY" if api_key else ""), flush=True)
    print("Ctrl-C stops it.", flush=True)
