"""Log every Prefect server transaction on SQLite that takes over 5 s, with the stack that began it.

Why: the embedded Prefect server sometimes halts every write for 60 s ("database is
locked"), and its log names only the writes that gave up, not the ones holding the lock.
Put this folder on ``PYTHONPATH`` for a benchmark run (services inherit it)::

    PYTHONPATH=bench/sqlite_probe DVKN_BASE_PORT=22100 uv run python -m bench.burst --naive 0

and read ``DVKN_SQLITE_PROBE_LOG`` (default ``/tmp/dvkn-sqlite-holds.log``). It caught
``mark_deployments_ready`` and ``mark_work_queues_ready`` each waiting out the 60 s busy
timeout (see the README's performance section). It records a stack per transaction
(formatted only when written), so it costs the server some CPU: leave it out of runs
whose figures are reported.

Neither of those names the holder: a transaction is idle between its statements while
its coroutine awaits something else. So a watchdog also looks every second for a
statement that has waited over ``STUCK_SECONDS``, and then writes, at 10, 30 and 50 s into a stall, every
connection's open transaction and statement in flight, every asyncio task's stack (what
each coroutine awaits) and every thread's stack (aiosqlite's threads inside SQLite).

What it could not show is what stalled the loop: its thread stacks are Python's, and the
loop thread was blocked in C (a garbage collection finalizing a cursor, waiting for the
busy connection's mutex). ``py-spy dump --native`` showed that; ``ops/prefect_server.py``
is the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

LOG = os.environ.get("DVKN_SQLITE_PROBE_LOG", "/tmp/dvkn-sqlite-holds.log")
SLOW_SECONDS = 5.0
#: A statement in flight this long is waiting out SQLite's busy timeout: dump everything.
STUCK_SECONDS = 10.0
#: Seconds into a stall at which to write a dump: whether anything moves inside it.
DUMP_AT = (10.0, 30.0, 50.0)
MODULE = "prefect.server.database.configurations"


def _stack() -> traceback.StackSummary:
    """The caller's stack without its source lines: read only if it is ever written.

    Formatting a stack at every transaction slowed the server enough that in 16 runs
    the stall never came (it had come in 2 of 4 with a lighter probe).
    """
    summary = traceback.StackSummary.extract(
        traceback.walk_stack(sys._getframe(2)), limit=30, lookup_lines=False
    )
    summary.reverse()  # outermost first, as format_stack gives it
    return summary


def _patch(configurations: ModuleType) -> None:
    sqlite = configurations.AioSqliteConfiguration
    original = sqlite.begin_transaction

    @contextlib.asynccontextmanager
    async def begin_transaction(
        self: Any, session: Any, with_for_update: bool = False
    ) -> AsyncIterator[Any]:
        stack = _stack()
        started = time.monotonic()
        try:
            async with original(self, session, with_for_update=with_for_update) as tx:
                yield tx
        finally:
            took = time.monotonic() - started
            if took > SLOW_SECONDS:
                with open(LOG, "a", encoding="utf-8") as out:
                    out.write(
                        f"=== {time.strftime('%H:%M:%S')} pid {os.getpid()}: transaction "
                        f"waited or held {took:.1f}s (immediate={with_for_update})\n"
                        f"{''.join(stack.format())}\n"
                    )

    sqlite.begin_transaction = begin_transaction
    _watch_connections(configurations)


def _watch_connections(configurations: ModuleType) -> None:
    """When a write gives up ("database is locked"), log every transaction still open.

    A transaction's lock can be held outside ``begin_transaction`` (a BEGIN emitted
    for any session while the begin-mode context variable is set): this names it.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    open_since: dict[int, tuple[float, str | None, traceback.StackSummary]] = {}
    #: connection -> (started, statement) of the statement it is executing.
    in_flight: dict[int, tuple[float, str]] = {}

    def key(conn: Any) -> int:
        return id(conn.connection.dbapi_connection)

    def before_execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        in_flight[key(conn)] = (time.monotonic(), statement)

    def after_execute(conn: Any, *_: Any) -> None:
        in_flight.pop(key(conn), None)

    def on_begin(conn: Any) -> None:
        mode = configurations.SQLITE_BEGIN_MODE.get()
        open_since[key(conn)] = (time.monotonic(), mode, _stack())

    def on_end(conn: Any) -> None:
        open_since.pop(key(conn), None)

    def on_error(context: Any) -> None:
        with contextlib.suppress(Exception):
            in_flight.pop(key(context.connection), None)
        if "locked" not in str(context.original_exception):
            return
        now = time.monotonic()
        with open(LOG, "a", encoding="utf-8") as out:
            out.write(f"### {time.strftime('%H:%M:%S')} locked: {context.statement!r:.200}\n")
            for conn_id, (since, mode, stack) in list(open_since.items()):
                if now - since > SLOW_SECONDS:
                    out.write(
                        f"--- open {now - since:.1f}s, BEGIN {mode} on {conn_id}\n"
                        f"{''.join(stack.format())}\n"
                    )

    event.listen(Engine, "begin", on_begin)
    event.listen(Engine, "commit", on_end)
    event.listen(Engine, "rollback", on_end)
    event.listen(Engine, "handle_error", on_error)
    event.listen(Engine, "before_cursor_execute", before_execute)
    event.listen(Engine, "after_cursor_execute", after_execute)
    loops: list[asyncio.AbstractEventLoop] = []

    def remember_loop(_conn: Any) -> None:
        """The loops that use the database (the server may run services on loops of their own)."""
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            if loop not in loops:
                loops.append(loop)

    event.listen(Engine, "begin", remember_loop)
    threading.Thread(
        target=_watchdog, args=(open_since, in_flight, loops), daemon=True, name="sqlite-watchdog"
    ).start()


def _await_chain(task: asyncio.Task[Any]) -> str:
    """What a suspended task is waiting on: its coroutine, the one that awaits, and so on.

    ``Task.get_stack`` gives only the outermost frame of a suspended task; following
    ``cr_await`` reaches the innermost await (a sleep, a lock, a connection, a query).
    """
    out = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = next(
            (
                getattr(awaited, a)
                for a in ("cr_frame", "gi_frame", "ag_frame")
                if getattr(awaited, a, None) is not None
            ),
            None,
        )
        if frame is None:
            out.append(type(awaited).__name__)
            break
        where = frame.f_code.co_filename.rsplit("site-packages/", 1)[-1]
        out.append(f"{frame.f_code.co_name} ({where}:{frame.f_lineno})")
        awaited = next(
            (
                getattr(awaited, a)
                for a in ("cr_await", "gi_yieldfrom", "ag_await")
                if getattr(awaited, a, None) is not None
            ),
            None,
        )
    return " -> ".join(out)


def _task_stacks(loop: asyncio.AbstractEventLoop) -> str:
    """Every task's chain of awaits, read from this thread (a diagnostic snapshot)."""
    return "\n".join(
        sorted(f"  task {t.get_name()}: {_await_chain(t)}" for t in list(asyncio.all_tasks(loop)))
    )


def _watchdog(
    open_since: dict[int, tuple[float, str | None, traceback.StackSummary]],
    in_flight: dict[int, tuple[float, str]],
    loops: list[asyncio.AbstractEventLoop],
) -> None:
    dumped_for: set[tuple[float, float]] = set()  # (the oldest wait's start, dump mark)
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        stuck = {c: (t, sql) for c, (t, sql) in list(in_flight.items()) if now - t > STUCK_SECONDS}
        if not stuck:
            continue
        oldest = min(t for t, _ in stuck.values())
        # The oldest waiter may change within one stall; a mark dumped for a start within
        # a second of this one is the same stall's.
        due = [
            m
            for m in DUMP_AT
            if now - oldest >= m
            and not any(abs(t - oldest) < 1.0 and done == m for t, done in dumped_for)
        ]
        if not due:
            continue
        dumped_for.update((oldest, m) for m in due)
        lines = [f"@@@ {time.strftime('%H:%M:%S')} pid {os.getpid()}: statements waiting"]
        for conn_id, (t, sql) in stuck.items():
            lines.append(f"--- waiting {now - t:.1f}s on {conn_id}: {sql!r:.300}")
        for conn_id, (since, mode, stack) in list(open_since.items()):
            busy = in_flight.get(conn_id)
            doing = f"executing {busy[1]!r:.200}" if busy else "idle in transaction"
            lines.append(
                f"--- open {now - since:.1f}s, BEGIN {mode} on {conn_id}, {doing}\n"
                + "".join(stack.format())
            )
        for i, loop in enumerate(loops):
            lines.append(f"asyncio tasks of loop {i}:\n" + _task_stacks(loop))
        for ident, frame in sys._current_frames().items():
            lines.append(f"thread {ident}:\n" + "".join(traceback.format_stack(frame, limit=60)))
        with open(LOG, "a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


def _wait_for_prefect_server() -> None:
    """Patch once the server has imported its database layer (it never does elsewhere)."""
    for _ in range(6000):  # two minutes: the server imports it while starting
        module = sys.modules.get(MODULE)
        if module is not None and hasattr(module, "AioSqliteConfiguration"):
            _patch(module)
            return
        time.sleep(0.02)


threading.Thread(target=_wait_for_prefect_server, daemon=True, name="sqlite-probe").start()
