"""Is the pipeline actually working? The checks behind ``dvkn health``.

Why: every way this pipeline has failed so far was silent. SQLAlchemy 2.1 broke
the Prefect server's scheduler and only its own log said so (the reconcile
sweep simply never ran); a worker that gave up after a server outage left
uploads waiting with nothing in the UI. Each check here looks at the outcome a
steward cares about (a worker is polling, the sweep has runs, no upload waits
for long, roll-ups are not behind the ledger) rather than at a process list.

The judgements are pure functions over plain records; :func:`gather` does the
I/O with the clients it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from schemas.records import UploadRef


class Verdict(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


class Check(BaseModel):
    name: str
    verdict: Verdict
    detail: str


@dataclass(frozen=True)
class Thresholds:
    #: A worker silent for longer is not polling (Prefect's heartbeat is 30 s).
    worker_silence: timedelta = timedelta(seconds=90)
    #: An upload not in the ledger for longer than this is stuck.
    backlog_age: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class WorkerSeen:
    name: str
    last_heartbeat: datetime | None


def judge_workers(
    pool: str, workers: Sequence[WorkerSeen], now: datetime, limits: Thresholds
) -> Check:
    live = [
        w.name
        for w in workers
        if w.last_heartbeat is not None and now - w.last_heartbeat <= limits.worker_silence
    ]
    if live:
        return Check(
            name="workers", verdict=Verdict.OK, detail=f"{len(live)} polling pool {pool!r}"
        )
    known = f" ({len(workers)} known, all silent)" if workers else ""
    return Check(
        name="workers",
        verdict=Verdict.FAIL,
        detail=f"no worker has polled pool {pool!r} in "
        f"{limits.worker_silence.total_seconds():.0f}s{known}: uploads are not processed",
    )


def judge_sweep(deployment: str, has_schedule: bool, upcoming: int, ran: int) -> Check:
    """The lost-event sweep exists only if the server's scheduler keeps creating its runs."""
    if not has_schedule:
        return Check(name="sweep", verdict=Verdict.FAIL, detail=f"{deployment} has no schedule")
    if upcoming == 0:
        return Check(
            name="sweep",
            verdict=Verdict.FAIL,
            detail=f"{deployment} has no scheduled run: the server's scheduler is not working "
            "(see the Prefect server log)",
        )
    return Check(
        name="sweep",
        verdict=Verdict.OK,
        detail=f"{deployment}: {upcoming} scheduled, {ran} finished recently",
    )


def judge_backlog(pending: Iterable[UploadRef], now: datetime, limits: Thresholds) -> Check:
    """Uploads not yet in the ledger: normal for a moment, a fault when they wait for long."""
    refs = list(pending)
    old = [r for r in refs if r.last_modified and now - r.last_modified > limits.backlog_age]
    if old:
        oldest = min(old, key=lambda r: r.last_modified or now)
        age = now - (oldest.last_modified or now)
        return Check(
            name="backlog",
            verdict=Verdict.FAIL,
            detail=f"{len(old)} of {len(refs)} pending uploads older than "
            f"{limits.backlog_age.total_seconds() / 60:g} min; oldest {oldest.key} "
            f"({age.total_seconds() / 60:.0f} min)",
        )
    return Check(name="backlog", verdict=Verdict.OK, detail=f"{len(refs)} pending, none stuck")


def judge_rollups(stale: dict[str, set[str]]) -> Check:
    if not stale:
        return Check(name="rollups", verdict=Verdict.OK, detail="every roll-up matches the ledger")
    periods = ", ".join(f"{p} ({len(u)} units)" for p, u in sorted(stale.items()))
    return Check(
        name="rollups",
        verdict=Verdict.WARN,
        detail=f"behind the ledger: {periods}; the next intake run or `dvkn infra rerun` "
        "catches up",
    )


def overall(checks: Sequence[Check]) -> Verdict:
    verdicts = {c.verdict for c in checks}
    for v in (Verdict.FAIL, Verdict.WARN):
        if v in verdicts:
            return v
    return Verdict.OK


def judge_store(bucket: str, versioned: bool) -> Check:
    if versioned:
        return Check(name="store", verdict=Verdict.OK, detail=f"bucket {bucket!r}, versioned")
    return Check(
        name="store",
        verdict=Verdict.FAIL,
        detail=f"bucket {bucket!r} is not versioned: a re-upload would destroy the earlier bytes",
    )


def _attempt(name: str, action: Callable[[], Check]) -> Check:
    """Run one probe; an exception is itself the finding (the service is not reachable)."""
    try:
        return action()
    except Exception as exc:
        return Check(name=name, verdict=Verdict.FAIL, detail=f"{type(exc).__name__}: {exc}")


def gather(intake: Any, prefect: Any, pool: str, now: datetime, limits: Thresholds) -> list[Check]:
    """Run every check. ``intake`` is an :class:`~dvkn_pipeline.services.intake.Intake`, ``prefect`` a
    synchronous Prefect client; each probe that cannot reach its service fails alone."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    from schemas.deployments import RECONCILE

    def workers() -> Check:
        seen = [
            WorkerSeen(w.name, w.last_heartbeat_time)
            for w in prefect.read_workers_for_work_pool(pool)
        ]
        return judge_workers(pool, seen, now, limits)

    def sweep() -> Check:
        deployment = prefect.read_deployment_by_name(RECONCILE)
        by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))

        def count(*states: StateType) -> int:
            state = FlowRunFilterState(type=FlowRunFilterStateType(any_=list(states)))
            runs = prefect.read_flow_runs(
                deployment_filter=by_deployment,
                flow_run_filter=FlowRunFilter(state=state),
                limit=50,
            )
            return len(runs)

        return judge_sweep(
            RECONCILE,
            bool(deployment.schedules),
            count(StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING),
            count(StateType.COMPLETED),
        )

    bucket = intake.bucket
    return [
        _attempt("store", lambda: judge_store(bucket.name, bucket.versioning_enabled())),
        _attempt("workers", workers),
        _attempt("sweep", sweep),
        _attempt("backlog", lambda: judge_backlog(intake.pending(), now, limits)),
        _attempt("rollups", lambda: judge_rollups(intake.stale_periods())),
    ]
