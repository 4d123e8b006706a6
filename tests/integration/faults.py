"""What the fault tests share: one corpus, its snapshot, a killable worker, a private stack,
and the fault report.

A fault test injects real faults (SIGKILL of a worker, of the object store, of
the Prefect server) and compares the final tables with the snapshot of a
fault-free run of the same corpus. Every fault test adds a line to ``REPORT``;
the session prints it at the end and, with ``DVKN_FAULT_REPORT=path``, writes
it as JSON (``bench/faults.py`` does).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.ops.demo import with_value
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.ops.resources import project_root
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")


def env_int(name: str, default: int) -> int:
    """A fault count from the environment: the fault suite raises what CI runs by default."""
    return int(os.environ.get(name, str(default)))


def corpus() -> list[tuple[str, bytes]]:
    """Reports of 40 communes, a corrected version of some, an identical re-send, a broken one."""
    units = HANOI.units_at("commune")[:40]
    files: list[tuple[str, bytes]] = []
    for u in units:
        r = generate_report(u, Q1, CAT, seed=3)
        files.append((incoming_key(u.code, Q1.code, "bao-cao.csv"), r.to_csv(CAT)))
    for u in units[:5]:
        r = generate_report(u, Q1, CAT, seed=4, version=2)
        files.append((incoming_key(u.code, Q1.code, "bao-cao-v2.csv"), r.to_csv(CAT)))
    files.append((incoming_key(units[6].code, Q1.code, "gui-lai.csv"), files[6][1]))
    bad = generate_report(units[7], Q1, CAT, seed=5)
    bad = with_value(
        bad, "MH_CONG_NHAN", bad.value("MH_DANG_KY", field="KT") + 3, field="KT", holder="TT"
    )
    files.append(
        (
            incoming_key(units[7].code, Q1.code, "sai.csv"),
            SyntheticReport(
                bad.unit, Q1, 3, {**bad.header, "report_version": "3"}, bad.rows
            ).to_csv(CAT),
        )
    )
    return files


def loaded(settings: Settings) -> Intake:
    """The corpus uploaded to a (new) bucket, nothing processed yet."""
    local_stack.ensure_bucket(settings)
    intake = build_intake(settings)
    for key, content in corpus():
        intake.bucket.put_bytes(key, content)
    return intake


def snapshot(intake: Intake) -> dict[str, object]:
    """What must not change: roll-up figures, completeness, one ledger row per upload."""
    rollup = intake.tables.read_rollup(Q1.code).drop("hierarchy_version")
    comp = intake.tables.read_completeness(Q1.code).drop("hierarchy_version")
    ledger = intake.tables.read_ledger(Q1.code)
    keys = ["unit_code", "indicator", *CAT.dimension_columns]
    return {
        "rollup": rollup.sort(keys, nulls_last=True).to_dicts(),
        "completeness": comp.sort("unit_code", "reporter_level").to_dicts(),
        "ledger": sorted(zip(ledger["key"], ledger["status"], strict=True)),
        "uploads": ledger.height,
    }


def clean_snapshot(settings: Settings) -> dict[str, object]:
    """The fault-free run every faulty one is compared with."""
    intake = loaded(settings)
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    snap = snapshot(intake)
    assert snap["uploads"] == len(corpus())
    return snap


def start_drain_worker(
    settings: Settings, bucket: str, log: Path, batch: int = 5
) -> subprocess.Popen[bytes]:
    """``tests.integration.drain_worker`` in its own session, so SIGKILL takes all of it."""
    env = {**os.environ, **local_env.dvkn_env(settings)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.integration.drain_worker", bucket, str(batch)],
            env=env,
            cwd=project_root(),
            stdout=subprocess.DEVNULL,
            stderr=out,  # a file, not a pipe: a chatty worker must never block on a full pipe
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the worker's whole process group; True if it was still running."""
    alive = proc.poll() is None
    if alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return alive


def log_tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@contextlib.contextmanager
def own_stack(root: Path, *, prefect: bool = False, **overrides: Any) -> Iterator[Settings]:
    """A private SeaweedFS (and Prefect server) on its own port block and state directory.

    Fault tests kill these without touching the session's stack. Everything
    started here (services, workers, sensor) is stopped on the way out.
    """
    error: processes.StackError | None = None
    for attempt in range(3):
        settings = local_env.local_settings(
            root / f"s{attempt}", local_env.find_free_port_block(), **overrides
        )
        try:
            local_stack.start_object_store(settings)
            if prefect:
                local_stack.start_prefect_server(settings)
        except processes.StackError as exc:  # a port taken between the check and the start
            error = exc
            local_stack.down(settings)
            continue
        except BaseException:  # anything else: nothing started here may outlive the test
            local_stack.down(settings)
            raise
        try:
            yield settings
        finally:
            local_stack.down(settings)
        return
    assert error is not None
    raise error


@dataclass
class FaultLine:
    test: str
    runs: int = 0
    kills: int = 0
    store_outages: int = 0
    server_restarts: int = 0
    mismatches: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class FaultReport:
    lines: list[FaultLine] = field(default_factory=list)

    def add(self, line: FaultLine) -> None:
        self.lines.append(line)
        print(f"fault report: {self.format_line(line)}")

    def totals(self) -> dict[str, int]:
        return {
            k: sum(getattr(line, k) for line in self.lines)
            for k in ("runs", "kills", "store_outages", "server_restarts", "mismatches")
        }

    @staticmethod
    def format_line(line: FaultLine) -> str:
        return (
            f"{line.test}: {line.runs} runs, {line.kills} worker kills, "
            f"{line.store_outages} store outages, {line.server_restarts} server restarts, "
            f"{line.mismatches} mismatches" + (f" ({'; '.join(line.notes)})" if line.notes else "")
        )

    def text(self) -> str:
        t = self.totals()
        rows = [self.format_line(line) for line in self.lines]
        rows.append(
            f"TOTAL: {t['runs']} runs, faults injected: {t['kills']} worker kills, "
            f"{t['store_outages']} store outages, {t['server_restarts']} server restarts; "
            f"mismatches against a clean run: {t['mismatches']}"
        )
        return "\n".join(rows)

    def as_json(self) -> dict[str, Any]:
        return {"totals": self.totals(), "tests": [asdict(line) for line in self.lines]}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n")


#: Filled by the fault tests of this session; printed by ``tests/integration/conftest.py``.
REPORT = FaultReport()
