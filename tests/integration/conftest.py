"""lambda_handler driven with REST proxy events against moto's S3 and DynamoDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from app import storage
from deploy.resources import provision


def _one_at_a_time(call: Any) -> Any:
    """moto's in-process backend, one request at a time: it is not thread-safe (two transactions at once
    fail inside it), and the function makes calls in parallel (a batch delete: several transactions)."""
    lock = threading.RLock()

    def serialised(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return call(stubber, event_name, request, **kwargs)

    return serialised


@contextmanager
def moto_backend(shards: int | None = None) -> Iterator[dict[str, Any]]:
    """moto's S3 and DynamoDB, empty but for the bucket and tables, and an environment pointing at them
    (with LISTING_SHARDS=`shards` when given)."""
    with pytest.MonkeyPatch.context() as patch:
        if shards is not None:
            patch.setenv("LISTING_SHARDS", str(shards))
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "PUBLIC_S3_ENDPOINT"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_REGION", "us-east-1")
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        patch.setattr(BotocoreStubber, "__call__", _one_at_a_time(BotocoreStubber.__call__))
        storage.reset_clients()
        try:
            with mock_aws():
                s3 = boto3.client("s3", region_name="us-east-1")
                dynamodb = boto3.client("dynamodb", region_name="us-east-1")
                provision(s3, dynamodb)
                yield {"s3": s3, "dynamodb": dynamodb}
        finally:
            storage.reset_clients()


@pytest.fixture(autouse=True)
def aws() -> Iterator[dict[str, Any]]:
    """A fresh backend for every test (modules that share one override this fixture)."""
    with moto_backend() as clients:
        yield clients


@pytest.fixture
def repeats_stored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ALLOW_DUPLICATES=true: the same file uploaded again is another image (tests that need many
    images and upload one sample file for each; the duplicate check has tests of its own)."""
    monkeypatch.setenv("ALLOW_DUPLICATES", "true")
    storage.reset_clients()
    yield
    storage.reset_clients()


@pytest.fixture
def keep_metadata(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """STRIP_METADATA=false: uploads are stored byte for byte (tests of the transport, not of privacy)."""
    monkeypatch.setenv("STRIP_METADATA", "false")
    storage.reset_clients()
    yield
    storage.reset_clients()
