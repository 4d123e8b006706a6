"""A warm intake: a Prefect worker that runs each flow run inside its own long-lived process.

Why: Prefect's process worker (and ``flow.serve``, which spawns too) starts a
new Python for every flow run; importing polars, deltalake, pandera, boto3 and
Prefect costs 5-8 CPU-seconds and some 340 MiB before the run reads its first
file, once per run and per worker. During a deadline burst that start is paid
while uploads wait, and each run process holds its own copy of everything.

This worker polls the same process work pool as ``prefect worker start --type
process`` and goes through the same steps with the Prefect server (Pending,
the deployment's concurrency slot, Running, the final state, logs and
artifacts), so stewards see the same runs, names, states and artifacts in the
UI. The one difference is where the run executes: in a thread of this process,
with the flow loaded once per deployment by its entrypoint (the library still
never imports ``flows``). A run that ends in a final state it set itself counts
as exited cleanly; one that escaped the engine is reported Crashed, as the
process worker does for a non-zero exit.

One drain per process: a process already running an intake run (``process-uploads``,
on-upload or reconcile) leaves the next one scheduled for another worker. Runs
in one process share one interpreter lock, so a second drain beside the first
only split one core between them; in another worker's process it has a core of
its own (measured: a 10,051-file burst in 96 s with one drain, 75 s with two).
Other flows (deadlines, completeness) run beside a drain as before.

What a warm worker cannot do is kill a run: cancelling a run in the UI marks it
Cancelled and the run stops at its next task boundary (Prefect's engine checks
its state), but a thread cannot be killed without taking down the other runs.

Run as ``python -m dvkn_pipeline.ops.warm_worker --pool POOL [--name NAME] [--limit N]``
(``dvkn up`` and the tests do, under ``ops.supervise``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import socket
from typing import Any
from uuid import UUID

import anyio
import anyio.abc
from prefect import Flow
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import WorkerFlowRunResponse
from prefect.flow_engine import run_flow
from prefect.flows import load_flow_from_flow_run
from prefect.workers.process import (
    ProcessJobConfiguration,
    ProcessWorker,
    ProcessWorkerResult,
)

from dvkn_pipeline.ops.heap import trim_periodically
from schemas.deployments import INTAKE_FLOW

log = logging.getLogger("dvkn.warm_worker")

#: Registered under its own name so ``prefect worker start --type process`` keeps Prefect's.
WARM_WORKER_TYPE = "dvkn-warm"


class WarmWorker(ProcessWorker):
    """Serves a ``process`` work pool, running each flow run in a thread of this process."""

    _description = "Runs flow runs in threads of one long-lived process (no start per run)."
    _display_name = "DVKN warm process"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Flows by deployment id: loaded (imported) once, run many times.
        self._flows: dict[Any, Flow[..., Any]] = {}
        self._loading = asyncio.Lock()
        #: Deployment id -> whether its runs drain uploads (read once per deployment).
        self._drains: dict[UUID, bool] = {}
        #: Drain runs this process has taken and not finished.
        self._draining: set[UUID] = set()

    @classmethod
    def __dispatch_key__(cls) -> str | None:
        return WARM_WORKER_TYPE

    async def _flow_for(self, flow_run: FlowRun) -> Flow[..., Any]:
        async with self._loading:
            found = self._flows.get(flow_run.deployment_id)
            if found is None:
                # ignore_storage: the code is this checkout (the worker's cwd), as for the
                # process worker; the deployment's pull steps would chdir a threaded process.
                found = await load_flow_from_flow_run(flow_run, ignore_storage=True)
                self._flows[flow_run.deployment_id] = found
            return found

    async def _is_drain(self, flow_run: FlowRun) -> bool:
        deployment_id = flow_run.deployment_id
        if deployment_id is None:
            return False
        if deployment_id not in self._drains:
            deployment = await self.client.read_deployment(deployment_id)
            flow = await self.client.read_flow(deployment.flow_id)
            self._drains[deployment_id] = flow.name == INTAKE_FLOW
        return self._drains[deployment_id]

    async def _submit_scheduled_flow_runs(
        self, flow_run_response: list[WorkerFlowRunResponse]
    ) -> list[FlowRun]:
        """Take at most one drain run at a time; leave others scheduled for other workers."""
        taken: list[WorkerFlowRunResponse] = []
        claimed: UUID | None = None
        for entry in flow_run_response:
            run = entry.flow_run
            if run.id not in self._draining and await self._is_drain(run):
                if self._draining:
                    continue
                claimed = run.id
                self._draining.add(run.id)
            taken.append(entry)
        submitted = await super()._submit_scheduled_flow_runs(taken)
        if claimed is not None and claimed not in {r.id for r in submitted}:
            # The base class did not take it (its own limit): not this process's drain.
            self._draining.discard(claimed)
        return submitted

    def _release_limit_slot(self, flow_run_id: UUID) -> None:
        """Every way out of a submitted run passes here: ended, failed, or not started."""
        self._draining.discard(flow_run_id)
        super()._release_limit_slot(flow_run_id)

    async def run(
        self,
        flow_run: FlowRun,
        configuration: ProcessJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> ProcessWorkerResult:
        flow = await self._flow_for(flow_run)
        if task_status is not None:
            task_status.started(os.getpid())
        status = await anyio.to_thread.run_sync(_run_in_thread, flow, flow_run)
        return ProcessWorkerResult(status_code=status, identifier=str(os.getpid()))

    async def kill_infrastructure(
        self,
        infrastructure_pid: str,
        configuration: ProcessJobConfiguration,
        grace_seconds: int = 30,
    ) -> None:
        """Never kill this process (it runs other flow runs too): the cancelled run's own
        engine sees its Cancelled state and stops."""
        log.warning(
            "a cancelled flow run in warm worker process %s stops at its next task",
            infrastructure_pid,
        )


def _run_in_thread(flow: Flow[..., Any], flow_run: FlowRun) -> int:
    """Run one flow run to its end; 0 once the engine has set its final state, 1 otherwise."""
    try:
        run_flow(flow, flow_run=flow_run, return_type="state")
    except Exception:
        # The engine records a failure as the run's Failed state before raising; anything
        # that escaped it is logged here and the worker reports the run Crashed.
        log.exception("flow run %s ended outside the engine", flow_run.id)
        return 1
    return 0


async def serve(pool: str, name: str, limit: int | None) -> None:
    async with WarmWorker(work_pool_name=pool, name=name, limit=limit) as worker:
        await worker.start()


def _warm_up() -> None:
    """Import what every intake run needs before the first run, not during it."""
    for module in ("dvkn_pipeline.services.wiring", "dvkn_pipeline.services.drain"):
        importlib.import_module(module)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", required=True, help="the process work pool to serve")
    parser.add_argument(
        "--name",
        default=f"dvkn-warm-{socket.gethostname()}-{os.getpid()}",
        help="the worker's name in the Prefect UI (default: host and process id)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="flow runs at once in this process (no limit)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _warm_up()
    trim_periodically()
    asyncio.run(serve(args.pool, args.name, args.limit))


if __name__ == "__main__":
    main()
