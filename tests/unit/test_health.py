"""The judgements behind ``dvkn health``: each names what is wrong, and only when it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dvkn_pipeline.services.health import (
    Check,
    Thresholds,
    Verdict,
    WorkerSeen,
    judge_backlog,
    judge_rollups,
    judge_store,
    judge_sweep,
    judge_workers,
    overall,
)
from schemas.records import UploadRef

NOW = datetime(2025, 4, 10, 9, 0, tzinfo=UTC)
LIMITS = Thresholds(worker_silence=timedelta(seconds=90), backlog_age=timedelta(minutes=10))


def ref(key: str, minutes_ago: float | None) -> UploadRef:
    modified = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return UploadRef(bucket="b", key=key, etag="e", last_modified=modified)


def test_one_worker_with_a_recent_heartbeat_is_enough() -> None:
    workers = [
        WorkerSeen("old", NOW - timedelta(minutes=30)),
        WorkerSeen("w", NOW - timedelta(seconds=89)),
    ]
    check = judge_workers("dvkn", workers, NOW, LIMITS)
    assert check.verdict is Verdict.OK and "1 polling" in check.detail


def test_silent_or_absent_workers_fail() -> None:
    silent = judge_workers("dvkn", [WorkerSeen("w", NOW - timedelta(seconds=91))], NOW, LIMITS)
    never = judge_workers("dvkn", [WorkerSeen("w", None)], NOW, LIMITS)
    none = judge_workers("dvkn", [], NOW, LIMITS)
    assert {silent.verdict, never.verdict, none.verdict} == {Verdict.FAIL}
    assert "1 known, all silent" in silent.detail and "known" not in none.detail


def test_the_sweep_fails_without_a_schedule_or_without_scheduled_runs() -> None:
    assert judge_sweep("d", has_schedule=False, upcoming=3, ran=0).verdict is Verdict.FAIL
    stalled = judge_sweep("d", has_schedule=True, upcoming=0, ran=5)
    assert stalled.verdict is Verdict.FAIL and "scheduler" in stalled.detail
    assert judge_sweep("d", has_schedule=True, upcoming=1, ran=0).verdict is Verdict.OK


def test_only_uploads_older_than_the_limit_count_as_stuck() -> None:
    young = [ref("incoming/a", 1), ref("incoming/b", 9.9), ref("incoming/c", None)]
    assert judge_backlog(young, NOW, LIMITS).verdict is Verdict.OK
    stuck = judge_backlog([*young, ref("incoming/d", 45), ref("incoming/e", 11)], NOW, LIMITS)
    assert stuck.verdict is Verdict.FAIL
    assert "2 of 5" in stuck.detail and "incoming/d (45 min)" in stuck.detail


def test_stale_rollups_warn_and_name_the_periods() -> None:
    assert judge_rollups({}).verdict is Verdict.OK
    check = judge_rollups({"2025-Q1": {"00004", "00007"}})
    assert check.verdict is Verdict.WARN and "2025-Q1 (2 units)" in check.detail


def test_an_unversioned_bucket_fails() -> None:
    assert judge_store("dvkn", versioned=True).verdict is Verdict.OK
    assert judge_store("dvkn", versioned=False).verdict is Verdict.FAIL


def test_the_overall_verdict_is_the_worst_one() -> None:
    def c(v: Verdict) -> Check:
        return Check(name="x", verdict=v, detail="")

    assert overall([c(Verdict.OK), c(Verdict.OK)]) is Verdict.OK
    assert overall([c(Verdict.OK), c(Verdict.WARN)]) is Verdict.WARN
    assert overall([c(Verdict.WARN), c(Verdict.FAIL), c(Verdict.OK)]) is Verdict.FAIL
