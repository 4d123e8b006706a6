"""The embedded event source: announce new objects under ``incoming/`` as Prefect events.

Two ways to learn of uploads, chosen by ``DVKN_EVENT_SOURCE``:

* ``seaweedfs-feed`` (the embedded default): SeaweedFS's own change feed
  (``weed filer.meta.tail``, see ``seaweed_feed.py``). Nothing is listed: each
  new object version arrives once, with its version id. Every
  ``sensor_interval_seconds`` what arrived is written as one announcement
  (``storage/announced.py``), which intake runs read instead of listing, and
  announced to Prefect in one event; the feed position is kept so a restarted
  sensor resumes where it stopped.
* ``poll`` (any S3 store without notifications): list ``incoming/`` every
  ``sensor_interval_seconds`` and announce what is new since the last poll.

MinIO in production posts to the webhook receiver instead. All emit the same
``dvkn.report.uploaded`` event, one per poll or interval naming every upload it
found (``upload_batch_events``). Run as ``python -m dvkn_pipeline.events.sensor
[--weed PATH]`` (``dvkn up`` does, under supervision).
"""

from __future__ import annotations

import argparse
import codecs
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from prefect.events import emit_event

from dvkn_pipeline.events.seaweed_feed import FeedDecoder, event_time_ns, uploads_in
from dvkn_pipeline.events.sensor_cursor import SensorCursor, advance
from dvkn_pipeline.events.upload_events import (
    UploadEventSpec,
    upload_batch_events,
    upload_event,
    upload_event_resource,
)
from dvkn_pipeline.storage.announced import announce, draining_runs, wake_another_run
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.markers import FEED_CURSOR, SENSOR_CURSOR
from dvkn_pipeline.storage.s3_client import make_s3_client
from schemas.records import UploadRef
from schemas.settings import Settings

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

    def __call__(self, bucket: Bucket, settings: Settings, announced: int) -> bool:
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
    bucket: Bucket, settings: Settings, cursor: SensorCursor, wake: Waker | None = None
) -> tuple[int, SensorCursor]:
    new, cursor = advance(cursor, bucket.list_uploads(settings.incoming_prefix))
    if new and (wake or Waker())(bucket, settings, len(new)):
        for spec in announcements(new, settings):
            emit_event(**spec)
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


def run_poll(bucket: Bucket, settings: Settings, stop: threading.Event) -> None:
    stored = bucket.get_json(settings.state_prefix + CURSOR_NAME)
    cursor = SensorCursor.model_validate(stored) if stored else SensorCursor()
    log.info("polling s3://%s/%s", settings.bucket, settings.incoming_prefix)
    wake = Waker()
    while not stop.is_set():
        try:
            n, cursor = poll_once(bucket, settings, cursor, wake)
            if n:
                log.info("announced %d new upload(s)", n)
        except Exception:  # the sensor must outlive a store or server restart
            log.exception("poll failed; retrying")
            stop.wait(min(10.0, settings.sensor_interval_seconds * 5))
        stop.wait(settings.sensor_interval_seconds)


def feed_argv(weed: str, settings: Settings, since_ns: int | None, now_ns: int) -> list[str]:
    ago_ns = (
        FIRST_LOOKBACK_SECONDS * 1_000_000_000
        if since_ns is None
        else max(0, now_ns - since_ns) + RESUME_OVERLAP_NS
    )
    return [
        weed,
        "filer.meta.tail",
        f"-filer=127.0.0.1:{settings.local_port('filer')}",
        f"-pathPrefix=/buckets/{settings.bucket}/{settings.incoming_prefix}",
        f"-timeAgo={ago_ns}ns",
    ]


def _read_feed(proc: subprocess.Popen[bytes], out: queue.Queue[dict[str, Any] | None]) -> None:
    """Hand each whole feed event to ``out`` as soon as its last byte arrives; None at the end."""
    assert proc.stdout is not None
    decoder, text = FeedDecoder(), codecs.getincrementaldecoder("utf-8")()
    fd = proc.stdout.fileno()
    while chunk := os.read(fd, 1 << 16):
        for event in decoder.feed(text.decode(chunk)):
            out.put(event)
    out.put(None)


def run_feed(bucket: Bucket, settings: Settings, weed: str, stop: threading.Event) -> None:
    """Follow SeaweedFS's change feed; one announcement per interval with anything new."""
    cursor_key = settings.state_prefix + FEED_CURSOR
    stored = bucket.get_json(cursor_key)
    since = int(stored["ts_ns"]) if stored else None
    argv = feed_argv(weed, settings, since, time.time_ns())
    log.info("following the change feed of s3://%s/%s", settings.bucket, settings.incoming_prefix)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    threading.Thread(target=_read_feed, args=(proc, events), daemon=True).start()
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
                    for spec in announcements(refs, settings):
                        emit_event(**spec)
                bucket.put_json(
                    cursor_key,
                    {"ts_ns": last_ts, "at": datetime.now(UTC).isoformat(), "uploads": len(refs)},
                )
                log.info("announced %d new upload(s)", len(refs))
                seen.clear()
            if ended:
                raise RuntimeError(f"the change feed ended (weed exit {proc.poll()})")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description="Announce uploads under incoming/ to Prefect.")
    parser.add_argument("--weed", help="the SeaweedFS binary, for the change feed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    bucket = Bucket(make_s3_client(settings), settings.bucket)
    stop = _stopper()
    if settings.event_source == "seaweedfs-feed":
        weed = args.weed or shutil.which("weed")
        if weed is None:
            raise SystemExit("the change feed needs the SeaweedFS binary: pass --weed PATH")
        # A failed feed (store restarting) ends the process; its supervisor starts it again.
        run_feed(bucket, settings, weed, stop)
    else:
        run_poll(bucket, settings, stop)


if __name__ == "__main__":
    main()
