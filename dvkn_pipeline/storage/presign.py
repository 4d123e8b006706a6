"""Presigned POST policies: a browser uploads one exact key to the store, without credentials.

The console never handles a report's bytes: it signs a policy whose conditions
are the exact key (``incoming/<unit>/<period>/<file>``, chosen and checked by
the server) and a size range, and the browser posts the file to the store
itself. The store refuses any other key or a larger file (SeaweedFS 4.48 and
MinIO both check POST policies). Signed with SigV4 against the endpoint the
*browser* reaches (``DVKN_S3_PUBLIC_URL``), which in production differs from
the one the pipeline uses inside its network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from schemas.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class PostSigner:
    def __init__(self, settings: Settings) -> None:
        self.bucket = settings.bucket
        self.client: S3Client = boto3.client(
            "s3",
            endpoint_url=settings.s3_public_url or settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
            region_name=settings.s3_region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def presigned_post(self, key: str, max_bytes: int, expires_in: int) -> dict[str, Any]:
        signed = self.client.generate_presigned_post(
            self.bucket,
            key,
            Conditions=[{"key": key}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return {"url": str(signed["url"]), "fields": dict(signed["fields"])}
