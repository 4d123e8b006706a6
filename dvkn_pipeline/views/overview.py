"""A period at a glance for a steward: one unit and the units just below it, as a heat table.

The console's overview page shows the tree city → district → commune one
level at a time (the unit, its ancestors as a breadcrumb, its children as
rows; a child's row leads to its own overview). Every count is
:func:`dvkn_pipeline.rollup.spatial.completeness` (what ``dvkn status`` prints
and the stored completeness table holds) over the lowest reporting level,
and the state split is :func:`dvkn_pipeline.views.status.unit_states`, so a
page cannot disagree with ``dvkn status --json``. A unit counts once however
many files it sent, so no share passes 100%.

Each state cell is tinted from white to its state's colour
(``schemas/steward.yaml``) by the share of the row's units in it: a column of
missing communes is the darkest thing on the page. No map is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import completeness
from dvkn_pipeline.views.chart import state_colours
from dvkn_pipeline.views.status import (
    ATTENTION_STATES,
    STATES,
    StatusError,
    approved_counts,
    unit_states,
)
from schemas.steward import load_steward_text

#: The faintest tint of a state cell with at least one unit: one missing commune out of
#: thirty must still show, not disappear into white.
MIN_TINT = 0.25

#: The counts of a row, in the order the table shows them (all from ``completeness``).
COUNT_COLUMNS = ("expected", "received", "accepted", "rejected", "on_time", "late", "missing")


@dataclass(frozen=True)
class Cell:
    """One state cell of the heat table: how many units, their share, and its tint."""

    state: str
    count: int
    share: float
    background: str
    foreground: str


@dataclass(frozen=True)
class OverviewRow:
    unit_code: str
    name: str
    level: str
    expected: int
    received: int
    accepted: int
    rejected: int
    on_time: int
    late: int
    missing: int
    #: Units in a state someone must act on (rejected, correction rejected).
    attention: int
    pct_received: float | None
    pct_accepted: float | None
    pct_on_time: float | None
    #: One cell per state of :data:`STATES`, in that order.
    cells: tuple[Cell, ...]
    #: A reporting unit's own state (a commune row), else None.
    state: str | None
    #: True when the row has units below it to open.
    has_children: bool
    #: Reporting units below (or the unit itself) approved to their last step, beside
    #: ``accepted`` (``views.status.approved_counts``, as ``dvkn status``); None: not asked.
    approved: int | None = None
    #: The unit's own approval state (``schemas/approval.yaml`` states); None: not asked.
    approval: str | None = None


@dataclass(frozen=True)
class Crumb:
    unit_code: str
    name: str
    level: str


@dataclass(frozen=True)
class Overview:
    period: str
    period_vi: str
    period_en: str
    hierarchy_version: str
    #: Whose reports are counted: the lowest reporting level (communes).
    reporter_level: str
    deadline: str
    crumbs: tuple[Crumb, ...]
    #: The unit's own report state (a district reports too), None when it does not report.
    own_state: str | None
    unit: OverviewRow
    rows: tuple[OverviewRow, ...]


def tint(colour: str, share: float) -> str:
    """``colour`` (``#rrggbb``) mixed with white: share 0 is white, 1 the full colour."""
    share = min(max(share, 0.0), 1.0)
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(255 + (c - 255) * share) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def period_overview(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    unit: str,
    incoming_prefix: str = "incoming/",
    approvals: pl.DataFrame | None = None,
) -> Overview:
    """``unit`` and its children for ``period``: counts of the reporting units below each.

    With ``approvals`` (the period's approval board, ``rollup.approval``) each row
    also says how many of those units are approved, and its own approval state.

    Raises :class:`StatusError` for a unit the period's hierarchy lacks.
    """
    if unit not in hierarchy:
        raise StatusError(f"unit {unit} is not in hierarchy {hierarchy.version_id}")
    leaf = next(lvl for lvl in reversed(hierarchy.levels) if catalogue.reported_by(lvl))
    shown = [hierarchy.unit(unit), *hierarchy.children(unit)]
    codes = [u.code for u in shown]
    counts = {
        r["unit_code"]: r
        for r in completeness(ledger, hierarchy, catalogue, period)
        .filter((pl.col("reporter_level") == leaf) & pl.col("unit_code").is_in(codes))
        .iter_rows(named=True)
    }
    every = unit_states(ledger, hierarchy, catalogue, period, incoming_prefix)
    mine = every.filter(pl.col("unit_code") == unit)["state"].to_list()
    states = every.filter(pl.col("reporter_level") == leaf)
    own = dict(zip(states["unit_code"], states["state"], strict=True))
    closure = hierarchy.closure_frame().filter(pl.col("ancestor_code").is_in(codes))
    split = {
        r["ancestor_code"]: r
        for r in states.join(
            closure.select("unit_code", "ancestor_code"), on="unit_code", how="inner"
        )
        .group_by("ancestor_code")
        .agg([(pl.col("state") == s).sum().cast(pl.Int64).alias(s) for s in STATES])
        .iter_rows(named=True)
    }
    colours = state_colours()
    approved: dict[str, int] = {}
    approval: dict[str, str] = {}
    if approvals is not None:
        found = approved_counts(approvals, hierarchy).filter(pl.col("reporter_level") == leaf)
        approved = dict(zip(found["unit_code"], found["approved"], strict=True))
        approval = dict(zip(approvals["unit_code"], approvals["state"], strict=True))

    def row(code: str) -> OverviewRow:
        u = hierarchy.unit(code)
        c = counts.get(code, dict.fromkeys(COUNT_COLUMNS, 0))
        per_state = split.get(code, dict.fromkeys(STATES, 0))
        expected = int(c["expected"])
        cells = tuple(
            Cell(
                s,
                int(per_state[s]),
                share := (per_state[s] / expected if expected else 0.0),
                tint(colours[s], MIN_TINT + (1 - MIN_TINT) * share if per_state[s] else 0.0),
                "#ffffff" if share > 0.4 else "#1b1b1b",
            )
            for s in STATES
        )
        return OverviewRow(
            unit_code=code,
            name=u.name,
            level=u.level,
            **{k: int(c[k]) for k in COUNT_COLUMNS},
            attention=sum(int(per_state[s]) for s in ATTENTION_STATES),
            pct_received=_pct(int(c["received"]), expected),
            pct_accepted=_pct(int(c["accepted"]), expected),
            pct_on_time=_pct(int(c["on_time"]), expected),
            cells=cells,
            state=own.get(code),
            has_children=bool(hierarchy.children(code)),
            approved=None if approvals is None else approved.get(code, 0),
            approval=approval.get(code),
        )

    crumbs = tuple(Crumb(a.code, a.name, a.level) for a in reversed(hierarchy.ancestors(unit)))
    return Overview(
        period=period.code,
        period_vi=period.label_vi,
        period_en=period.label_en,
        hierarchy_version=hierarchy.version_id,
        reporter_level=leaf,
        deadline=period.deadline(leaf).isoformat(),
        crumbs=crumbs,
        own_state=mine[0] if mine and hierarchy.children(unit) else None,
        unit=row(unit),
        rows=tuple(row(u.code) for u in shown[1:]),
    )


def state_words() -> dict[str, tuple[str, str]]:
    """Each state's words (vi, en), for a page's column heads and legend."""
    return {s: (t.vi, t.en) for s, t in load_steward_text().states.items()}
