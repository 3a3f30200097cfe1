"""What a deleted stack left behind: `python -m deploy.leftovers STACK` lists it and exits 1, or says nothing is left.

CloudFormation names what it creates after the stack (`<stack>-<logical id>-<suffix>`),
so anything still named so is a leftover. Against AWS_ENDPOINT_URL (LocalStack) or AWS.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import boto3


def client(service: str) -> Any:
    make: Any = boto3.client  # any service, by name
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    if endpoint is None:  # AWS, with your credentials and region
        return make(service)
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID", "test"), os.environ.get("AWS_SECRET_ACCESS_KEY", "test")
    region = os.environ.get("AWS_REGION", "us-east-1")
    return make(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key, aws_secret_access_key=secret)


def _names(stack: str) -> Iterator[tuple[str, Callable[[], list[str]]]]:
    yield "bucket", lambda: [b["Name"] for b in client("s3").list_buckets().get("Buckets", [])]
    yield "table", lambda: client("dynamodb").list_tables().get("TableNames", [])
    yield "function", lambda: [f["FunctionName"] for f in client("lambda").list_functions().get("Functions", [])]
    yield "REST API", lambda: [a["name"] for a in client("apigateway").get_rest_apis(limit=500).get("items", [])]
    yield "queue", lambda: [url.rsplit("/", 1)[-1] for url in client("sqs").list_queues().get("QueueUrls", [])]
    yield "role", lambda: [r["RoleName"] for r in client("iam").list_roles().get("Roles", [])]
    yield "topic", lambda: [t["TopicArn"].rsplit(":", 1)[-1] for t in client("sns").list_topics().get("Topics", [])]
    yield "alarm", lambda: [a["AlarmName"] for a in client("cloudwatch").describe_alarms().get("MetricAlarms", [])]
    yield (
        "log group",
        lambda: [
            g["logGroupName"].removeprefix("/aws/lambda/")
            for g in client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack}").get("logGroups", [])
        ],
    )


def leftovers(stack: str) -> list[str]:
    found = []
    for kind, names in _names(stack):
        found += [f"{kind} {name}" for name in names() if name.startswith(f"{stack}-")]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    found = leftovers(argv[0])
    for item in found:
        print(f"left behind: {item}")
    print(f"stack {argv[0]}: {'nothing' if not found else len(found)} left behind")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
