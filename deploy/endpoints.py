"""Finding a running API: the one deploy.sh made on LocalStack, by its name, with its key if it needs one.

Shared by the end-to-end tests and the benchmark (with `localserver.launcher`
for a local server), so that both aim at the same thing the same way.
`python -m deploy.endpoints` (`make ls-api`) prints it as shell variables for
the README's curl commands: `eval "$(make -s ls-api)"`.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass

import boto3
import requests

from app.settings import get_settings

LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")


@dataclass
class Api:
    base_url: str
    aws_endpoint: str | None  # where its S3 and DynamoDB answer
    api_key: str | None = None


class UnavailableError(Exception):
    """Nothing to aim at; the message says why and what to do."""


def localstack_api(endpoint: str = LOCALSTACK) -> Api:
    """The REST API deploy.sh made on LocalStack (named as app/settings.py says), with its key if it needs one."""
    settings = get_settings()
    name = settings.api_name
    try:
        requests.get(f"{endpoint}/_localstack/health", timeout=3).raise_for_status()
    except requests.RequestException as exc:
        raise UnavailableError(f"nothing answers at {endpoint} (start LocalStack and run bash deploy.sh)") from exc
    apigateway = boto3.client(
        "apigateway",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    ids = [api["id"] for api in apigateway.get_rest_apis(limit=500)["items"] if api["name"] == name]
    if not ids:
        raise UnavailableError(f"no REST API named {name} on {endpoint} (run bash deploy.sh)")
    api = Api(f"{endpoint}/_aws/execute-api/{ids[0]}/{settings.stage}", endpoint)
    proxy = next(r for r in apigateway.get_resources(restApiId=ids[0])["items"] if r["path"] == "/{proxy+}")
    if apigateway.get_method(restApiId=ids[0], resourceId=proxy["id"], httpMethod="ANY").get("apiKeyRequired"):
        key_name = settings.api_key_name
        api.api_key = apigateway.get_api_keys(nameQuery=key_name, includeValues=True)["items"][0]["value"]
    return api


def describe(api: Api, stage: str) -> list[str]:
    """Shell assignments of API_ID, BASE, BASE_USER_REQUEST (LocalStack's other URL form) and API_KEY."""
    api_id = api.base_url.rstrip("/").split("/")[-2]
    lines = [f"API_ID={api_id}", f"BASE={api.base_url}"]
    if api.aws_endpoint:
        lines.append(f"BASE_USER_REQUEST={api.aws_endpoint}/restapis/{api_id}/{stage}/_user_request_")
    lines.append(f"API_KEY={shlex.quote(api.api_key or '')}")
    return lines


def main() -> int:
    from localserver.server import running_state

    local = running_state()
    if local is not None:
        print(f"# the local server (make dev); its API key, if any, is the one you gave it\nBASE={local['base_url']}")
        return 0
    try:
        api = localstack_api()
    except UnavailableError as exc:
        print(f"ls-api: {exc}", file=sys.stderr)
        return 1
    print(f"# the REST API deploy.sh made on LocalStack ({'needs' if api.api_key else 'no'} API key)")
    print("\n".join(describe(api, get_settings().stage)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
