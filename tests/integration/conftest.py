"""lambda_handler driven with REST proxy events against moto's S3 and DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from app import storage
from deploy.resources import provision


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Fresh, empty moto S3 and DynamoDB with the bucket and table, for every test."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "PUBLIC_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    storage.reset_clients()
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        provision(s3, dynamodb)
        yield {"s3": s3, "dynamodb": dynamodb}
    storage.reset_clients()
