"""Look inside whichever store is running: `python -m ops.inspect` (`make inspect`).

Runs the README's two commands, `awslocal s3 ls` and `awslocal dynamodb scan`,
against AWS_ENDPOINT_URL if set, else the local server that build/local-server.json
names (while it runs), else LocalStack; each command is printed first, as you
would type it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from app.settings import get_settings
from localserver.server import running_state

LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")


def endpoint() -> tuple[str, str]:
    """(where the store answers, what it is)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL"
    state = running_state()
    if state is not None:
        return state["aws_endpoint"], f"the local server at {state['base_url']}"
    return LOCALSTACK, "LocalStack"


def main() -> int:
    url, what = endpoint()
    settings = get_settings()
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "DISABLE_DEPRECATION_NOTICE": "1"}
    env.setdefault("AWS_ACCESS_KEY_ID", "test")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    print(f"# the store of {what}: {url}", flush=True)
    status = 0
    for command in (
        ["awslocal", "s3", "ls", f"s3://{settings.bucket}", "--recursive"],
        ["awslocal", "dynamodb", "scan", "--table-name", settings.table],
    ):
        print(f"$ AWS_ENDPOINT_URL={url} {shlex.join(command)}", flush=True)
        status = subprocess.run(command, env=env, check=False).returncode or status
    return status


if __name__ == "__main__":
    from ops.maintenance import refusing_bad_settings

    sys.exit(refusing_bad_settings("python -m ops.inspect", main))
