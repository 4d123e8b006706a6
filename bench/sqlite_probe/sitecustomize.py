"""Log every Prefect server transaction on SQLite that takes over 5 s, with the stack that began it.

Why: the embedded Prefect server sometimes halts every write for 60 s ("database is
locked"), and its log names only the writes that gave up, not the ones holding the lock.
Put this folder on ``PYTHONPATH`` for a benchmark run (services inherit it)::

    PYTHONPATH=bench/sqlite_probe DVKN_BASE_PORT=22100 uv run python -m bench.burst --naive 0

and read ``DVKN_SQLITE_PROBE_LOG`` (default ``/tmp/dvkn-sqlite-holds.log``). It caught
``mark_deployments_ready`` and ``mark_work_queues_ready`` each waiting out the 60 s busy
timeout (see the README's performance section). It formats a stack per transaction, so
it costs the server some CPU: leave it out of runs whose figures are reported.
"""

from __future__ import annotations

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
MODULE = "prefect.server.database.configurations"


def _patch(configurations: ModuleType) -> None:
    sqlite = configurations.AioSqliteConfiguration
    original = sqlite.begin_transaction

    @contextlib.asynccontextmanager
    async def begin_transaction(
        self: Any, session: Any, with_for_update: bool = False
    ) -> AsyncIterator[Any]:
        stack = "".join(traceback.format_stack(limit=30)[:-2])
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
                        f"waited or held {took:.1f}s (immediate={with_for_update})\n{stack}\n"
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

    open_since: dict[int, tuple[float, str | None, str]] = {}

    def key(conn: Any) -> int:
        return id(conn.connection.dbapi_connection)

    def on_begin(conn: Any) -> None:
        mode = configurations.SQLITE_BEGIN_MODE.get()
        stack = "".join(traceback.format_stack(limit=30)[:-2])
        open_since[key(conn)] = (time.monotonic(), mode, stack)

    def on_end(conn: Any) -> None:
        open_since.pop(key(conn), None)

    def on_error(context: Any) -> None:
        if "locked" not in str(context.original_exception):
            return
        now = time.monotonic()
        with open(LOG, "a", encoding="utf-8") as out:
            out.write(f"### {time.strftime('%H:%M:%S')} locked: {context.statement!r:.200}\n")
            for conn_id, (since, mode, stack) in list(open_since.items()):
                if now - since > SLOW_SECONDS:
                    out.write(f"--- open {now - since:.1f}s, BEGIN {mode} on {conn_id}\n{stack}\n")

    event.listen(Engine, "begin", on_begin)
    event.listen(Engine, "commit", on_end)
    event.listen(Engine, "rollback", on_end)
    event.listen(Engine, "handle_error", on_error)


def _wait_for_prefect_server() -> None:
    """Patch once the server has imported its database layer (it never does elsewhere)."""
    for _ in range(6000):  # two minutes: the server imports it while starting
        module = sys.modules.get(MODULE)
        if module is not None and hasattr(module, "AioSqliteConfiguration"):
            _patch(module)
            return
        time.sleep(0.02)


threading.Thread(target=_wait_for_prefect_server, daemon=True, name="sqlite-probe").start()
