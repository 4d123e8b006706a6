"""Give each Python thread of a warm worker its name at the OS level (``/proc/<pid>/task/*/comm``).

Why: Python 3.11 leaves every thread it starts named ``python`` for the kernel, so a
per-thread CPU reading (``bench/thread_cpu.py``) cannot tell the flow's thread from the
per-file request pools or Prefect's log and event workers. Put this folder on
``PYTHONPATH`` for a benchmark run; services inherit it, and only warm workers
(``--pool`` on their command line) are touched.
"""

from __future__ import annotations

import ctypes
import sys
import threading

#: Linux ``prctl`` option that sets the calling thread's name (15 bytes kept).
PR_SET_NAME = 15
SHORT = (
    ("ThreadPoolExecutor", "TPE"),
    ("APILogWorkerThread", "APILog"),
    ("EventsWorker", "Events"),
)

if "--pool" in sys.argv and "--status" not in sys.argv:
    _libc = ctypes.CDLL(None)
    _bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def _named(self: threading.Thread) -> None:
        name = self.name
        for long, short in SHORT:
            name = name.replace(long, short)
        _libc.prctl(PR_SET_NAME, name[:15].encode(), 0, 0, 0)
        _bootstrap(self)

    threading.Thread._bootstrap_inner = _named  # type: ignore[attr-defined]
