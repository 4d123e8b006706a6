"""At-least-once delivery, exactly-once effect: duplicates, crashes and concurrent
workers must end with the same tables as one clean run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import polars as pl
import pytest

from dvkn_pipeline import local_stack
from dvkn_pipeline.catalogue import load_catalogue
from dvkn_pipeline.demo import with_value
from dvkn_pipeline.generator import SyntheticReport, generate_report
from dvkn_pipeline.hierarchy import load_hierarchies
from dvkn_pipeline.intake import Intake
from dvkn_pipeline.keys import incoming_key
from dvkn_pipeline.periods import Period
from dvkn_pipeline.wiring import build_intake
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")
KILL_RUNS = int(os.environ.get("DVKN_FAULT_KILLS", "3"))


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


@pytest.fixture(scope="module")
def clean(stack_settings: Settings) -> dict[str, object]:
    intake = loaded(stack_settings.model_copy(update={"bucket": "exactly-once-clean"}))
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    snap = snapshot(intake)
    assert snap["uploads"] == len(corpus())
    return snap


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
    intake.refresh(stale, stale)  # what the next run does first
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


def _worker(settings: Settings, bucket: str, batch: int = 5) -> subprocess.Popen[bytes]:
    env = {**os.environ, **local_stack.dvkn_env(settings)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.drain_worker", bucket, str(batch)],
        env=env,
        cwd=local_stack.PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def test_workers_killed_at_random_points_end_like_a_clean_run(
    stack_settings: Settings, clean: dict[str, object]
) -> None:
    """Real processes, SIGKILL at a random moment, again and again, then a last run."""
    bucket = "eo-killed"
    intake = loaded(stack_settings.model_copy(update={"bucket": bucket}))
    rng = random.Random(int(os.environ.get("DVKN_FAULT_SEED", "1")))
    kills = 0
    for _ in range(KILL_RUNS):
        proc = _worker(stack_settings, bucket)
        time.sleep(rng.uniform(1.5, 6.0))  # imports take ~1.5 s; then it is mid-batch
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    final = _worker(stack_settings, bucket)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()[-2000:]
    print(
        f"fault report: {KILL_RUNS} runs, {kills} SIGKILLs, mismatches: {int(snapshot(intake) != clean)}"
    )
    assert snapshot(intake) == clean


def test_two_worker_processes_at_once_end_like_a_clean_run(
    stack_settings: Settings, clean: dict[str, object]
) -> None:
    bucket = "eo-two-procs"
    intake = loaded(stack_settings.model_copy(update={"bucket": bucket}))
    procs = [_worker(stack_settings, bucket, batch=7) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
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
    rewritten = intake.refresh(result.periods, result.changed)[Q1.code]
    district = HANOI.unit(unit.parent_code or "")
    assert set(rewritten["unit_code"]) == {unit.code, district.code, "01"}
    incremental = snapshot(intake)
    intake.refresh(result.periods)  # the whole period, from scratch
    assert snapshot(intake) == incremental
    money = (
        intake.tables.read_rollup(Q1.code)
        .filter((pl.col("unit_code") == unit.code) & (pl.col("indicator") == "TIEN_VAN_DONG"))[
            "value"
        ]
        .sum()
    )
    assert money == corrected.value("TIEN_VAN_DONG")
