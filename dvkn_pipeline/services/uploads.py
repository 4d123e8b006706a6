"""A commune's side of the bucket: put a report where the intake expects it, read its receipt.

Keys follow :mod:`dvkn_pipeline.reference.keys`: ``incoming/<unit>/<period>/<file>``,
the receipt beside it under the receipts prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dvkn_pipeline.reference.keys import incoming_key, receipt_key
from dvkn_pipeline.storage.bucket import Bucket
from schemas.settings import Settings


@dataclass(frozen=True)
class UploadedReport:
    """Where a report went, its ETag, and where its receipt will appear."""

    key: str
    etag: str
    receipt_key: str


def upload_report(
    bucket: Bucket, settings: Settings, unit: str, period: str, name: str, content: bytes
) -> UploadedReport:
    """Put one report file under ``incoming/<unit>/<period>/<name>`` as a commune does."""
    key = incoming_key(unit, period, name, settings.incoming_prefix)
    etag = bucket.put_bytes(key, content)
    return UploadedReport(
        key, etag, receipt_key(key, settings.incoming_prefix, settings.receipts_prefix)
    )


def find_receipt(bucket: Bucket, settings: Settings, key: str) -> Any | None:
    """The receipt of the upload at ``key`` as stored (JSON), or None while there is none yet."""
    return bucket.get_json(receipt_key(key, settings.incoming_prefix, settings.receipts_prefix))
