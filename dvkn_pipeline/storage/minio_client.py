"""The MinIO SDK client, and the small queue store built on it alone.

Why apart from ``s3_client.py``: importing boto3 and building its client
(botocore's service model) costs a process some 20 MiB resident. The intake
uses this client for the requests made once per file; the sensor, which only
writes and reads a few small JSON objects, uses nothing else and so never
imports boto3.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.error import S3Error

from schemas.records import UploadRef
from schemas.settings import Settings

#: S3 error codes that mean "not this object or version" on a GET.
_GONE = {"NoSuchKey", "NoSuchVersion", "PreconditionFailed", "NotFound"}
JSON_TYPE = "application/json; charset=utf-8"


def json_bytes(payload: Any) -> bytes:
    """How the pipeline's state documents are written, by whichever client writes them."""
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str).encode("utf-8")


def ca_bundle() -> str:
    """The CA certificates for TLS, found as httpx and the MinIO SDK find them."""
    return os.environ.get("SSL_CERT_FILE") or certifi.where()


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
        ca_certs=ca_bundle(),
    )
    return Minio(
        url.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=secure,
        region=settings.s3_region,  # known: no GetBucketLocation before the first request
        http_client=http,
    )


class MinioQueueStore:
    """``announced.QueueStore`` over the MinIO SDK: what the sensor reads and writes.

    Same objects and JSON as ``Bucket`` writes (an intake run reads what the
    sensor wrote), without the boto3 client ``Bucket`` needs for versions,
    conditional writes and presigning.
    """

    def __init__(self, client: Minio, name: str) -> None:
        self.client = client
        self.name = name

    def get(
        self,
        key: str,
        headers: dict[str, str | list[str] | tuple[str]] | None = None,
        version_id: str | None = None,
        max_bytes: int | None = None,
    ) -> tuple[bytes, str | None] | None:
        """The object's bytes (at most ``max_bytes`` + 1) and version id; None when it is gone."""
        try:
            resp = self.client.get_object(
                self.name, key, request_headers=headers, version_id=version_id
            )
        except S3Error as exc:
            if exc.code in _GONE:
                return None
            raise
        try:
            data = resp.read() if max_bytes is None else resp.read(max_bytes + 1)
            version = resp.headers.get("x-amz-version-id")
        finally:
            resp.close()
            resp.release_conn()
        return data, (None if version in (None, "null") else str(version))

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Write an object; returns its ETag (unquoted)."""
        written = self.client.put_object(
            self.name, key, io.BytesIO(data), len(data), content_type=content_type
        )
        return str(written.etag or "").strip('"')

    def put_json(self, key: str, payload: Any) -> None:
        self.put_bytes(key, json_bytes(payload), JSON_TYPE)

    def get_json(self, key: str) -> Any | None:
        got = self.get(key)
        return None if got is None else json.loads(got[0])

    def delete(self, key: str) -> None:
        self.client.remove_object(self.name, key)

    def list_uploads(self, prefix: str) -> Iterator[UploadRef]:
        for obj in self.client.list_objects(self.name, prefix=prefix, recursive=True):
            key = str(obj.object_name)
            if obj.is_dir or key.endswith("/"):
                continue
            yield UploadRef(
                bucket=self.name,
                key=key,
                etag=str(obj.etag or "").strip('"'),
                size=obj.size,
                last_modified=obj.last_modified,
            )
