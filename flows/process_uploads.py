"""The intake flow: process every pending upload in batches, then refresh roll-ups.

Triggered by ``dvkn.report.uploaded`` events. The trigger fires at most once per
batch window (a reactive trigger with ``within``), and each run drains all
pending uploads and stays until the window has passed, so the events it
swallowed are all picked up: a burst of thousands of uploads becomes a few runs,
while every file still gets its own receipt, ledger row and artifact line.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.concurrency.sync import concurrency
from prefect.events import emit_event
from prefect.runtime import flow_run

from dvkn_pipeline.intake import BatchResult, Intake
from dvkn_pipeline.reporting import completeness_summary, outcomes_markdown
from dvkn_pipeline.wiring import build_intake
from schemas.records import (
    EVENT_ACCEPTED,
    EVENT_REJECTED,
    EVENT_ROLLUP_UPDATED,
    FileOutcome,
    Status,
)
from schemas.settings import Settings

ROLLUP_LIMIT = "dvkn-rollup"


@task(name="process-batch", retries=2, retry_delay_seconds=[2, 10])
def process_batch(intake: Intake, max_files: int) -> BatchResult:
    pending = intake.pending(limit=max_files)
    return intake.process(pending, flow_run_id=str(flow_run.get_id() or ""))


@task(name="refresh-rollups", retries=2, retry_delay_seconds=[2, 10])
def refresh_rollups(intake: Intake, periods: set[str]) -> dict[str, Any]:
    # One refresher at a time: a refresh that read an older ledger must not
    # overwrite a newer roll-up.
    with concurrency(ROLLUP_LIMIT, occupy=1, lease_duration=600):
        comp = intake.refresh(periods)
    return {
        p: completeness_summary(c, intake.hierarchies, intake.settings.root_unit)
        for p, c in comp.items()
    }


def _emit_outcome(o: FileOutcome, bucket: str) -> None:
    event = EVENT_ACCEPTED if o.status is not Status.REJECTED else EVENT_REJECTED
    emit_event(
        event=event,
        resource={
            "prefect.resource.id": f"dvkn.upload.{bucket}/{o.key}",
            "dvkn.key": o.key,
            "dvkn.status": o.status.value,
            "dvkn.unit": o.unit_code or "",
            "dvkn.period": o.period or "",
        },
        payload=o.model_dump(mode="json"),
    )


@flow(name="process-uploads")
def process_uploads(key: str | None = None, drain_seconds: float | None = None) -> dict[str, Any]:
    """Drain pending uploads; ``key`` names the upload whose event started this run."""
    log = get_run_logger()
    settings = Settings()
    intake = build_intake(settings)
    window = settings.batch_window_seconds if drain_seconds is None else drain_seconds
    started = time.monotonic()
    outcomes: list[FileOutcome] = []
    periods: set[str] = set()
    summaries: dict[str, Any] = {}
    log.info("started by %s; draining pending uploads", key or "schedule/manual run")
    while True:
        result = process_batch(intake, settings.batch_max_files)
        for o in result.outcomes:
            _emit_outcome(o, settings.bucket)
        outcomes.extend(result.outcomes)
        if result.periods:
            periods |= result.periods
            summaries.update(refresh_rollups(intake, result.periods))
            for p in result.periods:
                emit_event(
                    event=EVENT_ROLLUP_UPDATED,
                    resource={"prefect.resource.id": f"dvkn.rollup.{p}", "dvkn.period": p},
                    payload=summaries.get(p, {}),
                )
        if result.outcomes:
            continue
        if time.monotonic() - started >= window + 1.0:
            break
        time.sleep(0.5)
    counts = {s.value: sum(o.status is s for o in outcomes) for s in Status}
    log.info("processed %d uploads: %s", len(outcomes), counts)
    if outcomes:
        create_table_artifact(
            key="intake-files",
            table=[o.model_dump(mode="json") for o in outcomes],
            description=f"Uploads processed by this run: {counts}",
        )
        create_markdown_artifact(
            key="intake-summary",
            markdown=outcomes_markdown(outcomes, summaries),
            description="Accepted, rejected and duplicate uploads, with receipts",
        )
    return {"counts": counts, "periods": sorted(periods), "completeness": summaries}
