"""Publish what a steward reads in Prefect: the completeness heat map and the intake run's artifacts.

Used inside a flow or task run (Prefect ties the artifacts to that run): by the
intake flow after a refresh, and by the ``publish-completeness`` flow
(``flows/completeness_artifact.py``) that ``dvkn chart --publish`` runs.
The picture is stored beside the reports (``reports/completeness/<period>.png``
and ``.html``) and embedded in the markdown artifact as a data URI, with its
table under it: a presigned link expired after 7 days, and a steward looking
back a year later saw nothing. Prefect's UI renders data-URI images in markdown
artifacts (the artifact is stored in Prefect's database, so it lives as long as
the run).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, cast
from uuid import UUID

from prefect import get_client
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.schemas.actions import ArtifactUpdate

from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import BatchResult, Intake
from dvkn_pipeline.views.chart import CompletenessChart, completeness_chart
from dvkn_pipeline.views.summaries import RunSummary, outcome_rows, run_summary
from schemas.records import FileOutcome, UploadRef
from schemas.steward import load_steward_text

CHART_PREFIX = "reports/completeness/"


def artifact_key(period: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return f"completeness-{period.lower()}"


def publish_completeness_artifact(
    intake: Intake, periods: Iterable[str]
) -> dict[str, CompletenessChart]:
    """Render, store and publish each period's heat map; returns the charts by period.

    Call it inside a flow or task run (the artifacts then belong to that run),
    after ``intake.refresh(...)``: it reads the ledger afresh.
    """
    out: dict[str, CompletenessChart] = {}
    for code in sorted(set(periods)):
        period = Period.parse(code)
        hierarchy = intake.hierarchies.for_date(period.reference_date).scope(
            intake.settings.root_unit
        )
        chart = completeness_chart(
            intake.tables.read_ledger(code), hierarchy, intake.catalogue, period
        )
        png_key = f"{CHART_PREFIX}{code}.png"
        intake.bucket.put_bytes(png_key, chart.png, "image/png")
        intake.bucket.put_bytes(
            f"{CHART_PREFIX}{code}.html", chart.html.encode("utf-8"), "text/html; charset=utf-8"
        )
        image = base64.b64encode(chart.png).decode("ascii")
        create_markdown_artifact(
            key=artifact_key(code),
            markdown=f"![{chart.title}](data:image/png;base64,{image})\n\n"
            + chart.markdown
            + f"\n`s3://{intake.bucket.name}/{png_key}` (.png, .html)\n",
            description=f"Completeness {code} per {chart.group_level}",
        )
        out[code] = chart
    return out


# -- the intake run's own artifacts, kept up to date while it drains -------------------------

FILES_KEY = "intake-files"
#: Rows of the run's file table at most (rejected first). Prefect sends an updated artifact
#: as one event of at most 1.5 MB: a burst run's table of 3,000+ files was refused and
#: stopped updating; every file's outcome stays in the ledger (``dvkn submissions``).
TABLE_MAX_ROWS = 1000
PROGRESS_KEY = "intake-progress"


class CountingBacklog:
    """The intake as the drain loop's backlog, remembering how many uploads the last listing found.

    The progress artifact needs "pending" without listing ``incoming/`` again
    per batch: the drain loop lists anyway, and what was listed minus what was
    done since is what is still waiting.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.listed = 0
        self.done_at_listing = 0
        self.done = 0

    def change_token(self) -> str | None:
        token: str | None = self._inner.change_token()
        return token

    def pending_by_shard(self, sweep: bool = False) -> dict[int, list[UploadRef]]:
        work: dict[int, list[UploadRef]] = self._inner.pending_by_shard(sweep)
        self.listed = sum(len(v) for v in work.values())
        self.done_at_listing = self.done
        return work

    def lease(self, shard: int, owner: str, gone: Callable[[str], bool] | None = None) -> Any:
        return self._inner.lease(shard, owner, gone)

    def release(self, held: Iterable[Any]) -> None:
        self._inner.release(held)

    @property
    def pending(self) -> int:
        return max(0, self.listed - (self.done - self.done_at_listing))


class RunArtifacts:
    """One table of files and one progress bar per intake run, updated as batches finish.

    Creating a table artifact per batch left a 558-file run with 15 identical
    cards in no order; here the table is created once under ``FILES_KEY`` (the
    key keeps every run's version in its history) and rewritten in place, and
    the run's name tells what it did so far.
    """

    def __init__(
        self,
        incoming_prefix: str = "incoming/",
        backlog: CountingBacklog | None = None,
        rename: Callable[[str], None] | None = None,
        files_key: str = FILES_KEY,
    ) -> None:
        self.incoming_prefix = incoming_prefix
        self.backlog = backlog
        self.rename = rename
        self.files_key = files_key
        self.outcomes: list[FileOutcome] = []
        self._table_id: UUID | None = None
        self._progress_id: UUID | None = None

    def start(self) -> None:
        """The progress bar exists from the start, so a run that is draining shows 0 % at once."""
        self._progress_id = cast(
            UUID,
            create_progress_artifact(
                progress=0.0, key=PROGRESS_KEY, description=self._progress_text()
            ),
        )

    def _progress_text(self) -> str:
        pending = self.backlog.pending if self.backlog is not None else 0
        return load_steward_text().run.progress.format(done=len(self.outcomes), pending=pending)

    def batch_done(self, result: BatchResult) -> None:
        """After each batch: table, progress and run name brought up to date (never fails the run)."""
        if not result.outcomes:
            return
        self.outcomes.extend(result.outcomes)
        if self.backlog is not None:
            self.backlog.done = len(self.outcomes)
        try:
            self._publish_table()
            self._publish_progress()
            if self.rename is not None:
                self.rename(run_summary(self.outcomes).name)
        except Exception:  # artifacts are for people: a failed update must not fail the batch
            logging.getLogger(__name__).warning("run artifacts not updated", exc_info=True)

    def _publish_table(self) -> None:
        rows = outcome_rows(self.outcomes, self.incoming_prefix)
        text = load_steward_text().run
        description = (
            text.table_title.format(done=len(rows))
            if len(rows) <= TABLE_MAX_ROWS
            else text.table_title_capped.format(done=len(rows), shown=TABLE_MAX_ROWS)
        )
        rows = rows[:TABLE_MAX_ROWS]
        if self._table_id is None:
            self._table_id = cast(
                UUID,
                create_table_artifact(key=self.files_key, table=rows, description=description),
            )
            return
        with get_client(sync_client=True) as client:
            client.update_artifact(
                self._table_id,
                ArtifactUpdate(data=json.dumps(rows, ensure_ascii=False), description=description),
            )

    def _publish_progress(self, final: bool = False) -> None:
        if self._progress_id is None:
            return
        done = len(self.outcomes)
        pending = 0 if final or self.backlog is None else self.backlog.pending
        share = 100.0 if final or done + pending == 0 else 100.0 * done / (done + pending)
        update_progress_artifact(self._progress_id, share, description=self._progress_text())

    def finish(self) -> RunSummary:
        """The run's summary; the progress bar at 100 %."""
        try:
            if self.backlog is not None:
                self.backlog.listed = self.backlog.done_at_listing = 0
            self._publish_progress(final=True)
        except Exception:
            logging.getLogger(__name__).warning("progress artifact not closed", exc_info=True)
        return run_summary(self.outcomes)
