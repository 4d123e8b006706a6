"""Hand freed heap memory back to the system now and then (glibc's ``malloc_trim``).

Why: a long-lived process of the stack (a warm worker, the embedded Prefect server)
allocates and frees hundreds of MiB of small objects in a burst; glibc keeps freed
pages mapped for reuse, so its resident size stayed at its largest moment for good.
Trimming is thread-safe and takes milliseconds. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import threading
import time

#: How often a process hands freed heap memory back to the system.
TRIM_EVERY_SECONDS = 5.0


def trim_periodically(every: float = TRIM_EVERY_SECONDS) -> threading.Thread | None:
    """Start a daemon thread that trims the heap every ``every`` seconds (None: not glibc)."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is None:
        return None

    def loop() -> None:
        while True:
            time.sleep(every)
            trim(0)

    thread = threading.Thread(target=loop, name="malloc-trim", daemon=True)
    thread.start()
    return thread
