"""Which listed objects are new since the last poll: the polling sensor's cursor.

SeaweedFS (and plain S3 without notifications) sends no events, so a sensor
lists ``incoming/`` and emits an event per object it has not announced. S3
timestamps have one-second resolution and clocks skew, so the cursor keeps a
high-water mark plus the objects announced within a look-back window rather
than a bare timestamp. Re-announcing an object is harmless (processing is
idempotent); missing one is not, hence the generous window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from schemas.records import UploadRef

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SensorCursor(BaseModel):
    watermark: datetime = EPOCH
    #: upload_id -> last_modified, for objects announced within the look-back window.
    recent: dict[str, datetime] = Field(default_factory=dict)


def advance(
    cursor: SensorCursor, listing: Iterable[UploadRef], lookback: timedelta = timedelta(minutes=2)
) -> tuple[list[UploadRef], SensorCursor]:
    """New objects in ``listing`` and the cursor after announcing them."""
    horizon = cursor.watermark - lookback
    new: list[UploadRef] = []
    watermark = cursor.watermark
    recent = dict(cursor.recent)
    for ref in listing:
        modified = ref.last_modified or datetime.now(UTC)
        if modified < horizon or ref.upload_id in recent:
            continue
        new.append(ref)
        recent[ref.upload_id] = modified
        watermark = max(watermark, modified)
    keep_after = watermark - lookback
    recent = {k: v for k, v in recent.items() if v >= keep_after}
    return sorted(new, key=lambda r: (r.last_modified or EPOCH, r.key)), SensorCursor(
        watermark=watermark, recent=recent
    )
