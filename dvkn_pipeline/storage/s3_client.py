"""Build the boto3 S3 client from settings (no module-level client, no hard-coded endpoint).

The MinIO SDK client, which the hot path and the sensor use, is built in
``minio_client.py``: a process that needs only it does not import boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from schemas.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def make_s3_client(settings: Settings, *, max_attempts: int | None = None) -> S3Client:
    """Path-style addressing (SeaweedFS, MinIO) and retries with backoff for a store that blips.

    ``max_attempts`` overrides the settings' budget (a readiness probe wants one attempt).
    Standard mode retries connection errors, timeouts, throttling and 5xx with
    exponential backoff and jitter (capped at 20 s a wait), so ten attempts ride
    out a store restart of well over half a minute.

    Checksums only where S3 requires them (DeleteObjects): botocore's default
    CRC32 of every body and response cost some 3% of an intake worker's CPU in a
    burst, over a loopback or TLS link that already guards the bytes (and an
    upload's content is fingerprinted by its SHA-256 in the ledger anyway).
    """
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path"},
            retries={
                "max_attempts": max_attempts or settings.s3_max_attempts,
                "mode": settings.s3_retry_mode,
            },
            max_pool_connections=32,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=settings.s3_connect_timeout_seconds,
            read_timeout=settings.s3_read_timeout_seconds,
        ),
    )
