"""What a district or city steward (and a reader) asks of a period, for the console and the CLI.

Each question reads the tables (and, where a reason is shown, the receipts)
once and hands the frames to a pure view: the overview
(:mod:`dvkn_pipeline.views.overview`), the follow-up lists
(:mod:`dvkn_pipeline.views.lists` over ``views.status.unit_list``), the unit
page (:mod:`dvkn_pipeline.views.unit_page`), the trend (``views.trend``) and
the export (``services.exports``). ``dvkn status --state`` and ``dvkn trend``
call the same functions, so a page and the terminal print one computation.

Every question takes the asker's ``scope``: the unit they are responsible for
(a district steward's district, the city). A unit outside it raises
:class:`OutOfScopeError`, which the console turns into 403 — the console checks
too, this is the second lock on the same door.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import polars as pl
from pydantic import ValidationError

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import (
    Hierarchy,
    HierarchyCatalog,
    NoHierarchyError,
    Unit,
)
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.compare import compare, compare_periods
from dvkn_pipeline.rollup.spatial import live_submissions, rollup
from dvkn_pipeline.services.exports import ExportFiles, export_report
from dvkn_pipeline.views.lists import OutlierLine, StateList, outlier_lines, with_contacts
from dvkn_pipeline.views.overview import Overview, period_overview
from dvkn_pipeline.views.status import (
    StatusError,
    default_group_level,
    submission_history,
    unit_list,
    unit_states,
)
from dvkn_pipeline.views.trend import LevelTrend, Trend, level_trend, period_range, unit_trend
from dvkn_pipeline.views.unit_page import Changes, UnitPage, changes, unit_page
from schemas.contacts import Contact, load_contacts
from schemas.records import Receipt
from schemas.settings import LOCAL_PORTS, Settings

#: Threads for reads that wait on the object store (receipts, one table per period).
READ_THREADS = 8
#: Receipts kept in memory before the cache starts over (a city's periods fit).
RECEIPT_CACHE = 50_000


class OutOfScopeError(DvknError, PermissionError):
    """A unit the asker is not responsible for (the console answers 403)."""


class StewardTables(Protocol):
    """What the steward's questions read (:class:`dvkn_pipeline.storage.tables.Tables`)."""

    def read_ledger(
        self, period: str | None = None, all_attempts: bool = False
    ) -> pl.DataFrame: ...

    def read_facts(self, period: str, submission_ids: list[str] | None = None) -> pl.DataFrame: ...

    def read_rollup(self, period: str, as_of: datetime | None = None) -> pl.DataFrame: ...

    def read_completeness(self, period: str) -> pl.DataFrame: ...

    def rollup_periods(self) -> list[str]: ...


class ReceiptStore(Protocol):
    """Where receipts are read (:class:`dvkn_pipeline.storage.bucket.Bucket`)."""

    def get_json(self, key: str) -> Any | None: ...


def prefect_ui_base(settings: Settings) -> str:
    """Where the Prefect UI is: set, or the API URL without ``/api``, or the embedded server's."""
    if settings.prefect_ui_url:
        return settings.prefect_ui_url.rstrip("/")
    if settings.prefect_api_url:
        return settings.prefect_api_url.rstrip("/").removesuffix("/api")
    return f"http://127.0.0.1:{settings.base_port + LOCAL_PORTS['prefect']}"


def _read_receipt(store: ReceiptStore, key: str) -> Receipt | None:
    try:
        raw = store.get_json(key)
        # The figures read from the file are the largest part and no page here shows them.
        return None if raw is None else Receipt.model_validate(raw | {"figures": []})
    except (ValidationError, ValueError, TypeError, OSError):
        return None


def read_receipts(
    store: ReceiptStore, keys: list[str], workers: int = READ_THREADS
) -> dict[str, Receipt]:
    """The receipts at ``keys`` that can be read; one unreadable receipt hides only itself.

    Many receipts (a city's outliers) are fetched on a few threads: each is a
    small object-store GET, so the wait, not the CPU, is what adds up.
    """
    keys = list(dict.fromkeys(keys))
    if len(keys) <= 2 or workers <= 1:
        found = [_read_receipt(store, k) for k in keys]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(functools.partial(_read_receipt, store), keys))
    return {k: r for k, r in zip(keys, found, strict=True) if r is not None}


def in_parallel(read: Callable[[str], pl.DataFrame], periods: list[str]) -> dict[str, pl.DataFrame]:
    """``read`` of each period on a few threads (Delta reads wait on the store, not the GIL)."""
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, max(1, len(periods)))) as pool:
        return dict(zip(periods, pool.map(read, periods), strict=True))


def rejection_reasons(store: ReceiptStore, keys: list[str]) -> dict[str, str]:
    """The first problem of each receipt, "vi / en": why a unit was rejected."""
    return {
        key: f"{r.problems[0].message_vi} / {r.problems[0].message_en}"
        for key, r in read_receipts(store, keys).items()
        if r.problems
    }


@dataclass
class Steward:
    """The steward's questions over one installation's tables, receipts and reference data."""

    tables: StewardTables
    store: ReceiptStore
    catalogue: Catalogue
    hierarchies: HierarchyCatalog
    settings: Settings
    contacts: dict[str, Contact] = field(default_factory=dict)
    #: Receipts already read, by (receipt key, when it was judged): a receipt is
    #: rewritten only by a new judgement, which is a new ledger row, so a hit is never stale.
    _receipts: dict[tuple[str, str], Receipt | None] = field(default_factory=dict, repr=False)

    @classmethod
    def with_contacts(
        cls,
        tables: StewardTables,
        store: ReceiptStore,
        catalogue: Catalogue,
        hierarchies: HierarchyCatalog,
        settings: Settings,
    ) -> Steward:
        """A steward with the contact list the settings name (``DVKN_CONTACTS_FILE``)."""
        contacts = load_contacts(settings.contacts_file)
        return cls(tables, store, catalogue, hierarchies, settings, contacts)

    # -- scope -------------------------------------------------------------------------

    def hierarchy(self, period: Period) -> Hierarchy:
        """The installation's hierarchy in force for ``period``."""
        return self.hierarchies.for_date(period.reference_date).scope(self.settings.root_unit)

    def check_scope(self, hierarchy: Hierarchy, scope: str, unit: str) -> None:
        """Raise :class:`OutOfScopeError` unless ``unit`` is ``scope`` or below it."""
        if scope not in hierarchy or unit not in hierarchy:
            raise OutOfScopeError(f"unit {unit} is not within {scope} in {hierarchy.version_id}")
        if unit != scope and scope not in {a.code for a in hierarchy.ancestors(unit)}:
            raise OutOfScopeError(f"unit {unit} is not within {scope}")

    def receipts(self, rows: pl.DataFrame) -> dict[str, Receipt]:
        """The receipts of ledger ``rows`` (``receipt_key``, ``processed_at``), read once each."""
        wanted = [
            (k, str(at)) for k, at in zip(rows["receipt_key"], rows["processed_at"], strict=True)
        ]
        new = {k for k, at in wanted if (k, at) not in self._receipts}
        if new:
            found = read_receipts(self.store, sorted(new))
            if len(self._receipts) > RECEIPT_CACHE:
                self._receipts.clear()
            for k, at in wanted:
                if k in new:
                    self._receipts[(k, at)] = found.get(k)
        out = {k: self._receipts.get((k, at)) for k, at in wanted}
        return {k: r for k, r in out.items() if r is not None}

    # -- what a page offers to choose from -----------------------------------------------

    def latest_period(self, today: date) -> Period:
        """The latest period with a stored roll-up, else the quarter ``today`` is in."""
        stored = [Period.parse(c) for c in self.tables.rollup_periods()]
        if stored:
            return max(stored, key=lambda q: (q.reference_date, -len(q.months)))
        return Period.parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")

    def trend_start(self, end: Period, count: int) -> Period:
        """The first of the ``count`` periods ending with ``end`` that a unit list covers
        (none is shipped before 2025: a trend does not open on empty years)."""
        for p in reversed([end, *end.previous(count - 1)]):
            try:
                self.hierarchies.for_date(p.reference_date)
            except NoHierarchyError:
                continue
            return p
        return end

    def export_levels(self, period: Period) -> list[str]:
        return list(self.hierarchy(period).levels)

    def export_level(self, period: Period, scope: str) -> str:
        """The level an export of ``scope`` is most useful at: the one just below it."""
        h = self.hierarchy(period)
        level = h.unit(scope).level if scope in h else h.levels[0]
        return h.level_below(level) or level

    def reporter_levels(self, period: Period) -> list[str]:
        return [lvl for lvl in self.hierarchy(period).levels if self.catalogue.reported_by(lvl)]

    def districts(self, period: Period, scope: str) -> list[Unit]:
        """The units a list can be narrowed to: those of the level above the leaves in ``scope``."""
        h = self.hierarchy(period)
        if scope not in h:
            return []
        group = default_group_level(h)
        return [u for u in [h.unit(scope), *h.descendants(scope)] if u.level == group]

    # -- questions -----------------------------------------------------------------------

    def overview(
        self,
        period: Period,
        scope: str,
        unit: str | None = None,
        approvals: pl.DataFrame | None = None,
    ) -> Overview:
        """``unit`` (default: the scope) and the units just below it, for ``period``.

        ``approvals``: the period's approval board (``ApprovalService.board``), for
        the approved counts beside the accepted ones.
        """
        h = self.hierarchy(period)
        unit = unit or scope
        self.check_scope(h, scope, unit)
        ledger = self.tables.read_ledger(period.code)
        return period_overview(
            ledger, h, self.catalogue, period, unit, self.settings.incoming_prefix, approvals
        )

    def state_list(
        self, period: Period, state: str, scope: str, district: str | None = None
    ) -> StateList:
        """Units in ``state`` within ``district`` (default: the scope), with reasons and contacts."""
        h = self.hierarchy(period)
        where = district or scope
        self.check_scope(h, scope, where)
        ledger = self.tables.read_ledger()  # a file nobody could read is placed by its folder
        where_arg = None if where == self.settings.root_unit else where  # None: city-wide
        listed = unit_list(ledger, h, self.catalogue, period, state, where_arg)
        keys = [u.rejected_receipt_key for u in listed.units if u.rejected_receipt_key]
        if keys:
            listed = unit_list(
                ledger,
                h,
                self.catalogue,
                period,
                state,
                where_arg,
                reasons=rejection_reasons(self.store, keys),
            )
        return with_contacts(listed, self.contacts)

    def outliers(
        self, period: Period, scope: str, district: str | None = None
    ) -> tuple[OutlierLine, ...]:
        """Live reports within ``district`` (default: the scope) flagged far from their history."""
        h = self.hierarchy(period)
        where = district or scope
        self.check_scope(h, scope, where)
        below = {where, *(u.code for u in h.descendants(where))}
        ledger = self.tables.read_ledger(period.code)
        on = ["key", "received_at", "submission_id"]
        live = (
            live_submissions(ledger, period.code)
            .filter(pl.col("unit_code").is_in(sorted(below)))
            .join(
                ledger.select(*on, "n_warnings", "receipt_key", "processed_at"), on=on, how="inner"
            )
            .filter(pl.col("n_warnings") > 0)
        )
        receipts = self.receipts(live)
        return outlier_lines(live, receipts, h, self.contacts)

    def unit_page(self, period: Period, unit: str, scope: str) -> UnitPage:
        """A unit's uploads with receipts and run links, its figures, and what changed."""
        h = self.hierarchy(period)
        self.check_scope(h, scope, unit)
        ledger = self.tables.read_ledger()
        prefix = self.settings.incoming_prefix
        history = submission_history(ledger, period, unit, prefix)
        states = unit_states(ledger, h, self.catalogue, period, prefix).filter(
            pl.col("unit_code") == unit
        )
        return unit_page(
            period=period,
            unit=h.unit(unit),
            state_row=states.row(0, named=True) if states.height else None,
            history=history,
            receipts=self.receipts(history),
            rollup_table=self.tables.read_rollup(period.code),
            catalogue=self.catalogue,
            prefect_ui=prefect_ui_base(self.settings),
            vs_previous=self._vs_previous(ledger, h, period, unit),
            vs_last_year=self._vs_last_year(h, period, unit),
        )

    def _vs_previous(
        self, ledger: pl.DataFrame, h: Hierarchy, period: Period, unit: str
    ) -> Changes:
        """The live version's own figures against the accepted version before it."""
        mine = ledger.filter(
            (pl.col("period") == period.code)
            & (pl.col("unit_code") == unit)
            & (pl.col("status") == "accepted")
        )
        live = live_submissions(mine, period.code)
        earlier = mine.filter(~pl.col("submission_id").is_in(live["submission_id"].to_list())).sort(
            "report_version", "received_at"
        )
        against = "previous_version"
        if live.is_empty() or earlier.is_empty():
            return changes(None, self.catalogue, against, "no_previous_version")
        now_id, before_id = live["submission_id"][0], earlier["submission_id"][-1]
        facts = self.tables.read_facts(period.code, [now_id, before_id])
        own = h.subtree(unit)

        def rolled(sub: str) -> pl.DataFrame:
            return rollup(facts.filter(pl.col("submission_id") == sub), own, self.catalogue, period)

        made = compare(
            rolled(before_id),
            rolled(now_id),
            _same_units([unit]),
            self.catalogue,
            old=own,
            new=own,
            level=own.unit(unit).level,
            units=[unit],
        )
        return changes(made, self.catalogue, f"v{earlier['report_version'][-1]}", None)

    def _vs_last_year(self, h: Hierarchy, period: Period, unit: str) -> Changes:
        """The period's stored figures against the same period a year before (across a reform)."""
        last_year = Period(period.year - 1, period.type_id, period.index)
        try:
            made = compare_periods(
                self.tables,
                self.hierarchies,
                last_year,
                period,
                self.catalogue,
                level=h.unit(unit).level,
                root_unit=self.settings.root_unit,
                units=[unit],
            )
        except NoHierarchyError:
            return changes(None, self.catalogue, last_year.code, "no_hierarchy_last_year")
        except (ValueError, DvknError):
            # The unit's level did not exist then (no districts after the 2025 reform).
            return changes(None, self.catalogue, last_year.code, "not_comparable")
        if made.rows.filter(pl.col("from_value").is_not_null()).is_empty():
            return changes(None, self.catalogue, last_year.code, "no_figures_last_year")
        return changes(made, self.catalogue, last_year.code, None)

    def trend(
        self,
        unit: str,
        start: Period,
        end: Period,
        scope: str,
        indicator: str | None = None,
        reporter_level: str | None = None,
    ) -> UnitTrends:
        """Completeness of ``unit``'s reporters and one indicator per period, ``start`` to
        ``end``, and the same completeness for each unit just below it."""
        periods = period_range(start, end)
        self.check_scope(self.hierarchy(end), scope, unit)
        codes = [p.code for p in periods]
        comp = in_parallel(self.tables.read_completeness, codes)
        rollups = in_parallel(self.tables.read_rollup, codes) if indicator else {}
        made = unit_trend(unit, periods, comp, rollups, self.catalogue, indicator, reporter_level)
        h = self.hierarchy(end)
        below = level_trend(
            [(u.code, u.name) for u in h.children(unit)],
            periods,
            comp,
            h.version_id,
            made.reporter_level,
        )
        return UnitTrends(made, below)

    def export(self, period: Period, level: str, scope: str) -> ExportFiles:
        """The official export of ``level`` for ``period``, limited to the units within ``scope``."""
        h = self.hierarchy(period)
        self.check_scope(h, scope, scope)
        units = None
        if scope != self.settings.root_unit:
            units = [u.code for u in [h.unit(scope), *h.descendants(scope)] if u.level == level]
            if not units:
                raise StatusError(f"no {level} within {scope} in {h.version_id}")
        return export_report(self.tables, h, self.catalogue, period, level, units)


@dataclass(frozen=True)
class UnitTrends:
    """A unit's trend, and its children's % accepted over the same periods."""

    unit: Trend
    below: LevelTrend


def _same_units(codes: list[str]) -> pl.DataFrame:
    from dvkn_pipeline.reference.reform import PAIRS_SCHEMA

    return pl.DataFrame(
        {"old_code": codes, "new_code": codes, "whole": [True] * len(codes)}, schema=PAIRS_SCHEMA
    )
