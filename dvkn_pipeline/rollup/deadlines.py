"""Which units are still missing a report shortly before its deadline (pure).

The scheduled deadline check (``flows/deadline_check.py``) turns each finding
into a ``dvkn.units.missing`` event, and an automation notifies stewards, so a
reminder goes out while there is still time to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.periods import Period, load_calendar, periods_of_year


@dataclass(frozen=True)
class DueSoon:
    period: Period
    level: str
    deadline: date

    def days_left(self, today: date) -> int:
        return (self.deadline - today).days


@dataclass(frozen=True)
class MissingUnits:
    due: DueSoon
    expected: int
    #: Units that sent nothing.
    missing: list[str]
    #: Units that sent only files that were rejected.
    not_accepted: list[str]


def due_soon(
    today: date, days: int, levels: list[str], period_types: list[str] | None = None
) -> list[DueSoon]:
    """Deadlines of ``levels`` falling from today up to ``days`` days ahead.

    ``period_types`` limits the check to the period types an installation
    collects (calendar ids such as ``quarter``); default every type.
    """
    out: list[DueSoon] = []
    for ptype in load_calendar().types:
        if period_types is not None and ptype.id not in period_types:
            continue
        for year in (today.year - 1, today.year, today.year + 1):
            for period in periods_of_year(year, ptype.id):
                for level in levels:
                    deadline = period.deadline(level)
                    if 0 <= (deadline - today).days <= days:
                        out.append(DueSoon(period, level, deadline))
    return sorted(out, key=lambda d: (d.deadline, d.period.code, d.level))


def missing_units(
    ledger: pl.DataFrame, hierarchy: Hierarchy, catalogue: Catalogue, due: DueSoon
) -> MissingUnits | None:
    """Units of ``due.level`` with no accepted report for ``due.period`` (None: all reported)."""
    if not catalogue.reported_by(due.level) or due.level not in hierarchy.levels:
        return None
    expected = [u.code for u in hierarchy.units_at(due.level)]
    rows = ledger.filter(pl.col("period") == due.period.code)
    sent = set(rows["unit_code"].drop_nulls().to_list())
    accepted = set(rows.filter(pl.col("status") == "accepted")["unit_code"].to_list())
    missing = [u for u in expected if u not in sent]
    not_accepted = [u for u in expected if u in sent and u not in accepted]
    if not missing and not not_accepted:
        return None
    return MissingUnits(due, len(expected), missing, not_accepted)


def describe(found: MissingUnits, today: date) -> str:
    """One line a steward reads in a notification, Vietnamese then English."""
    d = found.due
    n, r = len(found.missing), len(found.not_accepted)
    left = d.days_left(today)
    return (
        f"Kỳ {d.period.code}, cấp {d.level}: {n}/{found.expected} đơn vị chưa gửi, "
        f"{r} chỉ có báo cáo bị từ chối; còn {left} ngày đến hạn {d.deadline.isoformat()}. / "
        f"{d.period.code}, {d.level} level: {n}/{found.expected} units have sent nothing, "
        f"{r} only rejected files; {left} day(s) to the deadline {d.deadline.isoformat()}."
    )
