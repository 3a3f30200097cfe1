"""The boto3 clients: created once per execution environment (first use), never per request."""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.auth
from botocore.config import Config

from app.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


T = TypeVar("T")
# What boto3 takes and gives, untyped by its nature: a request's parameters, a response, DynamoDB's
# typed item. Only the adapter speaks it; rows leave it as app/records.py's types.
Boto = dict[str, Any]
# Calls that do not depend on each other run at once: the shards of a listing, the objects of an
# upload. boto3 clients are thread-safe; each thread holds one pooled connection.
MAX_PARALLEL = 16


def _client_config(endpoint_url: str) -> Config:
    return Config(
        max_pool_connections=MAX_PARALLEL,
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=20,
        # A custom endpoint (LocalStack, moto) serves buckets by path, not by host name.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        signature_version="s3v4",
    )


@lru_cache(maxsize=1)
def s3_client() -> S3Client:
    settings = get_settings()
    return boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or None,
        config=_client_config(settings.endpoint_url),
    )


@lru_cache(maxsize=1)
def presign_client() -> S3Client:
    """Signs URLs for the host the user reaches S3 at (not the Lambda's internal endpoint).

    A signature covers the Host header, so the URL must be signed for the
    public endpoint rather than rewritten afterwards.
    """
    settings = get_settings()
    public = settings.public_s3_endpoint or settings.endpoint_url
    return boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=public or None,
        config=_client_config(public),
    )


# botocore signs with the current time, and a presigned URL names it (X-Amz-Date): URLs signed a
# second apart differ, and a browser caches neither. botocore takes no signing time, so its clock
# is wrapped: while S3's query signer (the presigner) runs in a thread that is inside
# `signed_as_of`, it reads that moment; every other signature reads now, including a credential
# refresh (STS) that presigning may set off, which a clock in the past would get refused.
# Thread-local, so parallel calls are untouched; tests/unit/test_presign.py fails if a botocore
# release stops reading the clock this way.
_signing = threading.local()
_botocore_now: Callable[[bool], datetime.datetime] = botocore.auth.get_current_datetime  # type: ignore[attr-defined]
_query_add_auth = botocore.auth.S3SigV4QueryAuth.add_auth


def _signing_now(remove_tzinfo: bool = True) -> datetime.datetime:
    moment: datetime.datetime | None = getattr(_signing, "moment", None)
    if moment is None or not getattr(_signing, "presigning", False):
        return _botocore_now(remove_tzinfo)
    return moment.replace(tzinfo=None) if remove_tzinfo else moment


def _presign(self: botocore.auth.S3SigV4QueryAuth, request: Any) -> None:
    _signing.presigning = True
    try:
        _query_add_auth(self, request)
    finally:
        _signing.presigning = False


botocore.auth.get_current_datetime = _signing_now  # type: ignore[attr-defined]
botocore.auth.S3SigV4QueryAuth.add_auth = _presign  # type: ignore[method-assign,assignment]


@contextmanager
def signed_as_of(epoch_seconds: int) -> Iterator[None]:
    """Presigned URLs made inside are signed as of `epoch_seconds` (UTC), in this thread only."""
    outer = getattr(_signing, "moment", None)
    _signing.moment = datetime.datetime.fromtimestamp(epoch_seconds, datetime.UTC)
    try:
        yield
    finally:
        _signing.moment = outer


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    settings = get_settings()
    return boto3.client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or None,
        config=_client_config(settings.endpoint_url),
    )


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="aws")


# Whole operations at once (a batch delete), each of which submits its own calls to _pool: they
# run on a pool of their own, or operations filling _pool would wait forever for their calls.
MAX_OPERATIONS = 8


@lru_cache(maxsize=1)
def _operations_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MAX_OPERATIONS, thread_name_prefix="operation")


# A forked child has none of its parent's threads: work submitted to the inherited pool would
# wait forever (the bomb runner forks a warm handler per case). The child makes its own.
os.register_at_fork(after_in_child=_pool.cache_clear)
os.register_at_fork(after_in_child=_operations_pool.cache_clear)


def operations_at_once(operations: list[Callable[[], T]]) -> list[T | Exception]:
    """What each operation returned or raised, MAX_OPERATIONS at a time; operations may call `outcomes`."""
    return _all_of(_operations_pool(), operations)


def _all_of(pool: ThreadPoolExecutor, calls: list[Callable[[], T]]) -> list[T | Exception]:
    futures = [pool.submit(call) for call in calls]
    return [future.exception() or future.result() for future in futures]  # type: ignore[misc]


def outcomes(calls: list[Callable[[], T]]) -> list[T | Exception]:
    """What each of `calls` returned or raised, run at once; returns when all have ended."""
    if len(calls) == 1:
        try:
            return [calls[0]()]
        except Exception as exc:
            return [exc]
    return _all_of(_pool(), calls)


def in_parallel(calls: list[Callable[[], T]]) -> list[T]:
    """The results of `calls`, run at once; the first exception raised is raised here, after all ended."""
    results = outcomes(calls)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results  # type: ignore[return-value]


def reset_clients() -> None:
    """Forget clients and settings (tests switch endpoints and environments)."""
    for cached in (s3_client, presign_client, dynamodb_client, get_settings):
        cached.cache_clear()
