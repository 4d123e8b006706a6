"""The warm worker is chosen by a setting and leaves Prefect's process worker as it is."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import cast

import pytest
from prefect.client.schemas.responses import WorkerFlowRunResponse
from prefect.workers.base import BaseWorker
from prefect.workers.process import ProcessWorker

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.warm_worker import WARM_WORKER_TYPE, WarmWorker
from schemas.settings import Settings
from tests.loaded_modules import loaded_by


def test_the_local_stack_starts_warm_workers_unless_told_otherwise(tmp_path: Path) -> None:
    warm = Settings(state_dir=tmp_path, work_pool="p")
    argv = local_stack.worker_argv(warm, "w-0")
    assert argv[1:] == ["-m", "dvkn_pipeline.ops.warm_worker", "--pool", "p", "--name", "w-0"]
    cold = warm.model_copy(update={"worker_kind": "process"})
    argv = local_stack.worker_argv(cold, "w-0")
    assert argv[1:6] == ["-m", "prefect", "worker", "start", "--type"]
    assert argv[-4:] == ["--pool", "p", "--name", "w-0"]


def test_the_warm_worker_serves_process_pools_without_replacing_prefects_worker() -> None:
    assert WarmWorker.type == "process"  # the pools and job templates stay Prefect's own
    assert BaseWorker.get_worker_class_from_type("process") is ProcessWorker
    assert BaseWorker.get_worker_class_from_type(WARM_WORKER_TYPE) is WarmWorker


class _Run:
    def __init__(self, name: str) -> None:
        self.id = uuid.uuid5(uuid.NAMESPACE_DNS, name)
        self.deployment_id = uuid.uuid5(uuid.NAMESPACE_DNS, "deployment-" + name)


class _Entry:
    def __init__(self, run: _Run) -> None:
        self.flow_run = run


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> tuple[WarmWorker, list[list[str]]]:
    """A warm worker whose base class only records what it was handed to start."""
    handed: list[list[str]] = []

    async def base_submit(self: ProcessWorker, entries: list[_Entry]) -> list[_Run]:
        handed.append([str(e.flow_run.id) for e in entries])
        return [e.flow_run for e in entries]

    monkeypatch.setattr(ProcessWorker, "_submit_scheduled_flow_runs", base_submit)
    worker = WarmWorker(work_pool_name="p")

    async def is_drain(run: _Run) -> bool:
        return str(run.id) != str(DEADLINES.id)

    monkeypatch.setattr(worker, "_is_drain", is_drain)
    return worker, handed


DRAIN_A, DRAIN_B, DEADLINES = _Run("a"), _Run("b"), _Run("deadlines")


def _poll(worker: WarmWorker, *runs: _Run) -> None:
    entries = cast(list[WorkerFlowRunResponse], [_Entry(r) for r in runs])  # the fields it reads
    asyncio.run(worker._submit_scheduled_flow_runs(entries))


def test_a_worker_takes_one_drain_at_a_time_and_leaves_the_next_to_another_process(
    gate: tuple[WarmWorker, list[list[str]]],
) -> None:
    worker, handed = gate
    _poll(worker, DRAIN_A, DRAIN_B, DEADLINES)
    assert handed[-1] == [str(DRAIN_A.id), str(DEADLINES.id)]  # other flows run beside a drain
    _poll(worker, DRAIN_B)
    assert handed[-1] == []  # still draining A: B stays scheduled for another worker
    worker._release_limit_slot(DRAIN_A.id)  # A ended (or never started)
    _poll(worker, DRAIN_B)
    assert handed[-1] == [str(DRAIN_B.id)]


def test_a_drain_the_base_worker_did_not_start_does_not_block_the_next(
    gate: tuple[WarmWorker, list[list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, handed = gate

    async def at_its_limit(self: ProcessWorker, entries: list[_Entry]) -> list[_Run]:
        return []

    monkeypatch.setattr(ProcessWorker, "_submit_scheduled_flow_runs", at_its_limit)
    _poll(worker, DRAIN_A)
    monkeypatch.undo()
    monkeypatch.setattr(worker, "_is_drain", lambda run: _true())
    calls: list[list[str]] = []

    async def base_submit(self: ProcessWorker, entries: list[_Entry]) -> list[_Run]:
        calls.append([str(e.flow_run.id) for e in entries])
        return [e.flow_run for e in entries]

    monkeypatch.setattr(ProcessWorker, "_submit_scheduled_flow_runs", base_submit)
    _poll(worker, DRAIN_B)
    assert calls == [[str(DRAIN_B.id)]]
    assert handed == []


async def _true() -> bool:
    return True


def test_the_intake_flow_loads_no_service_a_worker_never_runs() -> None:
    """Each warm worker imports the intake flow; the console's services stay out of it.

    At module level in ``wiring`` they cost each worker some 14 MiB resident
    (xlsxwriter, the presigner, the steward's views) for nothing.
    """
    unused = [
        "dvkn_pipeline.services.steward",
        "dvkn_pipeline.services.portal",
        "dvkn_pipeline.services.approval",
        "dvkn_pipeline.storage.accounts",
        "dvkn_pipeline.storage.presign",
        "xlsxwriter",
    ]
    assert loaded_by("flows.process_uploads", unused) == []
