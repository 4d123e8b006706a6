"""Who uploaded each object version, as MinIO told the webhook, kept where intake can read it.

The intake drains ``incoming/`` by listing it, so the uploader carried by a
``dvkn.report.uploaded`` event would not reach validation on its own, and an
object's user metadata is whatever the client chose to send. The webhook
therefore records MinIO's ``principalId`` (mapped to a unit code) under
``<state prefix>uploaders/`` before it announces the upload; only the
pipeline's account may write there. ``recorded_uploader`` gives intake the
value for ``UploadRef.uploader`` (and so for the ``uploader_is_unit`` rule).
The first record of an upload wins: a resend cannot change it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from dvkn_pipeline.storage.bucket import Bucket
from schemas.records import UploadRef


def uploader_record_key(ref: UploadRef, state_prefix: str = "_state/") -> str:
    digest = hashlib.sha256(ref.upload_id.encode("utf-8")).hexdigest()
    return f"{state_prefix}uploaders/{digest[:2]}/{digest}.json"


def uploader_record(ref: UploadRef) -> bytes:
    body = {
        "key": ref.key,
        "etag": ref.etag,
        "version_id": ref.version_id,
        "uploader": ref.uploader,
        "event_time": ref.last_modified.isoformat() if ref.last_modified else None,
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def record_uploader(bucket: Bucket, ref: UploadRef, state_prefix: str = "_state/") -> bool:
    """Keep who uploaded ``ref``; False when an earlier record already says so."""
    return bucket.put_if_absent(
        uploader_record_key(ref, state_prefix), uploader_record(ref), "application/json"
    )


class JsonReader(Protocol):
    def get_json(self, key: str) -> Any | None: ...


def recorded_uploader(
    bucket: JsonReader, ref: UploadRef, state_prefix: str = "_state/"
) -> str | None:
    """The uploader MinIO named for this object version, or None when none was recorded."""
    data = bucket.get_json(uploader_record_key(ref, state_prefix))
    if not isinstance(data, dict):
        return None
    value = data.get("uploader")
    return str(value) if value else None
