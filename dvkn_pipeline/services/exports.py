"""The official export of a period: its roll-up (stored, or built over time) as .xlsx and .csv.

A period nobody reported directly (a quarter of monthly reports, a year of
quarters) is built from the finer periods that tile it, so the export of
2025-Q1 exists as soon as its three months do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.levels import canonical_level
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.temporal import source_periods, temporal_rollup
from dvkn_pipeline.views.export import export_csv, export_xlsx
from schemas.approval import Basis
from schemas.report_header import ReportHeader

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


class ExportStore(Protocol):
    """Where exports are kept (:class:`dvkn_pipeline.storage.bucket.Bucket`)."""

    @property
    def name(self) -> str: ...

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str: ...


class RollupTables(Protocol):
    """What an export reads of the tables (:class:`dvkn_pipeline.storage.tables.Tables`)."""

    def rollup_periods(self) -> list[str]: ...

    def read_rollup(self, period: str) -> pl.DataFrame: ...

    def read_completeness(self, period: str) -> pl.DataFrame: ...


@dataclass(frozen=True)
class PeriodRollup:
    """The roll-up and completeness of a period, and the periods they were built from."""

    rollup: pl.DataFrame
    completeness: pl.DataFrame
    sources: tuple[Period, ...]  # empty when the period's own roll-up is stored


@dataclass(frozen=True)
class ExportFiles:
    """The two files of an export: the workbook and the same figures in long form."""

    xlsx: bytes
    csv: bytes


#: The roll-up of one period over approved figures only (``ApprovalService.approved_rollup``).
ApprovedRollup = Callable[[Period], pl.DataFrame]


def period_rollup(
    tables: RollupTables,
    period: Period,
    catalogue: Catalogue,
    approved: ApprovedRollup | None = None,
) -> PeriodRollup:
    """The stored roll-up of ``period``, or one rolled up over time from finer periods.

    With ``approved``, the same periods are read over approved figures only
    (a period with a stored roll-up counts as reported, approved or not).
    Raises :class:`dvkn_pipeline.rollup.temporal.TemporalError` (a ``DvknError``)
    when no roll-up is stored and the finer ones leave a gap or overlap.
    """

    def read(p: Period) -> pl.DataFrame:
        return approved(p) if approved is not None else tables.read_rollup(p.code)

    comp = tables.read_completeness(period.code)
    stored = tables.rollup_periods() if approved is not None else []
    table = read(period) if approved is None or period.code in stored else pl.DataFrame()
    if not table.is_empty() or period.code in stored:
        return PeriodRollup(table, comp, ())
    have = [
        q
        for q in map(Period.parse, stored or tables.rollup_periods())
        if q != period and period.contains(q)
    ]
    sources = source_periods(period, have)
    table = temporal_rollup({q.code: read(q) for q in sources}, period, catalogue)
    comp = pl.concat([tables.read_completeness(q.code) for q in sources])
    return PeriodRollup(table, comp, tuple(sources))


def export_report(
    tables: RollupTables,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    level: str,
    units: list[str] | None = None,
    header: ReportHeader | None = None,
    approved: ApprovedRollup | None = None,
) -> ExportFiles:
    """The upper-level report of ``period`` at ``level`` (only ``units`` when given).

    With ``approved`` the figures are approved ones only, and every sheet says so.

    Raises a ``DvknError`` (an unknown level or unit, a period that cannot be
    built from what is stored, ...) for the caller to show as a usage error.
    """
    found = period_rollup(tables, period, catalogue, approved)
    basis: Basis = "approved" if approved is not None else "accepted"
    return ExportFiles(
        xlsx=export_xlsx(
            found.rollup,
            found.completeness,
            hierarchy,
            catalogue,
            period,
            level,
            units,
            header,
            basis,
        ),
        csv=export_csv(found.rollup, hierarchy, catalogue, period, level, units),
    )


def export_name(period: Period, level: str, basis: Basis = "accepted") -> str:
    """``dvkn-2025-Q1-district`` (``-approved`` for approved figures only): a file name
    without its suffix, so the two kinds of export never overwrite each other."""
    suffix = "-approved" if basis == "approved" else ""
    return f"dvkn-{period.code}-{canonical_level(level)}{suffix}"


def export_keys(
    prefix: str, period: Period, level: str, basis: Basis = "accepted"
) -> tuple[str, str]:
    """Object keys of an export's .xlsx and .csv: ``<prefix><period>/<level>/<name>.xlsx``."""
    name = export_name(period, level, basis)
    base = f"{prefix}{period.code}/{canonical_level(level)}/{name}"
    return base + ".xlsx", base + ".csv"


def publish_export(
    store: ExportStore,
    prefix: str,
    period: Period,
    level: str,
    files: ExportFiles,
    basis: Basis = "accepted",
) -> tuple[str, str]:
    """Write an export to the object store; returns its two keys.

    The keys are the same for every run of a period and level, so on a
    versioned bucket each run is a new object version and the history stays.
    """
    xlsx_key, csv_key = export_keys(prefix, period, level, basis)
    store.put_bytes(xlsx_key, files.xlsx, XLSX_TYPE)
    store.put_bytes(csv_key, files.csv, CSV_TYPE)
    return xlsx_key, csv_key
