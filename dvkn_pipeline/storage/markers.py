"""Small marker objects the event sources rewrite when they announce uploads.

Why: an idle ``process-uploads`` run must notice new uploads quickly, but
listing every object under ``incoming/`` twice a second (seconds each at ten
thousand keys) would load the store for nothing. It HEADs these markers
instead and lists only when one changed, or every so often as a safety net.
The polling sensor's cursor is one marker; with MinIO notifications there is no
sensor, so the webhook receiver keeps its own, rewritten at most once a second
however many notifications arrive (only the change matters, not the content).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from schemas.records import UploadRef

log = logging.getLogger("dvkn.announcements")
#: The polling sensor's cursor (see dvkn_pipeline/events/sensor.py), under the state prefix.
SENSOR_CURSOR = "sensor-cursor.json"
#: Rewritten by the webhook receiver after it has announced uploads.
WEBHOOK_MARKER = "announced-by-webhook.json"
#: The change-feed sensor's position in SeaweedFS's metadata feed, rewritten per announcement.
FEED_CURSOR = "sensor-feed.json"
MARKERS = (SENSOR_CURSOR, WEBHOOK_MARKER, FEED_CURSOR)


class Heads(Protocol):
    def head(self, key: str) -> UploadRef | None: ...


def change_token(bucket: Heads, state_prefix: str) -> str | None:
    """Changes whenever an event source announces uploads in ``bucket``; None if none ever did."""
    refs = [bucket.head(state_prefix + marker) for marker in MARKERS]
    if not any(refs):
        return None
    return "|".join(ref.etag if ref else "-" for ref in refs)


#: Writes the marker document of one bucket.
MarkerWriter = Callable[[str, dict[str, Any]], None]


class Announcer:
    """Collects what the webhook announced and rewrites each bucket's marker, throttled.

    ``note`` is called per request (cheap, in memory); ``flush`` writes one
    marker per bucket with something new. A failed write keeps the counts, so
    the next flush tries again; until then idle runs still list on their timer.
    """

    def __init__(self, write: MarkerWriter, every: float = 1.0) -> None:
        self._write = write
        self.every = every
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()

    def note(self, buckets: Iterable[str]) -> None:
        with self._lock:
            self._pending.update(buckets)

    @property
    def pending(self) -> dict[str, int]:
        with self._lock:
            return dict(self._pending)

    def flush(self) -> None:
        with self._lock:
            due, self._pending = self._pending, Counter()
        for bucket, count in due.items():
            doc = {"announced_at": datetime.now(UTC).isoformat(), "uploads": count}
            try:
                self._write(bucket, doc)
            except Exception as exc:  # the marker is an optimisation: never fail a request
                log.warning("marker for bucket %s not written: %s", bucket, type(exc).__name__)
                with self._lock:
                    self._pending[bucket] += count

    async def run(self) -> None:
        """Flush every ``every`` seconds until cancelled (then once more)."""
        try:
            while True:
                started = time.monotonic()
                if self.pending:
                    await asyncio.to_thread(self.flush)
                await asyncio.sleep(max(0.0, self.every - (time.monotonic() - started)))
        finally:
            if self.pending:
                await asyncio.to_thread(self.flush)
