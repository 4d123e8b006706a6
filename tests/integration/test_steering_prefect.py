"""Steering through the real Prefect server: automations that notify, reprocess as a flow run."""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from dvkn_pipeline.ops import local_stack, processes
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.drain import announce_outcomes
from dvkn_pipeline.services.wiring import build_intake
from flows.process_uploads import PrefectEvents
from schemas.automations import load_automations
from schemas.records import FileOutcome, ReprocessRequest, Status
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
COMMUNE = load_hierarchies().for_date(Q1.reference_date).units_at("commune")[0]


def test_applying_automations_twice_creates_each_once_and_a_rejection_notifies(
    stack_settings: Settings, listener: queue.Queue[dict[str, Any]]
) -> None:
    from prefect import get_client

    from dvkn_pipeline.services.automations import apply

    first = apply(stack_settings)
    second = apply(stack_settings)
    names = [s.name for s in load_automations().automations]
    assert [a.name for a in first] == names == [a.name for a in second]
    assert {a.action for a in second} == {"updated"}
    assert [a.id for a in first] == [a.id for a in second]
    with get_client(sync_client=True) as client:
        for name in names:
            assert len(client.read_automations_by_name(name)) == 1
    # Automations start listening a moment after they are created.
    time.sleep(3)

    key = f"incoming/{COMMUNE.code}/2025-Q1/{uuid.uuid4().hex[:8]}.csv"
    # The shape the intake announces: one event per batch naming its rejected files.
    rejected = FileOutcome(
        key=key,
        status=Status.REJECTED,
        unit_code=COMMUNE.code,
        period="2025-Q1",
        n_errors=2,
        first_problem="resolved > received",
        receipt_key="r.json",
    )
    announce_outcomes(PrefectEvents(), [rejected], stack_settings.bucket)
    deadline = time.monotonic() + 120
    while True:
        message = listener.get(timeout=max(1.0, deadline - time.monotonic()))
        if key in message.get("subject", ""):
            break
    assert "report(s) rejected" in message["subject"]
    assert COMMUNE.code in message["body"] and "resolved > received" in message["body"]


@pytest.fixture(scope="module")
def worker(stack_settings: Settings) -> Iterator[Settings]:
    settings = stack_settings.model_copy(update={"bucket": f"steer-{uuid.uuid4().hex[:8]}"})
    local_stack.ensure_bucket(settings)
    from dvkn_pipeline.services.orchestration import register

    register(settings)
    processes.start_service(local_stack.worker_spec(settings, 0), settings)
    yield settings
    local_stack.stop(settings, "worker-0")


def test_reprocess_runs_as_a_flow_run_of_the_intake_deployment(worker: Settings) -> None:
    from prefect import get_client

    from dvkn_pipeline.services.orchestration import run_reprocess

    intake = build_intake(worker)
    key = incoming_key(COMMUNE.code, Q1.code, "bao-cao.csv")
    intake.bucket.put_bytes(key, generate_report(COMMUNE, Q1, CAT, seed=5).to_csv(CAT))
    result = intake.process(intake.pending())
    intake.refresh(result.periods)

    request = ReprocessRequest(upload_keys=[key], reason="catalogue fix")
    run = run_reprocess(request, bucket=worker.bucket, timeout=300)
    assert run.state is not None and run.state.name == "Completed", run.state
    row = intake.tables.read_ledger().filter(pl.col("key") == key).row(0, named=True)
    assert (row["status"], row["attempt"], row["flow_run_id"]) == ("accepted", 1, str(run.id))
    assert row["reprocess_reason"] == "catalogue fix"
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts() if a.flow_run_id == run.id}
    assert {"reprocess-files", "reprocess-summary"} <= keys


def test_dvkn_reject_records_who_and_why_through_the_deployment(
    worker: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from dvkn_pipeline.cli.app import app

    intake = build_intake(worker)
    key = incoming_key(COMMUNE.code, Q1.code, "bao-cao-2.csv")
    intake.bucket.put_bytes(key, generate_report(COMMUNE, Q1, CAT, seed=6, version=2).to_csv(CAT))
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    monkeypatch.setenv("DVKN_BUCKET", worker.bucket)

    refused = CliRunner().invoke(
        app,
        [
            "accept-with-warnings",
            "--key",
            "incoming/none/2025-Q1/x.csv",
            "--by",
            "a",
            "--reason",
            "b",
        ],
    )
    assert refused.exit_code == 1  # nothing recorded under that key

    out = CliRunner().invoke(
        app,
        ["reject", "--key", key, "--by", "Trần Văn Minh", "--reason", "số liệu sai", "--json"],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["state"] == "Completed (1 rejected)"  # the run says it rejected the file
    [row] = payload["uploads"]
    assert (row["status"], row["override"], row["override_by"]) == (
        "rejected",
        "reject",
        "Trần Văn Minh",
    )
    comp = intake.tables.read_completeness(Q1.code)
    mine = comp.filter(pl.col("unit_code") == COMMUNE.code).row(0, named=True)
    # The earlier accepted version (from the reprocess test, or none) is what counts now.
    live = intake.tables.read_ledger(Q1.code).filter(
        (pl.col("unit_code") == COMMUNE.code) & (pl.col("status") == "accepted")
    )
    assert mine["accepted"] == min(1, live.height) and key not in live["key"].to_list()


def test_a_stopped_worker_s_run_ends_at_once_and_frees_the_intake_slot(worker: Settings) -> None:
    """A run cut off by a stopped worker must not keep the deployment's slot for 5 minutes.

    CI once saw a reprocess wait 300 s in AwaitingConcurrencySlot behind such a run.
    """
    from prefect import get_client
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    from schemas.deployments import INTAKE

    def run_intake(drain_seconds: int, timeout: int) -> FlowRun:
        run = run_deployment(
            INTAKE,
            parameters={"drain_seconds": drain_seconds, "bucket": worker.bucket},
            timeout=timeout,
        )
        assert isinstance(run, FlowRun)  # called from sync code: the run, not a coroutine
        return run

    # Nothing to do, so the run idles in its drain loop, holding the slot.
    idle = run_intake(drain_seconds=600, timeout=0)
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while (state := client.read_flow_run(idle.id).state) is None or not state.is_running():
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
    local_stack.stop(worker, "worker-0")  # as `dvkn down` does
    processes.start_service(local_stack.worker_spec(worker, 0), worker)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(idle.id).state
    assert state is not None and state.name == "Crashed", state
    assert "worker-0 stopped" in (state.message or "")
    # The restarted worker takes the next run without waiting out the dead run's lease.
    run = run_intake(drain_seconds=0, timeout=120)
    assert run.state is not None and run.state.is_completed(), run.state
