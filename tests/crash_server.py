"""The local server, killed part-way through a request: `python -m tests.crash_server [localserver's arguments]`.

A request with the header `X-Crash-After-Calls: N` may make N calls to S3 and
DynamoDB; the process kills itself (SIGKILL) as the next one is about to go
out or, when the request makes no more, just before its answer is sent. A kill,
not an exception: no `except` or `finally` runs, as when Lambda ends an
execution environment at its timeout or when it runs out of memory.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

import boto3

from localserver import server
from localserver.gateway import LambdaApp

HEADER = "X-Crash-After-Calls"
_lock = threading.Lock()
_left: list[int] = []  # calls the armed request may still make; empty when none is armed


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _before_call(**_: Any) -> None:
    with _lock:
        if _left:
            if _left[0] == 0:
                _die()
            _left[0] -= 1


class CrashingApp(LambdaApp):
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        calls = environ.get("HTTP_" + HEADER.upper().replace("-", "_"))
        if calls is None:
            return super().__call__(environ, start_response)
        with _lock:
            _left[:] = [int(calls)]
        answer = super().__call__(environ, start_response)  # nothing is sent before it is returned
        with _lock:
            if _left and _left[0] == 0:
                _die()
            _left.clear()
        return answer


def main() -> int:
    # Every client the function makes comes from the default session, so this hook sees every call.
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call", _before_call)
    server.LambdaApp = CrashingApp  # type: ignore[misc]
    return server.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
