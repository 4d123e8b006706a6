"""The embedded Prefect server collects garbage on a thread of its own, never on its loop."""

from __future__ import annotations

import gc
import threading
import time
from typing import ClassVar

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.prefect_server import start_collector
from schemas.settings import Settings


class _Cycle:
    """Only the cyclic collector frees it; records the thread that did."""

    finalized_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.finalized_on.append(threading.current_thread().name)


def test_cyclic_garbage_is_finalized_on_the_collector_thread_not_the_allocating_one() -> None:
    # A finalizer of SQLite's cursor waits for its connection's mutex: on the event loop
    # thread that froze the server for the busy timeout. Here the allocating thread
    # stands for the loop.
    was_enabled = gc.isenabled()
    gc.collect()
    _Cycle.finalized_on.clear()
    stop = threading.Event()
    thread = start_collector(stop)
    try:
        assert not gc.isenabled()
        deadline = time.monotonic() + 10
        while len(_Cycle.finalized_on) < 1000 and time.monotonic() < deadline:
            for _ in range(500):
                _Cycle()
            time.sleep(0.01)
        assert len(_Cycle.finalized_on) >= 1000
        assert set(_Cycle.finalized_on) == {thread.name}
    finally:
        stop.set()
        thread.join(timeout=5)
        if was_enabled:
            gc.enable()
    gc.collect()


def test_the_embedded_stack_starts_prefect_through_the_collecting_launcher() -> None:
    argv = local_stack.prefect_server_spec(Settings()).argv
    assert argv[1:5] == ["-m", "dvkn_pipeline.ops.prefect_server", "server", "start"]


def test_the_heap_is_trimmed_on_a_thread_of_its_own() -> None:
    # glibc here: the thread starts, named so a per-thread CPU reading can tell it apart.
    from dvkn_pipeline.ops.heap import trim_periodically

    thread = trim_periodically(every=0.01)
    assert thread is not None and thread.is_alive() and thread.daemon
    assert thread.name == "malloc-trim"
