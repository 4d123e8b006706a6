"""One unit in one period, as a steward reads it: its uploads, its figures, what changed.

The uploads are :func:`dvkn_pipeline.views.status.submission_history` (what
``dvkn submissions`` prints) with each receipt's problems and a link to the
Prefect flow run that judged the upload. The figures are
:func:`dvkn_pipeline.views.summaries.rollup_records` of the stored roll-up
(what ``dvkn figures`` prints). What changed is
:func:`dvkn_pipeline.rollup.compare.compare` twice: the live version against
the previous accepted one (each rolled up alone), and the period against the
same period a year before (the stored roll-ups, paired through the 2025
reform's mapping when a reform lies between them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Unit
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.compare import EXACT, Comparison
from dvkn_pipeline.views.status import records, state_text_both
from dvkn_pipeline.views.summaries import rollup_records
from schemas.records import Problem, Receipt

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class UploadLine:
    key: str
    version_id: str | None
    received_at: str
    #: When it arrived, as a clerk in Vietnam reads it: ``24/11/2026 14:47``.
    received_local: str
    status: str
    claimed_unit: str | None
    report_version: int | None
    n_errors: int
    n_warnings: int
    receipt_key: str
    live: bool
    flow_run_id: str | None
    #: The Prefect UI page of the run that judged it (None: judged outside a flow run).
    flow_run_url: str | None
    summary_vi: str | None
    summary_en: str | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class FigureChange:
    indicator: str
    name_vi: str
    name_en: str
    category: str | None
    #: The category's words (a status indicator's value, e.g. "Đạt chuẩn nông thôn mới").
    category_vi: str | None
    category_en: str | None
    now: float | None
    before: float | None
    #: now - before where the two are comparable (same unit, or only whole old units).
    change: float | None
    comparable: str


@dataclass(frozen=True)
class Changes:
    """One comparison: against what (period, version), and each figure's change."""

    against: str
    lines: tuple[FigureChange, ...]
    #: Why there is nothing to compare (no earlier version, no figures a year ago), else None.
    note: str | None = None


@dataclass(frozen=True)
class UnitPage:
    period: str
    period_vi: str
    unit_code: str
    name: str
    level: str
    parent_code: str | None
    #: The unit's own report state (None for a unit that does not report itself).
    state: str | None
    state_text: str | None
    uploads: tuple[UploadLine, ...]
    figures: tuple[dict[str, Any], ...]
    vs_previous: Changes
    vs_last_year: Changes


def flow_run_url(prefect_ui: str | None, flow_run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run (the same link ``dvkn reprocess`` prints)."""
    if not prefect_ui or not flow_run_id:
        return None
    return f"{prefect_ui.rstrip('/')}/runs/flow-run/{flow_run_id}"


def _local(iso: str) -> str:
    return local_time(datetime.fromisoformat(iso))


def local_time(moment: datetime) -> str:
    """A moment as a person in Vietnam reads it (a naive one is UTC, as the tables store)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def upload_lines(
    history: pl.DataFrame, receipts: dict[str, Receipt], prefect_ui: str | None
) -> tuple[UploadLine, ...]:
    """The upload history, newest first, each with its receipt's problems."""
    out = []
    for r in reversed(records(history)):
        receipt = receipts.get(r["receipt_key"])
        out.append(
            UploadLine(
                key=r["key"],
                version_id=r["version_id"],
                received_at=r["received_at"],
                received_local=_local(r["received_at"]),
                status=r["status"],
                claimed_unit=r["claimed_unit"],
                report_version=r["report_version"],
                n_errors=r["n_errors"],
                n_warnings=r["n_warnings"],
                receipt_key=r["receipt_key"],
                live=r["live"],
                flow_run_id=r["flow_run_id"],
                flow_run_url=flow_run_url(prefect_ui, r["flow_run_id"]),
                summary_vi=receipt.summary_vi if receipt else None,
                summary_en=receipt.summary_en if receipt else None,
                problems=tuple(receipt.problems) if receipt else (),
            )
        )
    return tuple(out)


def category_words(
    catalogue: Catalogue, indicator: str, code: str | None
) -> tuple[str | None, str | None]:
    """A category code's words from the catalogue (``KHONG_AP_DUNG`` → "Không áp dụng ...")."""
    dim = catalogue.indicator(indicator).category_dimension
    values = catalogue.model.dimensions[dim].values if dim else {}
    found = values.get(code) if code else None
    return (found.vi, found.en) if found is not None else (code, code)


def changes(
    comparison: Comparison | None, catalogue: Catalogue, against: str, note: str | None
) -> Changes:
    """The figures of a comparison that moved, or all of them when one side is missing."""
    if comparison is None:
        return Changes(against, (), note)
    lines = []
    for r in comparison.rows.iter_rows(named=True):
        ind = catalogue.indicator(r["indicator"])
        lines.append(
            FigureChange(
                indicator=r["indicator"],
                name_vi=ind.vi,
                name_en=ind.en,
                category=r.get("category"),
                category_vi=category_words(catalogue, r["indicator"], r.get("category"))[0],
                category_en=category_words(catalogue, r["indicator"], r.get("category"))[1],
                now=r["to_value"],
                before=r["from_value"] if r["comparable"] == EXACT else r["from_value_with_parts"],
                change=r["change"],
                comparable=r["comparable"],
            )
        )
    return Changes(against, tuple(lines), None if lines else note)


def unit_page(
    *,
    period: Period,
    unit: Unit,
    state_row: dict[str, Any] | None,
    history: pl.DataFrame,
    receipts: dict[str, Receipt],
    rollup_table: pl.DataFrame,
    catalogue: Catalogue,
    prefect_ui: str | None,
    vs_previous: Changes,
    vs_last_year: Changes,
) -> UnitPage:
    """Assemble the page from the pieces the service read."""
    return UnitPage(
        period=period.code,
        period_vi=period.label_vi,
        unit_code=unit.code,
        name=unit.name,
        level=unit.level,
        parent_code=unit.parent_code,
        state=state_row["state"] if state_row else None,
        state_text=state_text_both(state_row) if state_row else None,
        uploads=upload_lines(history, receipts, prefect_ui),
        figures=tuple(
            f
            | dict(
                zip(
                    ("category_vi", "category_en"),
                    category_words(catalogue, f["indicator"], f["category"]),
                    strict=True,
                )
            )
            for f in rollup_records(rollup_table, catalogue, [unit.code])
        ),
        vs_previous=vs_previous,
        vs_last_year=vs_last_year,
    )
