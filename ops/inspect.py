"""Look inside whichever store is running: `python -m ops.inspect` (`make inspect`).

Runs the two commands of docs/operations.md, `awslocal s3 ls` and `awslocal dynamodb scan`,
against the store ops/target.py finds (AWS_ENDPOINT_URL, else the running local server, else
LocalStack); each command is printed first, as you would type it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from app.settings import get_settings
from ops.target import store_endpoint


def main() -> int:
    url, what = store_endpoint()
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
