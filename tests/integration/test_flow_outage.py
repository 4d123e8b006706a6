"""The object store dies for longer than the clients' retry budget while the real deployment runs.

``test_faults.py`` kills the store under a bare drain worker for less than the
budget, so there the outage is only a delay. Here the flow's S3 clients get a
small budget (two attempts, a three-second table retry timeout) and the store
stays dead for longer, so requests really fail inside the flow run. Prefect's
task retries, or a later run of the deployment (the scheduled ``reconcile``),
must then finish the job, and the tables must equal a fault-free run's: no
upload lost or recorded twice, and above all no upload turned into a rejection
receipt because of an infrastructure failure.

``DVKN_FAULT_OUTAGE_SECONDS`` sets how long the store stays dead (its restart adds ~2 s).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.reference.keys import receipt_key
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage import leases
from schemas.settings import Settings
from tests.integration.faults import (
    Q1,
    REPORT,
    FaultLine,
    corpus,
    env_int,
    loaded,
    own_stack,
    snapshot,
)

pytestmark = pytest.mark.integration

#: Longer than a task's own retries span (two retries, 2 s and 10 s apart), so the
#: batch fails for good and a later run must finish it; 10 s shows task retries riding it out.
OUTAGE_SECONDS = env_int("DVKN_FAULT_OUTAGE_SECONDS", 25)
#: Small enough that the outage outlasts it: requests fail instead of waiting the store out.
SMALL_BUDGET: dict[str, Any] = {
    "s3_max_attempts": 2,
    "s3_connect_timeout_seconds": 1.0,
    "s3_read_timeout_seconds": 5.0,
    "s3_table_max_retries": 1,
    "s3_table_retry_timeout_seconds": 3.0,
}
#: The test's own reads wait the store out, whatever the flow's budget.
PATIENT: dict[str, Any] = {
    "s3_max_attempts": 10,
    "s3_table_max_retries": 40,
    "s3_table_retry_timeout_seconds": 120.0,
}
TERMINAL = {"Completed", "Failed", "Crashed", "Cancelled", "Cancelling"}


def _receipts(intake: Intake) -> int:
    return sum(1 for _ in intake.bucket.list_uploads(intake.settings.receipts_prefix))


def _wait(what: str, done: Any, timeout: float, every: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f}s")
        time.sleep(every)


def _raw_ledger_rows(intake: Intake) -> pl.DataFrame:
    """Every row ever appended to the ledger (``read_ledger`` hides replays; this does not)."""
    return pl.scan_delta(
        intake.tables.uri("ledger"), storage_options=intake.tables.scan_options
    ).collect()


def _differences(got: dict[str, object], clean: dict[str, object]) -> list[str]:
    """The first rows where a snapshot departs from the clean one, per part."""
    out = []
    for part, want in clean.items():
        have = got[part]
        if have == want:
            continue
        if isinstance(have, list) and isinstance(want, list):
            extra = [r for r in have if r not in want][:3]
            missing = [r for r in want if r not in have][:3]
            out.append(f"{part}: {len(have)} vs {len(want)} rows; extra {extra}; missing {missing}")
        else:
            out.append(f"{part}: {have} vs {want}")
    return out


def _runs_and_tasks(settings: Settings) -> list[dict[str, Any]]:
    """Each flow run of this stack's deployments, oldest first, with its task runs."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    out: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        deployments = {d.id: d.name for d in client.read_deployments()}
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_ASC)
        for run in runs:
            if run.deployment_id not in deployments or run.start_time is None:
                continue  # scheduled runs that never started say nothing about the outage
            tasks = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
            )
            out.append(
                {
                    "deployment": deployments[run.deployment_id],
                    # The state's type: a run that rejected files completes under a
                    # name of its own ("Completed (2 rejected)").
                    "state": run.state_type.value.title() if run.state_type else None,
                    "tasks": sorted(
                        (t.name.rsplit("-", 1)[0], t.state_name, t.run_count) for t in tasks
                    ),
                    "run": run,
                }
            )
    return out


def _describe(r: dict[str, Any], recorded: Counter[str]) -> str:
    """One run for the fault report: state (and why, if not completed), uploads, task runs."""
    run = r["run"]
    why = ""
    if r["state"] not in {"Completed", "Cancelled"} and run.state and run.state.message:
        why = " (" + run.state.message.splitlines()[0][:140] + ")"
    tasks = Counter(f"{name} {state} after {n} attempt(s)" for name, state, n in r["tasks"])
    return (
        f"{r['deployment']} {run.name}: {r['state']}{why}; recorded {recorded[str(run.id)]} "
        f"uploads; tasks: {dict(tasks)}"
    )


def test_a_store_outage_longer_than_the_retry_budget_fails_tasks_and_the_deployment_recovers(
    tmp_path: Path, clean: dict[str, object]
) -> None:
    line = FaultLine("object store dead longer than the retry budget under the Prefect flow")
    t0 = time.monotonic()

    def mark(what: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {what}")

    with own_stack(
        tmp_path,
        prefect=True,
        bucket="flow-outage",
        work_pool="dvkn-flow-outage",
        batch_window_seconds=1.0,
        drain_idle_seconds=3.0,
        refresh_every_seconds=2.0,
        batch_max_files=4,
        shards=4,
        reconcile_interval_seconds=10,
        # lease_seconds stays at its default (600 s): a run that failed with a shard
        # leased must not hold up that shard's uploads for ten minutes.
        **SMALL_BUDGET,
    ) as settings:
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from dvkn_pipeline.services.orchestration import register
        from schemas.deployments import INTAKE

        mark("stack up")
        patient = settings.model_copy(update=PATIENT)
        loaded(patient)
        intake = build_intake(patient)
        with temporary_settings(updates={PREFECT_API_URL: local_env.prefect_api_url(settings)}):
            register(settings)
            processes.start_service(local_stack.worker_spec(settings, 0), settings)
            mark("worker up")
            run_deployment(INTAKE, parameters={"bucket": settings.bucket}, timeout=0)

            # Mid-batch: the first receipts are written, the ledger does not hold everything yet.
            _wait("no receipt", lambda: _receipts(intake) > 0, timeout=120, every=0.1)
            assert intake.tables.read_ledger().height < len(corpus()), "done before the outage"
            assert processes.kill_service("seaweedfs", settings)
            line.store_outages += 1
            mark("store killed")
            time.sleep(OUTAGE_SECONDS)
            local_stack.start_object_store(settings)
            mark("store back")

            uploads = len(corpus())
            _wait(
                "the ledger never got every upload",
                lambda: intake.tables.read_ledger().height >= uploads,
                timeout=240,
                every=1.0,
            )
            mark("ledger complete")
            _wait("the roll-up never caught up", lambda: not intake.stale_periods(), 120, 1.0)
            mark("roll-up fresh")
            # The runs that did the work (the schedule keeps starting more) must have ended.
            done_at = datetime.now(UTC)

            def runs_so_far() -> list[dict[str, Any]]:
                return [r for r in _runs_and_tasks(settings) if r["run"].start_time < done_at]

            _wait(
                "a run never ended",
                lambda: all(r["state"] in TERMINAL for r in runs_so_far()),
                timeout=60,
                every=1.0,
            )
            runs = runs_so_far()

        line.runs = len(runs)
        got = snapshot(intake)
        line.mismatches = int(got != clean)
        differences = _differences(got, clean)
        raw = _raw_ledger_rows(intake)
        written = Counter(zip(raw["upload_id"], raw["attempt"].fill_null(0), strict=True))
        by_run = Counter(raw["flow_run_id"].to_list())
        line.notes = [_describe(r, by_run) for r in runs]
        REPORT.add(line)
        for note in line.notes:
            print(note)

        # Every upload in the ledger exactly once: read back, and as written.
        assert got["uploads"] == uploads
        assert {n for n in written.values()} == {1}, written.most_common(3)
        # Nothing became a rejection because the store was away: same statuses as the clean run.
        assert got["ledger"] == clean["ledger"]
        for key, status in got["ledger"]:  # type: ignore[attr-defined]
            receipt = intake.bucket.get_json(receipt_key(key))
            assert receipt is not None and receipt["status"] == status, key
            rules = {p["rule"] for p in receipt["problems"]}
            assert "internal_error" not in rules, (key, receipt["problems"])
        assert line.mismatches == 0, differences

        # What Prefect saw: some task failed and was retried, or a later run finished the work.
        failed_runs = [r for r in runs if r["state"] not in {"Completed", "Cancelled"}]
        retried = [t for r in runs for t in r["tasks"] if t[2] > 1]
        assert failed_runs or retried, f"the outage failed nothing: {line.notes}"
        if failed_runs:
            last_failure = max(r["run"].end_time for r in failed_runs)
            assert any(
                r["state"] == "Completed" and r["run"].start_time > last_failure for r in runs
            ), f"no run completed after the failed one: {line.notes}"


def test_a_shard_lease_left_by_a_run_that_ended_is_taken_over_a_live_ones_is_not(
    object_store: Settings,
) -> None:
    """A run that failed with the store away never released its lease: a later run takes it."""
    settings = object_store.model_copy(update={"bucket": f"lease-{uuid.uuid4().hex[:8]}"})
    local_stack.ensure_bucket(settings)
    bucket = build_intake(settings).bucket
    key, ttl = "_state/leases/shard-000.json", timedelta(minutes=10)
    left = leases.acquire(bucket, key, "failed-run", ttl)
    assert left is not None  # ... and never released
    assert leases.acquire(bucket, key, "later-run", ttl) is None
    assert leases.acquire(bucket, key, "later-run", ttl, gone=lambda holder: False) is None
    asked: list[str] = []

    def ended(holder: str) -> bool:
        asked.append(holder)
        return True

    taken = leases.acquire(bucket, key, "later-run", ttl, gone=ended)
    assert taken is not None and taken.owner == "later-run" and asked == ["failed-run"]
    leases.release(bucket, left)  # the ended holder's late release cannot free it again
    assert leases.acquire(bucket, key, "third-run", ttl) is None


def test_a_refresh_whose_lease_could_not_be_released_takes_it_back_when_retried(
    object_store: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retried refresh-rollups task must not wait ``refresh_lease_seconds`` on itself."""
    settings = object_store.model_copy(update={"bucket": f"refresh-{uuid.uuid4().hex[:8]}"})
    local_stack.ensure_bucket(settings)
    intake = build_intake(settings)

    def store_away(*_: object) -> None:
        raise OSError("the object store went away")

    monkeypatch.setattr(leases, "release", store_away)
    with pytest.raises(OSError, match="went away"), intake._refresh_lock(Q1.code):
        raise OSError("the object store went away")  # mid-refresh; the release fails too
    monkeypatch.undo()
    started = time.monotonic()
    with intake._refresh_lock(Q1.code):
        waited = time.monotonic() - started
        # Another process (another intake) still finds the period held.
        key = f"{settings.state_prefix}leases/refresh-{Q1.code}.json"
        other = build_intake(settings)
        assert leases.acquire(other.bucket, key, other.lease_owner, timedelta(seconds=60)) is None
    assert waited < 2.0
