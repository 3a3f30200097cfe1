"""Where the end-to-end suite sends its requests.

    BASE_URL=http://...            any deployed API (AWS_ENDPOINT_URL: where to check S3 and
                                   DynamoDB; E2E_API_KEY: its key, if it needs one)
    E2E_TARGET=localstack          the API deploy.sh made on LocalStack, found by its name (default)
    E2E_TARGET=local               a local server (python -m localserver) started for the session,
                                   requiring an API key so that the key tests run there too

Nothing deployed means the suite is skipped, with the reason; E2E_REQUIRED=1
(set by CI and make test) turns that skip into a failure, so a green run always ran it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from deploy.endpoints import UnavailableError, localstack_api
from localserver.launcher import local_server
from tests.e2e.client import Target


def _unavailable(reason: str) -> None:
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    if os.environ.get("BASE_URL"):
        yield Target(
            os.environ["BASE_URL"].rstrip("/"),
            os.environ.get("AWS_ENDPOINT_URL"),
            os.environ.get("E2E_API_KEY") or None,
        )
        return
    try:
        if os.environ.get("E2E_TARGET", "localstack") == "localstack":
            api = localstack_api()
            yield Target(api.base_url, api.aws_endpoint, api.api_key)
            return
        with local_server(api_key=secrets.token_urlsafe(24), quiet=False) as api:
            yield Target(api.base_url, api.aws_endpoint, api.api_key, s3_notifies=False)
    except UnavailableError as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def open_target(target: Target) -> Iterator[Target]:
    """The target as the documented lines need it, without an API key: the target itself, or on the
    local server a second server without one on the same storage (the lines send no key)."""
    if target.api_key is None:
        yield target
        return
    if not target.base_url.startswith("http://127.0.0.1:"):
        pytest.skip("the documented lines send no API key, and this deployment wants one")
    with local_server(storage=target.aws_endpoint) as api:
        yield Target(api.base_url, target.aws_endpoint, None, s3_notifies=False)
