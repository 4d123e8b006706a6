"""The object-key layout of the bucket.

``incoming/<unit code>/<period>/<file name>`` is where a unit uploads (a
production credential is restricted to its own ``incoming/<unit code>/``
prefix). Receipts mirror that path under ``receipts/`` rather than sitting in
``incoming/`` itself: a commune's write-only credential then cannot alter its
receipt, and the event source never mistakes a receipt for an upload.

Which keys are safe (:func:`unsafe_key_reason`): the unit and period folders
are plain ASCII codes (``00004``, ``2025-Q1``); the file name may be any
Unicode a clerk types, NFC or NFD (``Báo cáo quý 1.xlsx``), but nothing that
changes how a path or a receipt reads: no ``..``, no backslash, no
percent-encoding (``%2F``: a client encoded twice, or someone hides a
separator), no control, format (bidi overrides, zero-width) or unassigned
characters, no line or paragraph separators, no hidden ``.name``. A refused
key's receipt is filed under a hash of the key, never under the key itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

#: Unit folders: GSO codes (digits), or a scope code such as ``VN``.
_UNIT_SEGMENT = re.compile(r"[A-Za-z0-9]{1,20}")
#: Period folders: ``2025-Q1``, ``2025-M03``, ``2025-9M``, ``2025-Y``.
_PERIOD_SEGMENT = re.compile(r"[A-Za-z0-9-]{1,20}")
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
#: Unicode categories a file name may not hold: controls, format characters,
#: surrogates, private use, unassigned, line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
MAX_FILENAME_CHARS = 200
#: Where receipts of refused keys go; ``!`` can never start a unit folder.
BAD_KEY_FOLDER = "!bad-keys"


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


def unsafe_key_reason(key: str, incoming_prefix: str = "incoming/") -> str | None:
    """Why a key is not safe to act on, or None. (Layout is checked by :func:`parse_incoming_key`.)"""
    if ".." in key:
        return "'..' in the path"
    if "\\" in key:
        return "backslash in the path"
    if _PERCENT_ENCODED.search(key):
        return "percent-encoded characters"
    for ch in key:
        if unicodedata.category(ch) in _FORBIDDEN_CATEGORIES:
            return f"control or invisible character U+{ord(ch):04X}"
    if not key.startswith(incoming_prefix):
        return None
    parts = key[len(incoming_prefix) :].split("/")
    if len(parts) != 3:
        return None
    unit, period, filename = parts
    if unit and not _UNIT_SEGMENT.fullmatch(unit):
        return "unit folder is not a unit code"
    if period and not _PERIOD_SEGMENT.fullmatch(period):
        return "period folder is not a period code"
    if filename.startswith("."):
        return "hidden file name"
    if len(filename) > MAX_FILENAME_CHARS:
        return f"file name longer than {MAX_FILENAME_CHARS} characters"
    return None


def incoming_key(
    unit_code: str, period: str, filename: str, incoming_prefix: str = "incoming/"
) -> str:
    return f"{incoming_prefix}{unit_code}/{period}/{filename}"


def receipt_key(
    key: str, incoming_prefix: str = "incoming/", receipts_prefix: str = "receipts/"
) -> str:
    """Beside the upload, mirrored under ``receipts/``; a refused key's under its hash."""
    if unsafe_key_reason(key, incoming_prefix) is not None:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{receipts_prefix}{BAD_KEY_FOLDER}/{digest}.receipt.json"
    rest = key[len(incoming_prefix) :] if key.startswith(incoming_prefix) else key
    return f"{receipts_prefix}{rest}.receipt.json"


def archive_key(sha256: str, key: str, archive_prefix: str = "archive/") -> str:
    """Content-addressed copy: the bytes of every upload survive an overwrite of its key."""
    suffix = file_format_of(key)
    suffix = f".{suffix}" if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else ""
    return f"{archive_prefix}{sha256[:2]}/{sha256}{suffix}"


def version_archive_key(key: str, version_id: str) -> str:
    """Where a versioned bucket keeps an upload's exact bytes: the object version itself.

    The ledger records it as the upload's ``archive_key``, so it also tells which version
    of a ``key#etag`` was recorded (the intake reads it instead of listing versions).
    """
    return f"{key}?versionId={version_id}"


def file_format_of(key: str) -> str:
    return PurePosixPath(key.replace("\\", "/")).suffix.lower().lstrip(".")
