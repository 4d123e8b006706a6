"""The Prefect deployments: registered by entrypoint, started, waited on.

Flows are named by entrypoint (``flows/<module>.py:<flow>``, see
``schemas/deployments.py``) and loaded by Prefect from the directory that
holds ``flows/``, the way a worker loads them, so the library never imports
the flow code: the arrows run from ``flows/`` to the services, not back.
That directory is the checkout, or ``site-packages`` when installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import Flow, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.exceptions import ObjectAlreadyExists
from prefect.schedules import Cron

from schemas.deployments import (
    DEADLINE_ENTRYPOINT,
    DEADLINES_DEPLOYMENT,
    INTAKE,
    INTAKE_DEPLOYMENT,
    INTAKE_ENTRYPOINT,
    NAIVE_DEPLOYMENT,
    NAIVE_ENTRYPOINT,
    RECONCILE_DEPLOYMENT,
)
from schemas.records import EVENT_UPLOADED, ReprocessRequest
from schemas.settings import Settings


def flows_root() -> Path:
    """The directory holding the ``flows`` package, found without importing it."""
    spec = importlib.util.find_spec("flows")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the flows package is not installed beside dvkn_pipeline")
    return Path(next(iter(spec.submodule_search_locations))).resolve().parent


def load_flow(entrypoint: str) -> Flow[..., Any]:
    """A flow by entrypoint, as a worker would load it (for a run in this process)."""
    return cast(Flow[..., Any], Flow.from_source(source=str(flows_root()), entrypoint=entrypoint))


def ensure_pool_and_limits(settings: Settings) -> None:
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=settings.work_pool, type="process"))


def register(settings: Settings) -> list[str]:
    """Create or update the intake, reconcile and deadline deployments; returns their ids."""
    ensure_pool_and_limits(settings)
    # to_deployment/apply are sync here (async_dispatch); the casts say so.
    source = load_flow(INTAKE_ENTRYPOINT)
    trigger = DeploymentEventTrigger(
        name="dvkn upload",
        expect={EVENT_UPLOADED},
        match={"prefect.resource.id": f"dvkn.upload.{settings.bucket}/*"},
        posture="Reactive",
        threshold=1,
        within=timedelta(seconds=settings.batch_window_seconds),
        parameters={
            # "200 uploads from incoming/…" for a batch: the run drains them all.
            "announced": "{{ event.resource['prefect.resource.name'] }}",
            "bucket": "{{ event.resource['dvkn.bucket'] }}",
        },
    )
    # to_deployment + apply rather than deploy(): nothing to build or push for a
    # process pool whose workers run the code from this directory.
    deployments = [
        source.to_deployment(
            name=INTAKE_DEPLOYMENT,
            work_pool_name=settings.work_pool,
            triggers=[trigger],
            concurrency_limit=ConcurrencyLimitConfig(
                limit=settings.intake_concurrency,
                collision_strategy=ConcurrencyLimitStrategy.ENQUEUE,
            ),
            description="Processes uploads in batches; started by dvkn.report.uploaded events.",
            tags=["dvkn", "intake"],
        ),
        source.to_deployment(
            name=RECONCILE_DEPLOYMENT,
            work_pool_name=settings.work_pool,
            interval=timedelta(seconds=settings.reconcile_interval_seconds),
            parameters={"drain_seconds": 0},
            concurrency_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
            ),
            description="Sweeps incoming/ for uploads whose event was lost.",
            tags=["dvkn", "reconcile"],
        ),
    ]
    checker = load_flow(DEADLINE_ENTRYPOINT)
    deployments.append(
        checker.to_deployment(
            name=DEADLINES_DEPLOYMENT,
            work_pool_name=settings.work_pool,
            # 08:00 in Hanoi: a reminder at the start of the working day.
            schedule=Cron("0 8 * * *", timezone="Asia/Ho_Chi_Minh"),
            description="Emits dvkn.units.missing for units still missing before a deadline.",
            tags=["dvkn", "deadlines"],
        )
    )
    return [str(cast(UUID, cast(RunnerDeployment, d).apply())) for d in deployments]


def run_reprocess(
    request: ReprocessRequest, bucket: str | None = None, timeout: float | None = 0
) -> Any:
    """Start the intake deployment on recorded uploads; the flow run (finished if ``timeout``).

    Through the deployment rather than in this process, so the run, its
    artifacts and its events show in the Prefect UI like any intake run, and
    it queues behind running intake runs under the deployment's limit.
    ``timeout=None`` waits until the run ends; 0 returns at once.
    """
    from prefect.deployments import run_deployment

    return run_deployment(
        INTAKE,
        parameters={"reprocess": request.model_dump(mode="json"), "bucket": bucket},
        timeout=timeout,
        tags=["dvkn", "reprocess" if request.override is None else "override"],
    )


def naive_trigger(settings: Settings) -> DeploymentEventTrigger:
    """One flow run per ``dvkn.report.uploaded`` event of the bucket (the naive baseline)."""
    return DeploymentEventTrigger(
        name="dvkn upload (naive)",
        expect={EVENT_UPLOADED},
        match={"prefect.resource.id": f"dvkn.upload.{settings.bucket}/*"},
        posture="Reactive",
        threshold=1,
        within=timedelta(seconds=0),
        parameters={
            "key": "{{ event.resource['dvkn.key'] }}",
            "etag": "{{ event.resource['dvkn.etag'] }}",
            "bucket": "{{ event.resource['dvkn.bucket'] }}",
        },
    )


def register_naive(settings: Settings, concurrency: int = 2) -> str:
    """The baseline the benchmark compares with: one flow run per uploaded file."""
    ensure_pool_and_limits(settings)
    source = load_flow(NAIVE_ENTRYPOINT)
    deployment = source.to_deployment(
        name=NAIVE_DEPLOYMENT,
        work_pool_name=settings.work_pool,
        triggers=[naive_trigger(settings)],
        concurrency_limit=ConcurrencyLimitConfig(
            limit=concurrency, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE
        ),
        description="Benchmark baseline only: one flow run per uploaded file.",
        tags=["dvkn", "benchmark"],
    )
    return str(cast(UUID, cast(RunnerDeployment, deployment).apply()))


def wait_until_idle(timeout: float = 120.0) -> bool:
    """Wait until no intake run is pending, queued or running (so its artifacts exist)."""
    import time

    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    busy = [StateType.PENDING, StateType.RUNNING, StateType.SCHEDULED]
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(INTAKE)
        runs_filter = FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=busy)),
        )
        while time.monotonic() < deadline:
            if not client.read_flow_runs(flow_run_filter=runs_filter):
                return True
            time.sleep(1.0)
    return False


def _pid_of(infrastructure_pid: str | None) -> int | None:
    """The process id in a run's ``infrastructure_pid`` (``host:pid`` or a bare pid)."""
    tail = (infrastructure_pid or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def crash_runs_of(pids: set[int], message: str, work_pool: str) -> list[str]:
    """Mark Crashed the unfinished runs whose process was one of ``pids`` (now gone).

    A run whose process is stopped holds its deployment concurrency slot until
    the slot's lease runs out (5 minutes), so the next intake run, a steward's
    reprocess or the first run after ``dvkn down`` and ``up``, would wait that
    long in AwaitingConcurrencySlot. Ending the run at once frees the slot
    (the server releases it on the way out of Running) and tells the UI why.
    Only runs of ``work_pool``: a pid is unique on this machine, not across the
    machines a shared server's workers run on. Returns the ids of the runs ended.
    """
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.filters import FlowRunFilterStateType as StateTypes
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    unfinished = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]
    ended: list[str] = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=StateTypes(any_=unfinished))
            ),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[work_pool])),
        )
        for run in runs:
            if _pid_of(run.infrastructure_pid) in pids:
                client.set_flow_run_state(run.id, Crashed(message=message), force=True)
                ended.append(str(run.id))
    return ended
