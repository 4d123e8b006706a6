"""Presigned PUTs: a browser uploads one exact key and size to the store, without credentials.

The console never handles a report's bytes: it signs a PUT of the exact key
(``incoming/<unit>/<period>/<file>``, chosen and checked by the server) with
the file's size among the signed headers, and the browser sends the file to
the store itself. The store refuses any other key, any other length, or an
expired URL (SigV4; SeaweedFS 4.48 and MinIO both check the signed
``Content-Length``).

Why a PUT and not a POST policy: on SeaweedFS 4.48 a POST goes to the bucket's
path, whose CORS preflight answers ``*`` whatever the bucket's CORS rule says;
a PUT goes to the object's path, where the rule (only the console's origin) is
enforced. Signed for the endpoint the *browser* reaches (``DVKN_S3_PUBLIC_URL``),
which in production differs from the one the pipeline uses inside its network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from schemas.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class PutSigner:
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

    def presigned_put(self, key: str, size: int, expires_in: int) -> str:
        return str(
            self.client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentLength": size},
                ExpiresIn=expires_in,
            )
        )
