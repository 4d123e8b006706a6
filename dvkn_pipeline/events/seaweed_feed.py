"""SeaweedFS's own change feed, read as the uploads it announces. Pure.

The filer's metadata events (its SubscribeMetadata subscription) arrive as
protobuf's JSON mapping: from the sensor's own subscription
(``seaweed_subscription.py``), or printed by ``weed filer.meta.tail`` as
concatenated, pretty-printed JSON objects (``FeedDecoder`` splits those: what an
operator watching the feed, and the recording the tests replay, see).
On a versioned bucket a PUT of ``incoming/u/p/f.csv`` is a new file
``v_<version id>`` inside the directory ``.../f.csv.versions`` (its ETag and
version id base64-encoded in the entry's extended attributes); on an
unversioned bucket it is the file itself. Everything else the feed says
(directories, the ``.versions`` directory's "latest version" pointer, a
version turning non-current) announces no upload.

Why a feed and not a listing: listing ten thousand keys under nested folders
costs the store a directory scan per folder, and a polling sensor did that
every two seconds during a deadline burst. The feed costs nothing per poll and
names each new object version once, with its version id, however quickly the
next one overwrites it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.records import UploadRef

VERSIONS_SUFFIX = ".versions"
VERSION_FILE_PREFIX = "v_"


@dataclass
class FeedDecoder:
    """Splits the feed's text, as it arrives in pieces, into whole JSON objects."""

    _buffer: str = ""
    _decoder: json.JSONDecoder = field(default_factory=json.JSONDecoder)

    def feed(self, text: str) -> list[dict[str, Any]]:
        self._buffer += text
        out: list[dict[str, Any]] = []
        pos = 0
        while True:
            while pos < len(self._buffer) and self._buffer[pos].isspace():
                pos += 1
            if pos >= len(self._buffer):
                break
            try:
                obj, end = self._decoder.raw_decode(self._buffer, pos)
            except json.JSONDecodeError:
                break  # the rest of this object has not arrived yet
            if isinstance(obj, dict):
                out.append(obj)
            pos = end
        self._buffer = self._buffer[pos:]
        return out


def _text(extended: dict[str, Any], name: str) -> str:
    raw = extended.get(name)
    if not isinstance(raw, str) or not raw:
        return ""
    try:
        return base64.b64decode(raw).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""


def event_time_ns(event: dict[str, Any]) -> int:
    """The event's position in the feed (nanoseconds), for resuming after a restart."""
    try:
        return int(event.get("tsNs") or 0)
    except (TypeError, ValueError):
        return 0


def upload_of(event: dict[str, Any], bucket: str, incoming_prefix: str) -> UploadRef | None:
    """The object version a feed event created under ``incoming/``, or None."""
    note = event.get("eventNotification") or {}
    entry = note.get("newEntry")
    if not isinstance(entry, dict) or entry.get("isDirectory") or note.get("oldEntry"):
        return None  # a directory, a deletion, or an update of an existing entry
    directory = str(event.get("directory") or "")
    root = f"/buckets/{bucket}/"
    if not directory.startswith(root):
        return None
    folder = directory[len(root) :]
    name = str(entry.get("name") or "")
    extended = entry.get("extended") or {}
    version_id: str | None = None
    if folder.endswith(VERSIONS_SUFFIX) and name.startswith(VERSION_FILE_PREFIX):
        key = folder[: -len(VERSIONS_SUFFIX)]
        version_id = _text(extended, "Seaweed-X-Amz-Version-Id") or name[len(VERSION_FILE_PREFIX) :]
    elif folder.endswith(VERSIONS_SUFFIX):
        return None
    else:
        key = f"{folder}/{name}"
    if not key.startswith(incoming_prefix):
        return None
    attributes = entry.get("attributes") or {}
    etag = _text(extended, "Seaweed-X-Amz-ETag")
    mtime = int(attributes.get("mtime") or 0)
    return UploadRef(
        bucket=bucket,
        key=key,
        etag=etag,
        version_id=version_id,
        size=int(attributes.get("fileSize") or 0) or None,
        last_modified=datetime.fromtimestamp(mtime, UTC) if mtime else None,
    )


def uploads_in(
    events: list[dict[str, Any]], bucket: str, incoming_prefix: str
) -> Iterator[UploadRef]:
    for event in events:
        ref = upload_of(event, bucket, incoming_prefix)
        if ref is not None:
            yield ref
