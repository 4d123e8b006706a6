"""Faults that take a real part away and bring it back: the object store, the Prefect server.

Each test runs its own SeaweedFS (and Prefect server) on its own port block, so
it can SIGKILL them without breaking the session's stack, and compares the end
state with a fault-free run. ``DVKN_FAULT_OUTAGES`` and ``DVKN_FAULT_RESTARTS``
raise the number of faults per test for the fault suite (``bench/faults.py``).
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.ops.demo import Upload, upload_all, wait_for_ledger
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings
from tests.integration.faults import (
    CAT,
    HANOI,
    Q1,
    REPORT,
    FaultLine,
    env_int,
    kill_group,
    loaded,
    log_tail,
    own_stack,
    snapshot,
    start_drain_worker,
)

pytestmark = pytest.mark.integration

OUTAGES = env_int("DVKN_FAULT_OUTAGES", 1)
RESTARTS = env_int("DVKN_FAULT_RESTARTS", 1)
#: How long the store stays dead before it is started again (its start adds ~2 s).
OUTAGE_SECONDS = 4.0


def _receipts(settings: Settings) -> int:
    intake = build_intake(settings)
    return sum(1 for _ in intake.bucket.list_uploads(settings.receipts_prefix))


def _wait_for_receipts(settings: Settings, more_than: int, timeout: float = 120.0) -> int:
    """Block until the worker has written receipts beyond ``more_than`` (it is mid-batch)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = _receipts(settings)
        if n > more_than:
            return n
        time.sleep(0.2)
    raise TimeoutError(f"no receipt beyond {more_than} after {timeout:.0f}s")


def test_the_object_store_killed_mid_batch_comes_back_and_the_batch_finishes(
    tmp_path: Path, clean: dict[str, object]
) -> None:
    """SIGKILL SeaweedFS while a worker is mid-batch, start it again on the same port and data.

    The worker's clients retry with backoff, so the outage is a delay: the
    worker finishes by itself, and its tables equal the clean run's.
    """
    rng = random.Random(env_int("DVKN_FAULT_SEED", 1))
    line = FaultLine("object store SIGKILLed mid-batch and restarted")
    log = tmp_path / "worker.log"
    with own_stack(tmp_path, bucket="outage") as settings:
        intake = loaded(settings)
        proc = start_drain_worker(settings, settings.bucket, log, batch=3)
        try:
            seen = 0
            for _ in range(OUTAGES):
                seen = _wait_for_receipts(settings, seen)
                time.sleep(rng.uniform(0.0, 1.0))
                if proc.poll() is not None:
                    break  # done before this outage: no fault to count
                assert processes.kill_service("seaweedfs", settings)
                line.store_outages += 1
                time.sleep(OUTAGE_SECONDS)
                local_stack.start_object_store(settings)
            code = proc.wait(timeout=300)
        finally:
            kill_group(proc)
        assert code == 0, log_tail(log)
        line.runs = 1
        line.mismatches = int(snapshot(intake) != clean)
        REPORT.add(line)
        assert line.store_outages >= 1, "the worker finished before the store could be killed"
        assert line.mismatches == 0


def _alive(settings: Settings) -> dict[str, bool]:
    return {s.name: s.alive for s in processes.service_status(settings)}


def test_uploads_arriving_while_the_prefect_server_restarts_all_reach_the_ledger(
    tmp_path: Path,
) -> None:
    """Kill the Prefect server (SIGKILL) in the middle of a stream of uploads, start it again.

    Events emitted while it is down are lost; the reconciliation sweep and the
    drain's own listing must still bring every upload to the ledger, and the
    worker and the sensor must outlive the restart.
    """
    line = FaultLine("Prefect server SIGKILLed and restarted while uploads arrive")
    with own_stack(
        tmp_path,
        prefect=True,
        bucket="restart",
        work_pool="dvkn-restart",
        batch_window_seconds=2.0,
        drain_idle_seconds=3.0,
        refresh_every_seconds=5.0,
        reconcile_interval_seconds=10,
    ) as settings:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from dvkn_pipeline.services.orchestration import register

        with temporary_settings(updates={PREFECT_API_URL: local_env.prefect_api_url(settings)}):
            register(settings)
        local_stack.ensure_bucket(settings)
        processes.start_service(local_stack.worker_spec(settings, 0), settings)
        processes.start_service(local_stack.sensor_spec(settings), settings)

        reports = [generate_report(u, Q1, CAT, seed=21) for u in HANOI.units_at("commune")[:24]]
        uploads = [
            Upload(incoming_key(r.unit.code, Q1.code, "bao-cao.csv"), r, r.to_csv(CAT))
            for r in reports
        ]
        intake = build_intake(settings)
        ids: list[str] = []
        errors: list[BaseException] = []

        def send() -> None:  # two files a second, as communes trickle in before a deadline
            try:
                for start in range(0, len(uploads), 2):
                    ids.extend(upload_all(intake.bucket, uploads[start : start + 2]))
                    time.sleep(1.0)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            for _ in range(RESTARTS):
                time.sleep(3.0)
                assert processes.kill_service("prefect-server", settings)
                line.server_restarts += 1
                time.sleep(2.0)
                local_stack.start_prefect_server(settings)
        finally:
            sender.join()
        assert not errors
        ledger = wait_for_ledger(intake.tables, ids, timeout=240)
        assert sorted(ledger["key"].to_list()) == sorted(u.key for u in uploads)
        assert set(ledger["status"]) == {"accepted"}
        deadline = time.monotonic() + 120
        while intake.stale_periods() and time.monotonic() < deadline:
            time.sleep(1.0)
        stale = intake.stale_periods()
        alive = _alive(settings)
        for state in processes.service_status(settings):
            if state.restarts:  # the supervisor brought a process back that gave up
                line.notes.append(f"{state.name} started again {state.restarts}x")
        line.runs = 1
        line.mismatches = int(bool(stale))
        REPORT.add(line)
        assert stale == {}, "the roll-up never caught up with the ledger"
        assert alive["worker-0"] and alive["sensor"], alive
        rollup = intake.tables.read_rollup(Q1.code)
        money = rollup.filter(
            (rollup["unit_code"] == "01") & (rollup["indicator"] == "TIEN_VAN_DONG")
        )["value"].sum()
        assert money == sum(r.value("TIEN_VAN_DONG") for r in reports)
