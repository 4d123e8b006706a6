"""CPU seconds of the warm workers' threads during a burst, grouped by thread name.

Why: the workers' CPU is most of a burst's, and a profiler (yappi, py-spy) inflates
Python-heavy code several times over. The kernel's own counters cost nothing. Run it
beside a benchmark, with ``bench/thread_probe`` on the benchmark's ``PYTHONPATH`` so
Python threads carry their names::

    PYTHONPATH=bench/thread_probe DVKN_BASE_PORT=22100 \\
        uv run python -m bench.burst --naive 0 --trials 0 > /tmp/burst.log 2>&1 &
    uv run python -m bench.thread_cpu /tmp/burst.log

It starts counting when the log says the burst is uploading and stops when it says the
files are rolled up. Threads that ended between two samples (the per-batch request
pools) are counted in the process total, not by name.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import time
from pathlib import Path

import psutil

TICK = os.sysconf("SC_CLK_TCK")
WORKER_MODULE = "dvkn_pipeline.ops.warm_worker"


def _workers() -> list[psutil.Process]:
    """The warm worker processes themselves (not their supervisors)."""
    out = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if WORKER_MODULE in cmd and "--pool" in cmd and "supervise" not in " ".join(cmd):
            out.append(proc)
    return out


def _threads(pid: int) -> dict[str, tuple[str, float]]:
    """Thread id -> (name, CPU seconds so far)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[tid] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, help="the benchmark's output")
    args = parser.parse_args()
    base: dict[tuple[int, str], float] = {}
    last: dict[tuple[int, str], tuple[str, float]] = {}
    total_base: dict[int, float] = {}
    total_last: dict[int, float] = {}
    started = False
    while True:
        text = args.log.read_text() if args.log.exists() else ""
        if not started and "burst: uploading" in text:
            started = True
            for proc in _workers():
                times = proc.cpu_times()
                total_base[proc.pid] = times.user + times.system
                for tid, (_, cpu) in _threads(proc.pid).items():
                    base[(proc.pid, tid)] = cpu
        if started:
            for proc in _workers():
                try:
                    times = proc.cpu_times()
                    total_last[proc.pid] = times.user + times.system
                    for tid, seen in _threads(proc.pid).items():
                        last[(proc.pid, tid)] = seen
                except (psutil.NoSuchProcess, FileNotFoundError):
                    continue
        if "files rolled up" in text:
            break
        time.sleep(0.5)
    by_name: collections.defaultdict[str, float] = collections.defaultdict(float)
    for key, (name, cpu) in last.items():
        by_name[re.sub(r"[-_]\d+$", "", name)] += cpu - base.get(key, 0.0)
    total = sum(total_last[p] - total_base.get(p, 0.0) for p in total_last)
    print(f"workers' CPU in the burst: {total:.1f} s")
    print(f"  in threads that ended between samples: {total - sum(by_name.values()):.1f} s")
    for name, cpu in sorted(by_name.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:16s} {cpu:6.1f} s")


if __name__ == "__main__":
    main()
