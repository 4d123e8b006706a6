"""The intake flow: process every pending upload in batches, then refresh roll-ups.

Triggered by ``dvkn.report.uploaded`` events. The trigger fires at most once
per batch window (a reactive trigger with ``within``); each run drains the
pending uploads of the shards it can lease and stays until nothing has been
pending for ``drain_idle_seconds``, so the events it swallowed are all picked
up and a late upload soon after a burst needs no new run. A burst of thousands
of uploads becomes a few runs, while every file still gets its own receipt,
ledger row and artifact line. The flow only wires Prefect into services: the work is in
``dvkn_pipeline.services.intake`` and ``.refresh``, the loop's policy in
``dvkn_pipeline.services.drain``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from prefect import State, flow, get_client, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed
from prefect.utilities.annotations import quote

from dvkn_pipeline.services.artifacts import (
    CountingBacklog,
    RunArtifacts,
    publish_completeness_artifact,
)
from dvkn_pipeline.services.drain import (
    DrainPolicy,
    announce_outcomes,
    drain,
    refresh_and_announce,
)
from dvkn_pipeline.services.intake import BatchResult, Intake
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.announced import DrainPresence
from dvkn_pipeline.storage.leases import Lease
from dvkn_pipeline.views.summaries import (
    RunSummary,
    completeness_summary,
    outcomes_markdown,
    run_summary,
)
from schemas.deployments import INTAKE_FLOW, NAIVE_FLOW
from schemas.records import ReprocessRequest, Status, UploadRef
from schemas.settings import Settings


class PrefectEvents:
    """The event sink of a flow run: Prefect's event bus, where automations listen."""

    def emit(self, event: str, resource: Mapping[str, str], payload: Mapping[str, Any]) -> None:
        emit_event(event=event, resource=dict(resource), payload=dict(payload))


def _run_ended(owner: str) -> bool:
    """Whether the flow run named ``owner`` has ended for good (completed, failed, crashed).

    A run that failed because the object store went away could not release its
    shard leases either; once Prefect says it is over, a later run takes them
    over instead of leaving its uploads pending for ``lease_seconds``. Owners
    that are not flow runs, and any doubt, keep the lease until it expires.
    """
    try:
        run_id = uuid.UUID(owner)
    except ValueError:
        return False
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
    except Exception:  # not a flow run, or the API unreachable: let the lease expire
        get_run_logger().info("lease holder %s not known as a finished run", owner)
        return False
    return state is not None and state.is_final()


def _release(intake: Intake, held: list[Lease]) -> None:
    """Hand leases back; with the store away the release fails, and must not hide why the batch
    failed (a later run takes the lease over once this run has ended, see ``_run_ended``)."""
    try:
        intake.release(held)
    except Exception:
        get_run_logger().warning("could not release %d lease(s)", len(held), exc_info=True)


@task(name="process-batch", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def process_batch(intake: Intake, refs: list[UploadRef], owner: str) -> BatchResult:
    return intake.process(refs, flow_run_id=owner)


@task(name="rejudge-uploads", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def rejudge_uploads(intake: Intake, request: ReprocessRequest, owner: str) -> BatchResult:
    # Hold every shard: no other run judges these uploads while their next attempt is chosen.
    held = []
    try:
        for shard in range(intake.settings.shards):
            lease = None
            deadline = time.monotonic() + intake.settings.lease_seconds
            while lease is None:
                lease = intake.lease(shard, owner, gone=_run_ended)
                if lease is None:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"shard {shard} stayed leased by another run")
                    time.sleep(1.0)
            held.append(lease)
        return intake.rejudge(request, flow_run_id=owner)
    finally:
        _release(intake, held)


@task(name="refresh-rollups", retries=2, retry_delay_seconds=[2, 10], cache_policy=NO_CACHE)
def refresh_rollups(intake: Intake, changed: dict[str, set[str]]) -> dict[str, Any]:
    # One refresher per period at a time, reading the ledger inside its lease
    # (Refresher.refresh_lock, on the object store): the last refresh sees every
    # commit before it, so no stale roll-up wins. Not a Prefect global
    # concurrency slot: a slot whose release was lost stalled refreshes for its
    # whole lease (seen in the tests), and it made refreshes wait on the server.
    comp = intake.refresh(set(changed))
    return {
        p: completeness_summary(c, intake.hierarchies, intake.settings.root_unit)
        for p, c in comp.items()
    }


# -- what the run says in the Prefect UI: its name and its final state --------------------


def _rename(name: str) -> None:
    """Give this flow run a name that says what it did (set as batches finish; never fails)."""
    run_id = flow_run.get_id()
    if not run_id:
        return
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(uuid.UUID(str(run_id)), name=name)
    except Exception:
        get_run_logger().warning("flow run not renamed to %r", name, exc_info=True)


def _final_state(run: RunSummary, result: dict[str, Any]) -> State[dict[str, Any]]:
    """A named Completed state: "Completed (28 rejected)" looks different from a clean run."""
    return Completed(name=run.state_name, message=run.message, data=result)


def _reprocess(intake: Intake, request: ReprocessRequest, owner: str) -> State[dict[str, Any]]:
    """Judge recorded uploads again (a steward's reprocess or override), then refresh."""
    log = get_run_logger()
    log.info("judging again: %s", request.model_dump(mode="json", exclude_none=True))
    events = PrefectEvents()
    result = rejudge_uploads(intake, request, owner)
    announce_outcomes(events, result.outcomes, intake.settings.bucket)
    RunArtifacts(intake.settings.incoming_prefix, files_key="reprocess-files").batch_done(result)
    summaries = (
        refresh_and_announce(lambda c: refresh_rollups(intake, c), events, result.changed)
        if result.changed
        else {}
    )
    counts = {s.value: result.count(s) for s in Status}
    why = (request.reason or (request.override.reason if request.override else "")).replace(
        "\n", " "
    )
    create_markdown_artifact(
        key="reprocess-summary",
        markdown=f"**Judged again** ({why})\n\n" + outcomes_markdown(result.outcomes, summaries),
        description="Uploads judged again by a steward's reprocess or override",
    )
    if result.skipped:
        log.warning("bytes no longer stored for: %s", result.skipped)
    run = run_summary(result.outcomes)
    _rename(run.name)
    return _final_state(
        run,
        {
            "counts": counts,
            "periods": sorted(result.changed),
            "completeness": summaries,
            "skipped": result.skipped,
        },
    )


@flow(name=INTAKE_FLOW)
def process_uploads(
    announced: str | None = None,
    drain_seconds: float | None = None,
    bucket: str | None = None,
    reprocess: ReprocessRequest | None = None,
) -> State[dict[str, Any]]:
    """Drain pending uploads; ``announced`` is what the event that started this run named.

    One key, or "200 uploads from <first key>" for a batch announcement: the
    Parameters tab must not suggest that a run which drains hundreds of files
    was about one of them.

    The run ends in a named Completed state ("Completed (28 rejected)" when
    files were rejected) and is renamed as batches finish ("2025-Q1 · 352 nhận ·
    28 từ chối"); its return value is the state's data.

    ``bucket`` (from the event) overrides the configured bucket, so one worker
    pool can serve deployments watching different buckets. ``reprocess``
    (from ``dvkn reprocess``, ``dvkn reject``, ``dvkn accept-with-warnings``)
    judges recorded uploads again instead of draining new ones.
    """
    log = get_run_logger()
    settings = Settings()
    if bucket:
        settings = settings.model_copy(update={"bucket": bucket})
    intake = build_intake(settings)
    owner = str(flow_run.get_id() or uuid.uuid4())
    if reprocess is not None:
        return _reprocess(intake, reprocess, owner)
    idle = settings.drain_idle_seconds if drain_seconds is None else drain_seconds
    log.info("started by %s; draining pending uploads", announced or "schedule/manual run")
    backlog = CountingBacklog(intake)
    artifacts = RunArtifacts(settings.incoming_prefix, backlog=backlog, rename=_rename)
    artifacts.start()
    drained = drain(
        backlog,
        owner,
        DrainPolicy(
            idle_seconds=idle,
            batch_max_files=settings.batch_max_files,
            refresh_every_seconds=settings.refresh_every_seconds,
            refresh_max_share=settings.refresh_max_share,
            # The scheduled reconcile run (drain_seconds=0) is the sweep that lists incoming/.
            sweep=drain_seconds == 0,
        ),
        # quote(): Prefect walks every task argument for futures to wait on; the intake's
        # clients and a batch's hundreds of references hold none (27 ms a batch, measured).
        # ``return_state=False`` is the default, named so the typed overload takes quote().
        process_batch=lambda refs: process_batch(
            quote(intake), quote(refs), owner, return_state=False
        ),
        refresh=lambda changed: refresh_rollups(quote(intake), changed, return_state=False),
        events=PrefectEvents(),
        bucket=settings.bucket,
        stale=intake.stale_periods(),
        gone=_run_ended,
        on_batch=artifacts.batch_done,
        log=log,
        presence=DrainPresence(intake.bucket, settings.state_prefix, owner),
    )
    outcomes, summaries = drained.outcomes, drained.summaries
    run = artifacts.finish()
    _rename(run.name)
    counts = {s.value: sum(o.status is s for o in outcomes) for s in Status}
    log.info("processed %d uploads: %s", len(outcomes), counts)
    if outcomes:
        create_markdown_artifact(
            key="intake-summary",
            markdown=outcomes_markdown(outcomes, summaries),
            description="Accepted, rejected and duplicate uploads, with receipts",
        )
    if summaries:
        # Once per run, not per refresh: rendering is for people, not for the burst.
        try:
            publish_completeness_artifact(intake, summaries)
        except Exception:  # a chart must never fail the run that processed the files
            log.warning("completeness chart not published", exc_info=True)
    return _final_state(
        run, {"counts": counts, "periods": sorted(summaries), "completeness": summaries}
    )


@flow(name=NAIVE_FLOW)
def process_one_upload(key: str, etag: str = "", bucket: str | None = None) -> dict[str, Any]:
    """The naive design, kept as the benchmark's baseline: one flow run per file."""
    settings = Settings()
    if bucket:
        settings = settings.model_copy(update={"bucket": bucket})
    intake = build_intake(settings)
    ref = UploadRef(bucket=settings.bucket, key=key, etag=etag)
    result = intake.process([ref], flow_run_id=str(flow_run.get_id() or ""))
    if result.changed:
        refresh_rollups(intake, result.changed)
    return {"counts": {s.value: result.count(s) for s in Status}}
