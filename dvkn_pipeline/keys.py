"""The object-key layout of the bucket.

``incoming/<unit code>/<period>/<file name>`` is where a unit uploads (a
production credential is restricted to its own ``incoming/<unit code>/``
prefix). Receipts mirror that path under ``receipts/`` rather than sitting in
``incoming/`` itself: a commune's write-only credential then cannot alter its
receipt, and the event source never mistakes a receipt for an upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class IncomingKey:
    unit_code: str
    period_text: str
    filename: str


def parse_incoming_key(key: str, incoming_prefix: str = "incoming/") -> IncomingKey | None:
    """The unit and period a key claims, or None when the key is not in the layout."""
    if not key.startswith(incoming_prefix):
        return None
    parts = key[len(incoming_prefix) :].split("/")
    if len(parts) != 3 or not all(parts) or any(p in {".", ".."} for p in parts):
        return None
    return IncomingKey(unit_code=parts[0], period_text=parts[1], filename=parts[2])


def incoming_key(
    unit_code: str, period: str, filename: str, incoming_prefix: str = "incoming/"
) -> str:
    return f"{incoming_prefix}{unit_code}/{period}/{filename}"


def receipt_key(
    key: str, incoming_prefix: str = "incoming/", receipts_prefix: str = "receipts/"
) -> str:
    rest = key[len(incoming_prefix) :] if key.startswith(incoming_prefix) else key
    return f"{receipts_prefix}{rest}.receipt.json"


def archive_key(sha256: str, key: str, archive_prefix: str = "archive/") -> str:
    """Content-addressed copy: the bytes of every upload survive an overwrite of its key."""
    suffix = PurePosixPath(key).suffix.lower()[:10]
    return f"{archive_prefix}{sha256[:2]}/{sha256}{suffix}"


def file_format_of(key: str) -> str:
    return PurePosixPath(key).suffix.lower().lstrip(".")
