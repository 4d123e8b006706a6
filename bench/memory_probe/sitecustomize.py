"""Log where a warm worker's memory is, every few seconds, while a benchmark runs.

Why: a warm worker's resident size climbs through a burst (357 -> ~900 MiB for two
workers) although each batch frees what it made. This tells apart live Python
objects, glibc's heap (in use and free), and memory outside glibc (polars' jemalloc,
deltalake's Rust allocator). Put this folder on ``PYTHONPATH`` for a run::

    PYTHONPATH=bench/memory_probe DVKN_BASE_PORT=22100 uv run python -m bench.burst --naive 0 --trials 0

and read ``DVKN_MEMORY_PROBE_LOG`` (default ``/tmp/dvkn-memory-<pid>.log``), one line
per sample. Counting objects walks the whole heap: leave it out of reported runs.

A burst's peak lasts a second or two, so ``DVKN_MEMORY_PROBE_EVERY=0.25`` with
``DVKN_MEMORY_PROBE_OBJECTS=0`` (no heap walk) samples finely instead, and each line
names what the worker's threads were doing: the innermost pipeline function of each
(``spatial.rollup``, ``validation.validate_reports``...), so a spike has a phase.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import os
import sys
import threading
import time
import types

EVERY_SECONDS = float(os.environ.get("DVKN_MEMORY_PROBE_EVERY", "3"))
COUNT_OBJECTS = os.environ.get("DVKN_MEMORY_PROBE_OBJECTS", "1") != "0"


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS", "RssAnon", "RssFile")):
                name, value = line.split(":")
                out[name] = int(value.split()[0]) // 1024
    return out


def _phases() -> str:
    """The innermost ``dvkn_pipeline`` function of every thread that is in one."""
    names = []
    for frame in sys._current_frames().values():
        f: types.FrameType | None = frame
        while f is not None:
            module = f.f_globals.get("__name__", "")
            if module.startswith("dvkn_pipeline."):
                names.append(f"{module.rsplit('.', 1)[-1]}.{f.f_code.co_name}")
                break
            f = f.f_back
    counts = collections.Counter(names)
    return ", ".join(f"{n}x{c}" if c > 1 else n for n, c in sorted(counts.items()))


def _loop(path: str) -> None:
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _Mallinfo2
    mib = 1024 * 1024
    while True:
        time.sleep(EVERY_SECONDS)
        info = libc.mallinfo2()
        types = collections.Counter(
            type(o).__name__ for o in (gc.get_objects() if COUNT_OBJECTS else ())
        )
        top = ", ".join(f"{n}={c}" for n, c in types.most_common(8))
        with open(path, "a", encoding="utf-8") as out:
            out.write(
                f"{time.time():.2f} {_status()} glibc in use "
                f"{(info.uordblks + info.hblkhd) // mib} free {info.fordblks // mib} "
                f"mmapped {info.hblkhd // mib}; pymalloc blocks {sys.getallocatedblocks()}; "
                f"gc objects {sum(types.values())}: {top}; in {_phases()}\n"
            )


# At start-up ``python -m dvkn_pipeline.ops.warm_worker --pool ...`` shows as ``-m --pool ...``;
# its supervisor's arguments hold ``--status`` too.
if "--pool" in sys.argv and "--status" not in sys.argv:
    _path = os.environ.get("DVKN_MEMORY_PROBE_LOG", f"/tmp/dvkn-memory-{os.getpid()}.log")
    threading.Thread(target=_loop, args=(_path,), name="memory-probe", daemon=True).start()
