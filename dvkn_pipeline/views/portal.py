"""What a commune clerk reads on its portal (pure): its periods, their states, its uploads, a receipt.

States come from :func:`dvkn_pipeline.views.status.unit_states` (the function
behind ``dvkn status``), history from :func:`~dvkn_pipeline.views.status.submission_history`
(behind ``dvkn submissions``): the portal shows the CLI's answers, never its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.periods import Period, load_calendar, local_date, periods_of_year
from dvkn_pipeline.views.status import (
    ATTENTION_STATES,
    STATE_TEXT_VI,
    state_text,
    submission_history,
    unit_states,
)
from schemas.records import Problem, Receipt
from schemas.steward import load_steward_text


@dataclass(frozen=True)
class PeriodLine:
    """One period a unit reports for: its deadline and the unit's state in it."""

    period: str
    label_vi: str
    label_en: str
    deadline: date
    #: A state of ``schemas/steward.yaml`` (missing, on_time, late, ...); None when the
    #: unit is not expected in that period's hierarchy (e.g. merged away in 2025).
    state: str | None
    state_vi: str
    state_en: str
    colour: str
    days_late: int | None
    n_uploads: int
    #: Missing (or rejected only) and its deadline has passed.
    overdue: bool
    #: The unit has something to do: missing, rejected, correction rejected.
    needs_action: bool


@dataclass(frozen=True)
class UploadLine:
    """One upload in a unit's history for a period, oldest first."""

    key: str
    filename: str
    #: In the reporting time zone (Hanoi): what the clerk's own clock said.
    received_at: datetime
    status: str
    n_errors: int
    n_warnings: int
    live: bool
    report_version: int | None


@dataclass(frozen=True)
class ProblemLine:
    """One problem of a receipt, where the clerk finds it and what to do, in one language."""

    severity: str
    sheet: str | None
    row: int | None
    column: str | None
    cell: str | None
    value: str | None
    message: str
    hint: str


@dataclass(frozen=True)
class ReceiptView:
    key: str
    filename: str
    status: str
    summary: str
    processed_at: datetime
    report_version: int | None
    on_time: bool | None
    deadline: str | None
    n_errors: int
    n_warnings: int
    problems: tuple[ProblemLine, ...]


def reporting_periods(
    today: date, type_ids: list[str], count: int, extra: list[str] | None = None
) -> list[Period]:
    """The ``count`` latest periods of each type whose data window has begun, newest first.

    ``extra`` adds periods the unit has uploaded for (an older period it corrected).
    """
    found: dict[str, Period] = {}
    for type_id in type_ids:
        started = [
            p
            for year in range(today.year - 2, today.year + 2)
            for p in periods_of_year(year, type_id)
            if p.window[0] <= today
        ]
        for p in sorted(started, key=_order, reverse=True)[:count]:
            found[p.code] = p
    for code in extra or []:
        p = Period.parse(code)
        found.setdefault(p.code, p)
    return sorted(found.values(), key=_order, reverse=True)


def _order(p: Period) -> tuple[date, str]:
    return (p.window[1], p.type_id)


def own_rows(ledger: pl.DataFrame, unit: str, incoming_prefix: str = "incoming/") -> pl.DataFrame:
    """The ledger rows of one unit: those it claims and those sent to its folder.

    A unit's state depends only on these, so filtering first answers the same
    as the whole ledger, reading one unit's rows instead of a city's.
    """
    return ledger.filter(
        (pl.col("unit_code") == unit) | pl.col("key").str.starts_with(f"{incoming_prefix}{unit}/")
    )


def period_line(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    unit: str,
    today: date,
    incoming_prefix: str = "incoming/",
) -> PeriodLine:
    """The unit's state in ``period`` as ``dvkn status --level commune`` says it."""
    found = hierarchy.get(unit)
    level = found.level if found is not None else "commune"
    deadline = period.deadline(level)
    rows = unit_states(
        own_rows(ledger, unit, incoming_prefix), hierarchy, catalogue, period, incoming_prefix
    ).filter(pl.col("unit_code") == unit)
    words = load_steward_text()
    if rows.height == 0:
        return PeriodLine(
            period.code,
            period.label_vi,
            period.label_en,
            deadline,
            None,
            "không phải nộp",
            "not expected",
            "#9e9e9e",
            None,
            0,
            False,
            False,
        )
    row = rows.row(0, named=True)
    state = str(row["state"])
    days = row["days_late"]
    vi = STATE_TEXT_VI[state] + (f" ({days} ngày)" if state != "on_time" and days else "")
    not_done = state in ("missing", "rejected")
    return PeriodLine(
        period.code,
        period.label_vi,
        period.label_en,
        deadline,
        state,
        vi,
        state_text(row),
        words.states[state].colour,
        days,
        int(row["n_uploads"]),
        not_done and today > deadline,
        state == "missing" or state in ATTENTION_STATES,
    )


def unit_periods(
    ledger: pl.DataFrame,
    periods: list[tuple[Period, Hierarchy]],
    catalogue: Catalogue,
    unit: str,
    today: date,
    incoming_prefix: str = "incoming/",
) -> list[PeriodLine]:
    mine = own_rows(ledger, unit, incoming_prefix)
    return [period_line(mine, h, catalogue, p, unit, today, incoming_prefix) for p, h in periods]


def uploaded_periods(
    ledger: pl.DataFrame, unit: str, incoming_prefix: str = "incoming/"
) -> list[str]:
    """Periods the unit has sent files for (by the folder it sent them to)."""
    prefix = f"{incoming_prefix}{unit}/"
    keys = ledger.filter(pl.col("key").str.starts_with(prefix))["key"].to_list()
    out: set[str] = set()
    for k in keys:
        folder = k[len(prefix) :].split("/", 1)[0]
        try:
            out.add(Period.parse(folder).code)
        except ValueError:
            continue
    return sorted(out)


def upload_history(
    ledger: pl.DataFrame, period: Period, unit: str, incoming_prefix: str = "incoming/"
) -> list[UploadLine]:
    """``dvkn submissions`` for one unit and period, newest first (what a clerk looks for)."""
    hist = submission_history(ledger, period, unit, incoming_prefix)
    lines = [
        UploadLine(
            key=r["key"],
            filename=r["key"].rsplit("/", 1)[-1],
            received_at=_in_vietnam(r["received_at"]),
            status=r["status"],
            n_errors=int(r["n_errors"] or 0),
            n_warnings=int(r["n_warnings"] or 0),
            live=bool(r["live"]),
            report_version=r["report_version"],
        )
        for r in hist.iter_rows(named=True)
    ]
    return list(reversed(lines))


def receipt_view(receipt: Receipt, lang: str) -> ReceiptView:
    """A receipt in one language, errors first, then by sheet, row and column."""
    vi = lang == "vi"
    problems = sorted(
        receipt.problems,
        key=lambda p: (p.severity != "error", p.sheet or "", p.row or 0, p.column or ""),
    )
    return ReceiptView(
        key=receipt.key,
        filename=receipt.key.rsplit("/", 1)[-1],
        status=receipt.status.value,
        summary=receipt.summary_vi if vi else receipt.summary_en,
        processed_at=receipt.processed_at,
        report_version=receipt.report_version,
        on_time=receipt.on_time,
        deadline=receipt.deadline,
        n_errors=receipt.n_errors,
        n_warnings=receipt.n_warnings,
        problems=tuple(_problem(p, vi) for p in problems),
    )


def _problem(p: Problem, vi: bool) -> ProblemLine:
    return ProblemLine(
        severity=p.severity.value,
        sheet=p.sheet,
        row=p.row,
        column=p.column,
        cell=p.cell,
        value=p.value,
        message=p.message_vi if vi else p.message_en,
        hint=(p.hint_vi if vi else p.hint_en) or "",
    )


def _in_vietnam(moment: datetime) -> datetime:
    """A stored instant (UTC, or naive UTC) on the reporting time zone's clock."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(load_calendar().time_zone)


def today_in_vietnam(now: datetime) -> date:
    """The Vietnamese calendar day of ``now`` (deadlines are Vietnamese days)."""
    return local_date(now)
