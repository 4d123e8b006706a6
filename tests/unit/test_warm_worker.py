"""The warm worker is chosen by a setting and leaves Prefect's process worker as it is."""

from __future__ import annotations

from pathlib import Path

from prefect.workers.base import BaseWorker
from prefect.workers.process import ProcessWorker

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.warm_worker import WARM_WORKER_TYPE, WarmWorker
from schemas.settings import Settings


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
