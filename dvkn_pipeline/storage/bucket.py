"""The operations the pipeline needs from one S3 bucket, over injected clients.

boto3 does everything; when a MinIO SDK client is injected too (``wiring``
does), the requests made once per uploaded file go through it instead: GET of
an upload and PUT of its receipt (see ``minio_client.make_fast_client`` for why).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from minio import Minio

from dvkn_pipeline.storage.markers import WEBHOOK_MARKER, MarkerWriter
from dvkn_pipeline.storage.minio_client import JSON_TYPE, MinioQueueStore, json_bytes
from schemas.records import UploadRef

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


def _conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "PreconditionFailed",
        "412",
        "ConditionalRequestConflict",
    }


class Bucket:
    def __init__(self, client: S3Client, name: str, fast: Minio | None = None) -> None:
        self.client = client
        self.name = name
        self.fast = fast
        #: The MinIO SDK's GET and PUT, shared with the sensor's store.
        self._light = None if fast is None else MinioQueueStore(fast, name)

    def get_bytes(self, key: str, etag: str | None = None) -> bytes | None:
        """The object's bytes; None when it is gone (or, with ``etag``, was replaced since)."""
        got = self.get_version(key, etag)
        return got[0] if got else None

    def get_version(
        self, key: str, etag: str | None = None, max_bytes: int | None = None
    ) -> tuple[bytes, str | None] | None:
        """The object's bytes and version id (None on an unversioned bucket).

        With ``max_bytes``, reads at most one byte more than that, so an
        oversized upload whose size was not known in advance cannot fill memory.
        """
        quoted = None if not etag else etag if etag.startswith('"') else f'"{etag}"'
        if self._light is not None:
            return self._light.get(key, {"If-Match": quoted} if quoted else None, None, max_bytes)
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key}
        if quoted:
            kwargs["IfMatch"] = quoted
        try:
            resp = self.client.get_object(**kwargs)
        except ClientError as exc:
            if _missing(exc) or exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return None
            raise
        version = resp.get("VersionId")
        body = resp["Body"]
        try:
            data = body.read() if max_bytes is None else body.read(max_bytes + 1)
        finally:
            body.close()
        return data, (None if version in (None, "null") else str(version))

    def get_object_version(self, key: str, version_id: str) -> bytes | None:
        """The bytes of one stored version of an object (None when that version is gone)."""
        if self._light is not None:
            got = self._light.get(key, version_id=version_id)
            return None if got is None else got[0]
        try:
            resp = self.client.get_object(Bucket=self.name, Key=key, VersionId=version_id)
        except ClientError as exc:
            if _missing(exc) or exc.response.get("Error", {}).get("Code") == "NoSuchVersion":
                return None
            raise
        return resp["Body"].read()

    def enable_versioning(self) -> None:
        """Keep every version of every object: no upload's bytes are ever lost to an overwrite."""
        self.client.put_bucket_versioning(
            Bucket=self.name, VersioningConfiguration={"Status": "Enabled"}
        )

    def versioning_enabled(self) -> bool:
        status = self.client.get_bucket_versioning(Bucket=self.name).get("Status")
        return bool(status == "Enabled")

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Write an object; returns its ETag (unquoted)."""
        if self._light is not None:
            return self._light.put_bytes(key, data, content_type)
        resp = self.client.put_object(
            Bucket=self.name, Key=key, Body=data, ContentType=content_type
        )
        return str(resp.get("ETag", "")).strip('"')

    def put_json(self, key: str, payload: Any) -> None:
        self.put_bytes(key, json_bytes(payload), JSON_TYPE)

    def get_json(self, key: str) -> Any | None:
        data = self.get_bytes(key)
        return None if data is None else json.loads(data)

    def put_if_absent(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> bool:
        """Write only if nothing is there yet (conditional put); False if it already existed."""
        try:
            self.client.put_object(
                Bucket=self.name, Key=key, Body=data, ContentType=content_type, IfNoneMatch="*"
            )
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "412"}:
                return False
            raise

    def read_with_etag(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and its ETag as the store gives it, for a later ``put_conditional``."""
        try:
            resp = self.client.get_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"NoSuchKey", "404"}:
                raise
            return None
        body = resp["Body"]
        try:
            return body.read(), str(resp["ETag"])
        finally:
            body.close()

    def put_conditional(self, key: str, data: bytes, if_match: str | None = None) -> str | None:
        """Write only if the object is still at ``if_match`` (absent, when None).

        Returns the new ETag as the store gives it, or None when another writer
        got there first: the compare-and-swap that leases are built on.
        """
        try:
            if if_match is None:
                resp = self.client.put_object(Bucket=self.name, Key=key, Body=data, IfNoneMatch="*")
            else:
                resp = self.client.put_object(
                    Bucket=self.name, Key=key, Body=data, IfMatch=if_match
                )
        except ClientError as exc:
            if _conflict(exc):
                return None
            raise
        return str(resp.get("ETag", ""))

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy an object inside this bucket (server side: the bytes never leave the store)."""
        self.client.copy_object(
            Bucket=self.name, Key=dest_key, CopySource={"Bucket": self.name, "Key": source_key}
        )

    def presigned_get_url(self, key: str, expires_in: int) -> str:
        """A link that reads ``key`` without credentials until it expires."""
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.name, "Key": key}, ExpiresIn=expires_in
            )
        )

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.name, Key=key)
            return True
        except ClientError as exc:
            if _missing(exc):
                return False
            raise

    def delete(self, key: str) -> None:
        """Remove one of the pipeline's own state objects (never an upload or a receipt)."""
        self.client.delete_object(Bucket=self.name, Key=key)

    def list_uploads(self, prefix: str) -> Iterator[UploadRef]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/"):
                    continue
                yield UploadRef(
                    bucket=self.name,
                    key=key,
                    etag=obj.get("ETag", "").strip('"'),
                    size=obj.get("Size"),
                    last_modified=obj.get("LastModified"),
                )

    def list_versions(self, prefix: str) -> Iterator[UploadRef]:
        """Every stored version under ``prefix`` (overwritten ones too), oldest first per key.

        Delete markers are not uploads and are left out. ``repeat`` marks a
        version whose bytes (ETag) an earlier version of the same key already had.
        """
        paginator = self.client.get_paginator("list_object_versions")
        by_key: dict[str, list[Any]] = {}
        for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
            for v in page.get("Versions", []):
                if not v["Key"].endswith("/"):
                    by_key.setdefault(v["Key"], []).append(v)
        for key, versions in by_key.items():
            seen: set[str] = set()
            # S3 lists a key's versions newest first. LastModified has whole seconds, and
            # version ids need not sort by age (SeaweedFS's run newest-smallest), so a
            # re-upload within the same second is ordered by the listing, not by its id:
            # ordering by id once marked the first upload, not its re-upload, as the repeat.
            oldest_first = list(reversed(versions))
            for v in sorted(oldest_first, key=lambda x: x.get("LastModified")):
                etag = str(v.get("ETag", "")).strip('"')
                yield UploadRef(
                    bucket=self.name,
                    key=key,
                    etag=etag,
                    size=v.get("Size"),
                    last_modified=v.get("LastModified"),
                    version_id=v.get("VersionId"),
                    repeat=etag in seen,
                    pinned=not v.get("IsLatest", False),
                )
                seen.add(etag)

    def head(self, key: str) -> UploadRef | None:
        try:
            h = self.client.head_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        meta = h.get("Metadata", {})
        return UploadRef(
            bucket=self.name,
            key=key,
            etag=h.get("ETag", "").strip('"'),
            size=h.get("ContentLength"),
            last_modified=h.get("LastModified"),
            uploader=meta.get("uploader"),
        )


def bucket_marker_writer(client: Any, state_prefix: str) -> MarkerWriter:
    """Writes the webhook's marker into the announced uploads' own bucket.

    Here rather than beside the marker names: the sensor imports those, and must
    not import boto3 through this module.
    """

    def write(bucket: str, doc: dict[str, Any]) -> None:
        Bucket(client, bucket).put_json(state_prefix + WEBHOOK_MARKER, doc)

    return write
