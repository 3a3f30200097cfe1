"""The boto3 clients: created once per execution environment (first use), never per request."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from app.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


def _client_config(endpoint_url: str) -> Config:
    return Config(
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


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    settings = get_settings()
    return boto3.client(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or None,
        config=_client_config(settings.endpoint_url),
    )


def reset_clients() -> None:
    """Forget clients and settings (tests switch endpoints and environments)."""
    for cached in (s3_client, presign_client, dynamodb_client, get_settings):
        cached.cache_clear()
