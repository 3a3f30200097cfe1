"""Which store the tools talk to when none is named: the one `make inspect`, `make reconcile`,
`make migrate` and `make pending` find alike.

AWS_ENDPOINT_URL if set, else the local server that build/local-server.json names (while it
runs), else LocalStack. A store that does not answer is said in one line, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")


def store_endpoint() -> tuple[str, str]:
    """(where the store answers, what it is)."""
    from localserver.server import running_state

    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL"
    state = running_state()
    if state is not None:
        return state["aws_endpoint"], f"the local server at {state['base_url']}"
    return LOCALSTACK, "LocalStack"


def point_at_store() -> tuple[str, str]:
    """Point this process's AWS clients at store_endpoint(), with the local stores' dummy credentials
    unless real ones are set; returns what store_endpoint() does."""
    url, what = store_endpoint()
    os.environ["AWS_ENDPOINT_URL"] = url
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    return url, what


def unreachable(prog: str, command: Callable[[], int]) -> int:
    """`command()`, or exit status 1 with one line when its store does not answer."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    try:
        return command()
    except (EndpointConnectionError, ConnectTimeoutError):
        url = os.environ.get("AWS_ENDPOINT_URL", "AWS")
        print(
            f"{prog}: nothing answers at {url}. Start a store first: make dev (the local server) or "
            "make run (LocalStack), or point AWS_ENDPOINT_URL at one.",
            file=sys.stderr,
        )
        return 1
