"""A commune's side of the bucket: put a report where the intake expects it, read its receipt.

Keys follow :mod:`dvkn_pipeline.reference.keys`: ``incoming/<unit>/<period>/<file>``,
the receipt beside it under the receipts prefix.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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


def _is_new(found: Any, etag: str | None, before: Any | None) -> bool:
    """A receipt for this upload: its ETag (when known), and not the one there before it.

    A same-name re-upload finds the earlier version's receipt at the same key;
    only a receipt written after the upload (another processing time or
    attempt) answers it.
    """
    if not isinstance(found, dict):
        return False
    if etag is not None and str(found.get("etag", "")).strip('"') != etag.strip('"'):
        return False
    if before is None:
        return True
    return (found.get("processed_at"), found.get("key")) != (
        before.get("processed_at"),
        before.get("key"),
    ) or found.get("attempt") != before.get("attempt")


def wait_for_receipt(
    bucket: Bucket,
    settings: Settings,
    key: str,
    *,
    timeout: float,
    etag: str | None = None,
    before: Any | None = None,
    poll: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any | None:
    """The receipt of the upload at ``key`` once it is written, or None after ``timeout`` s.

    ``etag`` and ``before`` (the receipt found at the key before uploading)
    make a re-upload under the same name wait for its own receipt, not return
    the previous one at once.
    """
    deadline = clock() + timeout
    while True:
        found = find_receipt(bucket, settings, key)
        if found is not None and _is_new(found, etag, before):
            return found
        if clock() >= deadline:
            return None
        sleep(min(poll, max(0.0, deadline - clock())))
