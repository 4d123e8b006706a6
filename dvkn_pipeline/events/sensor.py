"""Polling event source: announce new objects under ``incoming/`` as Prefect events.

For stores that send no notifications (SeaweedFS, plain S3 without a queue).
MinIO in production posts events to the webhook receiver instead; both emit
the same ``dvkn.report.uploaded`` event; the sensor sends one per poll, naming
every upload it found (``upload_batch_events``). Run as
``python -m dvkn_pipeline.events.sensor`` (``dvkn up`` does, under supervision).
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from prefect.events import emit_event

from dvkn_pipeline.events.sensor_cursor import SensorCursor, advance
from dvkn_pipeline.events.upload_events import upload_batch_events, upload_event_resource
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.markers import SENSOR_CURSOR
from dvkn_pipeline.storage.s3_client import make_s3_client
from schemas.settings import Settings

log = logging.getLogger("dvkn.sensor")
CURSOR_NAME = SENSOR_CURSOR
__all__ = ["poll_once", "upload_event_resource"]


def poll_once(bucket: Bucket, settings: Settings, cursor: SensorCursor) -> tuple[int, SensorCursor]:
    new, cursor = advance(cursor, bucket.list_uploads(settings.incoming_prefix))
    for spec in upload_batch_events(new):
        emit_event(**spec)
    if new:
        bucket.put_json(settings.state_prefix + CURSOR_NAME, cursor.model_dump(mode="json"))
    return len(new), cursor


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    bucket = Bucket(make_s3_client(settings), settings.bucket)
    stored = bucket.get_json(settings.state_prefix + CURSOR_NAME)
    cursor = SensorCursor.model_validate(stored) if stored else SensorCursor()
    running = True

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("watching s3://%s/%s", settings.bucket, settings.incoming_prefix)
    while running:
        try:
            n, cursor = poll_once(bucket, settings, cursor)
            if n:
                log.info("announced %d new upload(s)", n)
        except Exception:  # the sensor must outlive a store or server restart
            log.exception("poll failed; retrying")
            time.sleep(min(10.0, settings.sensor_interval_seconds * 5))
        time.sleep(settings.sensor_interval_seconds)


if __name__ == "__main__":
    main()
