"""``prefect server start`` for the embedded stack, with garbage collection off its event loop.

Why: the embedded Prefect server on SQLite froze every request for 60 s now and
then in a deadline burst ("database is locked" after ``PRAGMA busy_timeout``).
A native stack of the frozen server (``py-spy dump --native``, the README's
performance section) shows the chain:

1. an aiosqlite thread runs a write that waits for SQLite's write lock, holding
   its connection's mutex for as long as it waits (up to the 60 s busy timeout);
2. the transaction holding the write lock needs the event loop to go on;
3. the event loop thread had started a garbage collection, which finalized an
   old cursor of the waiting connection: ``cursor_clear`` -> ``sqlite3_reset`` ->
   ``pthread_mutex_lock`` on that same connection's mutex.

The loop waits for the mutex, the mutex for the lock, the lock for the loop,
until the busy timeout breaks the cycle. So this process turns automatic
collection off and collects from a thread of its own, at the interpreter's own
thresholds: that thread may wait for a busy connection, the event loop never
does. PostgreSQL servers (``infra/compose.yaml``) have no such mutex and start
Prefect as it comes.
"""

from __future__ import annotations

import gc
import runpy
import sys
import threading
import time

from dvkn_pipeline.ops.heap import trim_periodically

#: How often the collector looks at the interpreter's allocation counts.
POLL_SECONDS = 0.05
#: A full collection at most this often: it walks every object of the server.
FULL_EVERY_SECONDS = 60.0


def collect_off_loop(
    stop: threading.Event,
    poll_seconds: float = POLL_SECONDS,
    full_every_seconds: float = FULL_EVERY_SECONDS,
) -> None:
    """Collect as the interpreter would (``gc.get_threshold``), but on this thread."""
    young_limit, middle_limit, old_limit = gc.get_threshold()
    last_full = time.monotonic()
    while not stop.wait(poll_seconds):
        young, middle, old = gc.get_count()
        if young < young_limit:
            continue
        generation = 1 if middle >= middle_limit else 0
        now = time.monotonic()
        if old >= old_limit and now - last_full >= full_every_seconds:
            generation, last_full = 2, now
        gc.collect(generation)


def start_collector(stop: threading.Event) -> threading.Thread:
    """Turn automatic collection off and hand it to a daemon thread."""
    gc.disable()
    thread = threading.Thread(
        target=collect_off_loop, args=(stop,), daemon=True, name="dvkn-gc-off-loop"
    )
    thread.start()
    return thread


def main() -> None:
    """Run ``prefect`` with this process's arguments (``server start --host ...``)."""
    start_collector(threading.Event())
    # What the naive baselines' 400 runs freed stayed resident through the burst after
    # them (317 MiB against 268-280 without them); hand it back as the workers do.
    trim_periodically()
    sys.argv = ["prefect", *sys.argv[1:]]
    runpy.run_module("prefect", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
