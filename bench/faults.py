"""The fault suite: the fault tests with many more faults, and their report. Not a unit test.

    uv run python -m bench.faults                      # 20 worker kills, 3 outages, 2 restarts
    uv run python -m bench.faults --kills 40 --seed 7

Runs the fault tests of ``tests/integration`` (workers SIGKILLed at random
points, the object store SIGKILLed mid-batch and restarted, the object store
dead longer than the retry budget under the Prefect flow, the Prefect server
SIGKILLed and restarted while uploads arrive) with the counts raised through
``DVKN_FAULT_*`` variables, prints the fault report (runs, faults injected,
mismatches against a fault-free run) and writes it to
``bench/results/faults.json``. Exits non-zero if any test failed or any run
mismatched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
SELECTION = [
    "tests/integration/test_exactly_once.py::test_workers_killed_at_random_points_end_like_a_clean_run",
    "tests/integration/test_faults.py",
    "tests/integration/test_flow_outage.py",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="worker SIGKILLs in all")
    parser.add_argument("--outages", type=int, default=3, help="object store outages")
    parser.add_argument("--restarts", type=int, default=2, help="Prefect server restarts")
    parser.add_argument("--seed", type=int, default=1, help="where the kills land")
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.json")
    args = parser.parse_args()
    env = os.environ | {
        "DVKN_FAULT_KILLS": str(args.kills),
        "DVKN_FAULT_OUTAGES": str(args.outages),
        "DVKN_FAULT_RESTARTS": str(args.restarts),
        "DVKN_FAULT_SEED": str(args.seed),
        "DVKN_FAULT_REPORT": str(args.out.resolve()),
    }
    args.out.unlink(missing_ok=True)
    # -n 0: one process, so the faults of one test do not load the machine under another.
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", *SELECTION]
    code = subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode
    if not args.out.exists():
        print("no fault report was written (the tests did not get that far)")
        return code or 1
    report = json.loads(args.out.read_text())
    print(json.dumps(report["totals"], indent=2))
    return code or int(report["totals"]["mismatches"] > 0)


if __name__ == "__main__":
    raise SystemExit(main())
