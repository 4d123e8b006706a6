"""The embedded event source: announce new objects under ``incoming/`` as Prefect events.

Two ways to learn of uploads, chosen by ``DVKN_EVENT_SOURCE``:

* ``seaweedfs-feed`` (the embedded default): SeaweedFS's own change feed, the
  filer's metadata subscription over gRPC (``seaweed_subscription.py``, read as
  uploads by ``seaweed_feed.py``). Nothing is listed: each
  new object version arrives once, with its version id. Every
  ``sensor_interval_seconds`` what arrived is written as one announcement
  (``storage/announced.py``), which intake runs read instead of listing, and
  announced to Prefect in one event; the feed position is kept so a restarted
  sensor resumes where it stopped.
* ``poll`` (any S3 store without notifications): list ``incoming/`` every
  ``sensor_interval_seconds`` and announce what is new since the last poll.

MinIO in production posts to the webhook receiver instead. All emit the same
``dvkn.report.uploaded`` event, one per poll or interval naming every upload it
found (``upload_batch_events``), posted to the server's events API
(``prefect_events_api.py``: the sensor does not import Prefect). Run as
``python -m dvkn_pipeline.events.sensor`` (``dvkn up`` does, under supervision).
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from dvkn_pipeline.events.prefect_events_api import PrefectEventsApi
from dvkn_pipeline.events.seaweed_feed import event_time_ns, uploads_in
from dvkn_pipeline.events.seaweed_subscription import MetadataSubscription
from dvkn_pipeline.events.sensor_cursor import SensorCursor, advance
from dvkn_pipeline.events.upload_events import (
    UploadEventSpec,
    upload_batch_events,
    upload_event,
    upload_event_resource,
)
from dvkn_pipeline.storage.announced import (
    QueueStore,
    announce,
    draining_runs,
    wake_another_run,
)
from dvkn_pipeline.storage.markers import FEED_CURSOR, SENSOR_CURSOR
from dvkn_pipeline.storage.minio_client import MinioQueueStore, make_fast_client
from schemas.records import UploadRef
from schemas.settings import LOCAL_GRPC_OFFSET, Settings

log = logging.getLogger("dvkn.sensor")
CURSOR_NAME = SENSOR_CURSOR
__all__ = ["poll_once", "upload_event_resource"]


def announcements(refs: list[UploadRef], settings: Settings) -> list[UploadEventSpec]:
    """Events per batch; one per upload only for the benchmark's naive baseline, whose
    deployment starts one flow run per event and reads the key from it."""
    if settings.event_per_upload:
        return [upload_event(r) for r in refs]
    return upload_batch_events(refs)


class Waker:
    """Decides whether an announcement also goes to Prefect as an event (starting a run).

    Remembers the runs it woke lately: a woken run takes a few seconds to start
    and say it is draining, and a burst's next announcements must not wake
    another run for each of them (seen: 18 runs for one burst, most finding
    nothing to do).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.woken: list[float] = []
        #: Runs draining just before the first of the wakes in ``woken``.
        self.present_before = 0

    def __call__(self, bucket: QueueStore, settings: Settings, announced: int) -> bool:
        now = self.clock()
        self.woken = [t for t in self.woken if now - t < STARTING_SECONDS]
        present = draining_runs(bucket, settings.state_prefix)
        if not self.woken:
            self.present_before = present
        # Woken lately and not yet draining: each run that began draining since the
        # first of these wakes is one of them.
        starting = max(0, len(self.woken) - max(0, present - self.present_before))
        wake = wake_another_run(
            present,
            starting,
            announced,
            settings.intake_concurrency,
            settings.scale_out_uploads,
        )
        if wake:
            self.woken.append(now)
        return wake


def poll_once(
    bucket: QueueStore,
    settings: Settings,
    cursor: SensorCursor,
    prefect: PrefectEventsApi,
    wake: Waker | None = None,
) -> tuple[int, SensorCursor]:
    new, cursor = advance(cursor, bucket.list_uploads(settings.incoming_prefix))
    if new and (wake or Waker())(bucket, settings, len(new)):
        prefect.post(announcements(new, settings))
    if new:
        bucket.put_json(settings.state_prefix + CURSOR_NAME, cursor.model_dump(mode="json"))
    return len(new), cursor


#: Without a stored feed position, the feed is read from this long ago (the ledger drops
#: what was already recorded; the reconciliation sweep covers anything older).
FIRST_LOOKBACK_SECONDS = 24 * 3600
#: After an upload arrived, this long without another ends the interval early (latency of a
#: single late upload); in a burst events keep coming and the interval is the batch.
QUIET_SECONDS = 0.3
#: A woken intake run counts as on its way this long (then it drains, or never will).
STARTING_SECONDS = 30.0
#: A resumed feed starts this much before the stored position: events may share a timestamp.
RESUME_OVERLAP_NS = 2_000_000_000


def _stopper() -> threading.Event:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def run_poll(
    bucket: QueueStore, settings: Settings, prefect: PrefectEventsApi, stop: threading.Event
) -> None:
    stored = bucket.get_json(settings.state_prefix + CURSOR_NAME)
    cursor = SensorCursor.model_validate(stored) if stored else SensorCursor()
    log.info("polling s3://%s/%s", settings.bucket, settings.incoming_prefix)
    wake = Waker()
    while not stop.is_set():
        try:
            n, cursor = poll_once(bucket, settings, cursor, prefect, wake)
            if n:
                log.info("announced %d new upload(s)", n)
        except Exception:  # the sensor must outlive a store or server restart
            log.exception("poll failed; retrying")
            stop.wait(min(10.0, settings.sensor_interval_seconds * 5))
        stop.wait(settings.sensor_interval_seconds)


def feed_since_ns(since_ns: int | None, now_ns: int) -> int:
    """Where the subscription starts: before the stored position, or a day back without one."""
    if since_ns is None:
        return now_ns - FIRST_LOOKBACK_SECONDS * 1_000_000_000
    return max(0, since_ns - RESUME_OVERLAP_NS)


def _read_feed(feed: MetadataSubscription, out: queue.Queue[dict[str, Any] | None]) -> None:
    """Hand each feed event to ``out`` as it arrives; None once the feed ends or fails."""
    try:
        for event in feed.events():
            out.put(event)
    except Exception:
        log.exception("the change feed failed")
    finally:
        out.put(None)


def run_feed(
    bucket: QueueStore, settings: Settings, prefect: PrefectEventsApi, stop: threading.Event
) -> None:
    """Follow SeaweedFS's change feed; one announcement per interval with anything new."""
    cursor_key = settings.state_prefix + FEED_CURSOR
    stored = bucket.get_json(cursor_key)
    since = int(stored["ts_ns"]) if stored else None
    log.info("following the change feed of s3://%s/%s", settings.bucket, settings.incoming_prefix)
    feed = MetadataSubscription(
        f"127.0.0.1:{settings.local_port('filer') + LOCAL_GRPC_OFFSET}",
        f"/buckets/{settings.bucket}/{settings.incoming_prefix}",
        feed_since_ns(since, time.time_ns()),
    )
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    threading.Thread(target=_read_feed, args=(feed, events), daemon=True).start()
    seen: dict[str, UploadRef] = {}
    last_ts = since or 0
    wake = Waker()
    try:
        while not stop.is_set():
            deadline = time.monotonic() + settings.sensor_interval_seconds
            ended = False
            while (left := deadline - time.monotonic()) > 0:
                try:
                    # Once something arrived, a quiet moment ends the interval: a lone late
                    # upload is announced at once, a burst still in one announcement per interval.
                    event = events.get(timeout=min(left, QUIET_SECONDS) if seen else left)
                except queue.Empty:
                    break
                if event is None:
                    ended = True
                    break
                last_ts = max(last_ts, event_time_ns(event))
                for ref in uploads_in([event], settings.bucket, settings.incoming_prefix):
                    seen.setdefault(ref.upload_id, ref)
            if seen:
                refs = list(seen.values())
                # The announcement first: once the event is out, a run must find it; and a
                # run draining now will find it without one (see DrainPresence).
                announce(bucket, settings.state_prefix, refs)
                if wake(bucket, settings, len(refs)):
                    prefect.post(announcements(refs, settings))
                bucket.put_json(
                    cursor_key,
                    {"ts_ns": last_ts, "at": datetime.now(UTC).isoformat(), "uploads": len(refs)},
                )
                log.info("announced %d new upload(s)", len(refs))
                seen.clear()
            if ended:
                raise RuntimeError("the change feed ended (the filer stopped or refused it)")
    finally:
        feed.close()


def events_api(settings: Settings) -> PrefectEventsApi:
    """The Prefect server this process was started for (``PREFECT_API_URL`` and its auth)."""
    url = settings.prefect_api_url or os.environ.get("PREFECT_API_URL")
    if not url:
        raise SystemExit("the sensor needs the Prefect API: set PREFECT_API_URL")
    return PrefectEventsApi(
        url,
        auth_string=os.environ.get("PREFECT_API_AUTH_STRING"),
        api_key=os.environ.get("PREFECT_API_KEY"),
        # Patient: the SQLite server has been seen to stall 60 s under a burst; a post
        # that outlasts three tries restarts the sensor, which then announces again.
        timeout=30.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Announce uploads under incoming/ to Prefect.")
    parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    # The MinIO SDK alone: the sensor reads and writes a few small objects, and
    # boto3 with its client would be a fifth of its resident size.
    bucket = MinioQueueStore(make_fast_client(settings), settings.bucket)
    prefect = events_api(settings)
    stop = _stopper()
    if settings.event_source == "seaweedfs-feed":
        # A failed feed (store restarting) ends the process; its supervisor starts it again.
        run_feed(bucket, settings, prefect, stop)
    else:
        run_poll(bucket, settings, prefect, stop)


if __name__ == "__main__":
    main()
