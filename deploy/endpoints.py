"""Finding a running API: the one deploy.sh made on LocalStack, by its name, with its key if it needs one.

Shared by the end-to-end tests and the benchmark (with `localserver.launcher`
for a local server), so that both aim at the same thing the same way.
"""

from __future__ import annotations

import os
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
