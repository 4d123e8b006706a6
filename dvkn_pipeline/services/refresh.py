"""Bring roll-ups up to date with the ledger: only the periods and units that changed.

Separate from the intake because it has its own rhythm (the drain loop batches
refreshes, a crashed run's stale periods are refreshed first) and its own
lock: one refresher per period at a time, whoever calls.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, HierarchyCatalog
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.freshness import marks_for, stale, upload_counts
from dvkn_pipeline.rollup.spatial import (
    affected_units,
    completeness,
    completeness_ancestors,
    live_submissions,
    rollup,
    rollup_ancestors,
    stored_children,
    units_to_read,
)
from dvkn_pipeline.services.ports import RollupTables
from dvkn_pipeline.storage import leases
from dvkn_pipeline.storage.leases import LeaseStore
from dvkn_pipeline.storage.tables import units_frame
from schemas.settings import Settings


@dataclass(frozen=True)
class Refresher:
    """Recomputes roll-up and completeness rows from the ledger and the live facts."""

    store: LeaseStore
    tables: RollupTables
    catalogue: Catalogue
    hierarchies: HierarchyCatalog
    settings: Settings
    #: Who holds this refresher's period leases (with the thread, see ``refresh_lock``).
    lease_owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    def refresh(self, periods: Iterable[str]) -> dict[str, pl.DataFrame]:
        """Bring the roll-up and completeness of each period up to date with the ledger.

        What to recompute comes from the ledger alone (see ``freshness``): the
        units with judgements no refresh has seen, including those of a worker
        that died between its ledger commit and its refresh. Not the units the
        caller's own batches touched: when two runs drain a burst, the other
        run's refresh has often covered them already, and recomputing them was
        a second full refresh of the period after a burst (~5,000 units) for
        nothing. Every judgement moves its unit's count, so nothing the ledger
        holds is missed. A few units recompute only their ancestors, each from
        its children's stored totals; many units, or a period with
        no roll-up yet, recompute the whole period. Returns each period's
        completeness rows for the units it rewrote (none if nothing was stale).
        """
        out: dict[str, pl.DataFrame] = {}
        for code in sorted(set(periods)):
            with self.refresh_lock(code):
                comp = self._refresh_period(code)
            if comp is not None:
                out[code] = comp
        return out

    @contextlib.contextmanager
    def refresh_lock(self, period: str) -> Iterator[None]:
        """One refresher per period at a time, whoever calls (flow, CLI, test worker).

        Two refreshes interleaving their writes could leave an older roll-up
        under newer marks; a lease on the object store orders them. A holder
        that dies frees the period when its lease expires. The owner is this
        refresher in this thread, so a refresh that failed with the store away (its
        release failing too) and is retried takes its own lease back at once
        instead of waiting ``refresh_lease_seconds`` for it to expire.
        """
        key = f"{self.settings.state_prefix}leases/refresh-{period}.json"
        owner = f"{self.lease_owner}-{threading.get_ident()}"
        ttl = timedelta(seconds=self.settings.refresh_lease_seconds)
        delay = 0.1
        while (lease := leases.acquire(self.store, key, owner, ttl)) is None:
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 2.0)
        try:
            yield
        finally:
            leases.release(self.store, lease)

    def _refresh_period(self, code: str) -> pl.DataFrame | None:
        period = Period.parse(code)
        hierarchy = self.hierarchies.for_date(period.reference_date).scope(self.settings.root_unit)
        ledger = self.tables.read_ledger(code)
        counts = upload_counts(ledger)
        marks = self.tables.read_marks(code)
        units = stale(counts, marks).get(code, set())
        current = self.tables.read_completeness(code)
        if not units and not current.is_empty():
            return None
        if (
            units
            and not current.is_empty()
            and not marks.is_empty()
            and len(units) <= self.settings.incremental_max_units
        ):
            comp = self._refresh_ancestors(units, hierarchy, period, current, ledger)
            self.tables.write_marks(code, marks_for(counts, units), sorted(units))
            return comp
        live = live_submissions(ledger, code)
        facts = self.tables.scan_facts(code, live["submission_id"].to_list())
        table = rollup(facts, hierarchy, self.catalogue, period)
        comp = completeness(ledger, hierarchy, self.catalogue, period)
        self.tables.write_units(units_frame(hierarchy))  # the names the codes join to
        self.tables.replace_period("rollup", code, table)
        self.tables.replace_period("completeness", code, comp)
        self.tables.write_marks(code, marks_for(counts), None)  # last: the commit point
        return comp

    def stale_periods(self) -> dict[str, set[str]]:
        """Periods whose roll-up misses some recorded uploads, with the units concerned."""
        return stale(upload_counts(self.tables.read_ledger()), self.tables.read_marks())

    def _refresh_ancestors(
        self,
        units: set[str],
        hierarchy: Hierarchy,
        period: Period,
        current: pl.DataFrame,
        period_ledger: pl.DataFrame,
    ) -> pl.DataFrame:
        code = period.code
        affected = affected_units(units, hierarchy)
        needed = units_to_read(affected, hierarchy)
        leaves = sorted(u for u in units if u in hierarchy and not hierarchy.children(u))
        ledger = period_ledger.filter(pl.col("unit_code").is_in([*needed, *leaves]))
        live = live_submissions(ledger, code)
        facts = self.tables.read_facts(code, live["submission_id"].to_list())
        stored = self.tables.read_rollup_units(code, stored_children(affected, hierarchy))
        table = pl.concat(
            [
                rollup_ancestors(units, hierarchy, self.catalogue, period, facts, stored),
                # A changed commune's own row is its own facts.
                rollup(
                    facts.filter(pl.col("unit_code").is_in(leaves)),
                    hierarchy,
                    self.catalogue,
                    period,
                ).filter(pl.col("unit_code").is_in(leaves)),
            ]
        )
        comp = pl.concat(
            [
                completeness_ancestors(units, hierarchy, self.catalogue, period, ledger, current),
                completeness(
                    ledger.filter(pl.col("unit_code").is_in(leaves)),
                    hierarchy,
                    self.catalogue,
                    period,
                ).filter(pl.col("unit_code").is_in(leaves)),
            ]
        )
        rewritten = sorted({u.code for u in affected} | set(leaves))
        self.tables.replace_units("rollup", code, rewritten, table)
        self.tables.replace_units("completeness", code, rewritten, comp)
        return comp
