"""Build the S3 clients from settings (no module-level client, no hard-coded endpoint)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3
import certifi
import urllib3
from botocore.config import Config
from minio import Minio

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


def make_fast_client(settings: Settings) -> Minio:
    """A lighter client for the few requests made once per file: GET an upload, PUT a receipt.

    Why two clients: botocore spends about 0.85 ms of CPU on each request (its
    event hooks, endpoint rules and signer) against 0.33 ms for the MinIO SDK
    (measured on SeaweedFS, 2.4 KB objects). In a deadline burst those two
    requests per file were a quarter of the intake worker's CPU. Everything
    else (listings, versions, conditional writes, presigning) stays on boto3.
    The retry budget matches ``make_s3_client``: connection errors, timeouts and
    5xx are retried ``s3_max_attempts`` times with exponential backoff capped at
    20 s, so a store restart is ridden out the same way.
    """
    url = urlsplit(settings.s3_endpoint_url)
    secure = url.scheme == "https"
    retries = urllib3.Retry(
        total=settings.s3_max_attempts - 1,
        backoff_factor=0.2,
        backoff_max=20.0,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=None,  # GET and PUT of whole objects are safe to repeat
        raise_on_status=False,  # the last 5xx reaches the caller as an S3 error
    )
    http = urllib3.PoolManager(
        maxsize=32,
        retries=retries,
        timeout=urllib3.Timeout(
            connect=settings.s3_connect_timeout_seconds, read=settings.s3_read_timeout_seconds
        ),
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),  # as the SDK's own
    )
    return Minio(
        url.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=secure,
        region=settings.s3_region,  # known: no GetBucketLocation before the first request
        http_client=http,
    )
