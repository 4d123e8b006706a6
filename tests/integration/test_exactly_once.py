"""At-least-once delivery, exactly-once effect: duplicates, crashes and concurrent
workers must end with the same tables as one clean run."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings
from schemas.tables import empty_marks
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
    snapshot,
    start_drain_worker,
)

pytestmark = pytest.mark.integration

KILLS = env_int("DVKN_FAULT_KILLS", 3)
#: Kills on one bucket before its last run; then a fresh bucket, so kills land at every stage.
KILLS_PER_RUN = 4


def test_the_same_uploads_delivered_twice_change_nothing(
    stack_settings: Settings, clean: dict[str, object]
) -> None:
    intake = loaded(stack_settings.model_copy(update={"bucket": "eo-duplicates"}))
    refs = intake.pending()
    intake.process(refs)
    intake.process(refs)  # the same events again
    intake.process(refs[:10] + refs[:10])  # and a batch that repeats itself
    intake.refresh({Q1.code})
    intake.refresh({Q1.code})
    assert snapshot(intake) == clean


def test_a_crash_between_receipts_and_ledger_commit_loses_and_doubles_nothing(
    stack_settings: Settings, clean: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = loaded(stack_settings.model_copy(update={"bucket": "eo-crash"}))
    refs = intake.pending()

    def crash(rows: pl.DataFrame) -> None:
        raise RuntimeError("worker died before the ledger commit")

    with monkeypatch.context() as m:
        m.setattr(intake.tables, "add_to_ledger", crash)
        with pytest.raises(RuntimeError):
            intake.process(refs)  # receipts and facts written, ledger not
    assert intake.tables.read_ledger().is_empty()
    result = intake.process(intake.pending())  # the retry of the whole batch
    intake.refresh(result.periods)
    assert snapshot(intake) == clean


def test_a_crash_between_ledger_commit_and_refresh_is_caught_up_by_the_next_run(
    stack_settings: Settings, clean: dict[str, object]
) -> None:
    intake = loaded(stack_settings.model_copy(update={"bucket": "eo-crash-refresh"}))
    intake.refresh(intake.process(intake.pending()[:3]).periods)  # an earlier, complete run
    rest = intake.pending()
    recorded = intake.process(rest).changed  # ledger committed; the worker dies before refresh
    assert intake.pending() == []  # no event or listing will name these uploads again
    stale = intake.stale_periods()
    assert stale == recorded and stale[Q1.code]
    intake.refresh(stale)  # what the next run does first
    assert intake.stale_periods() == {}
    assert snapshot(intake) == clean


def test_two_workers_on_the_same_files_end_like_one(
    stack_settings: Settings, clean: dict[str, object]
) -> None:
    intake = loaded(stack_settings.model_copy(update={"bucket": "eo-concurrent"}))
    refs = intake.pending()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            other = build_intake(intake.settings)
            other.process(refs)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    intake.refresh({Q1.code})
    assert snapshot(intake) == clean


def test_workers_killed_at_random_points_end_like_a_clean_run(
    stack_settings: Settings, clean: dict[str, object], tmp_path: Path
) -> None:
    """Real processes, SIGKILL at a random moment, again and again, then a last run.

    ``DVKN_FAULT_KILLS`` kills in all (3 by default, 20 or more in the fault suite),
    at most ``KILLS_PER_RUN`` per bucket; each bucket's final tables must equal
    the clean run's.
    """
    rng = random.Random(int(os.environ.get("DVKN_FAULT_SEED", "1")))
    line = FaultLine("worker SIGKILLed at random points")
    log = tmp_path / "worker.log"
    # A worker that finishes before its kill lands injects nothing: take another bucket
    # (at most three times as many as kills are due) rather than count fewer kills.
    while line.kills < KILLS and line.runs < 3 * KILLS:
        bucket = f"eo-killed-{line.runs}"
        intake = loaded(stack_settings.model_copy(update={"bucket": bucket}))
        for _ in range(min(KILLS_PER_RUN, KILLS - line.kills)):
            proc = start_drain_worker(stack_settings, bucket, log)
            time.sleep(rng.uniform(1.5, 6.0))  # imports take ~1.5 s; then it is mid-batch
            line.kills += kill_group(proc)
        final = start_drain_worker(stack_settings, bucket, log)
        assert final.wait(timeout=300) == 0, log_tail(log)
        line.runs += 1
        line.mismatches += snapshot(intake) != clean
    REPORT.add(line)
    assert line.kills >= KILLS
    assert line.mismatches == 0


def test_two_worker_processes_at_once_end_like_a_clean_run(
    stack_settings: Settings, clean: dict[str, object], tmp_path: Path
) -> None:
    bucket = "eo-two-procs"
    intake = loaded(stack_settings.model_copy(update={"bucket": bucket}))
    logs = [tmp_path / f"worker-{i}.log" for i in range(2)]
    procs = [start_drain_worker(stack_settings, bucket, log, batch=7) for log in logs]
    for p, log in zip(procs, logs, strict=True):
        assert p.wait(timeout=300) == 0, log_tail(log)
    intake.refresh({Q1.code})
    assert snapshot(intake) == clean


def test_a_late_correction_recomputes_only_its_ancestors_and_matches_a_full_refresh(
    stack_settings: Settings,
) -> None:
    intake = loaded(stack_settings.model_copy(update={"bucket": "eo-incremental"}))
    intake.refresh(intake.process(intake.pending()).periods)
    unit = HANOI.units_at("commune")[12]
    corrected = generate_report(unit, Q1, CAT, seed=77, version=9)
    intake.bucket.put_bytes(incoming_key(unit.code, Q1.code, "sua.csv"), corrected.to_csv(CAT))
    result = intake.process(intake.pending())
    assert result.changed == {Q1.code: {unit.code}}
    rewritten = intake.refresh(result.periods)[Q1.code]
    district = HANOI.unit(unit.parent_code or "")
    assert set(rewritten["unit_code"]) == {unit.code, district.code, "01"}
    incremental = snapshot(intake)
    # Without marks every unit is stale, so this recomputes the whole period from the
    # ledger and facts (with them, nothing is stale and the refresh would do nothing).
    intake.tables.write_marks(Q1.code, empty_marks(), None)
    assert intake.stale_periods()
    intake.refresh(result.periods)
    assert not intake.stale_periods()
    assert snapshot(intake) == incremental
    money = (
        intake.tables.read_rollup(Q1.code)
        .filter((pl.col("unit_code") == unit.code) & (pl.col("indicator") == "TIEN_VAN_DONG"))[
            "value"
        ]
        .sum()
    )
    assert money == corrected.value("TIEN_VAN_DONG")
