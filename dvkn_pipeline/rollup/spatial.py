"""Roll figures up the administrative hierarchy, and say how complete they are.

Pure functions over frames. The engine knows no level names: a unit's figures
count towards every ancestor in the hierarchy's closure table, so it works for
three levels before the 2025 reform, two after it, or any other depth.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, Unit
from dvkn_pipeline.reference.periods import Period
from schemas.catalogue import Indicator
from schemas.tables import COMPLETENESS_SCHEMA, rollup_schema

#: Roll-up sums are rounded to this many decimals. Float sums depend on the order
#: of their terms, and an incremental refresh (a unit's new figures plus its
#: siblings' stored totals) adds in another order than a full recomputation, so
#: unrounded they differ in the last bit (21294.100000000002 against 21294.1)
#: and a retried or resumed run would not leave the same table as a clean one.
#: Report figures carry far fewer decimals, so nothing real is lost.
ROLLUP_DECIMALS = 6
#: Beyond this magnitude rounding to ``ROLLUP_DECIMALS`` would itself move the
#: value (polars scales by 10**decimals, past 2**53), so larger sums are left as
#: they are: there a float holds no sixth decimal anyway, and whole numbers
#: (money in VND) add exactly up to 2**53.
_ROUNDABLE = 2**53 / 10**ROLLUP_DECIMALS


def settled(column: pl.Expr) -> pl.Expr:
    """A summed column rounded to ``ROLLUP_DECIMALS`` where that is exact (see there)."""
    return pl.when(column.abs() < _ROUNDABLE).then(column.round(ROLLUP_DECIMALS)).otherwise(column)


def live_submissions(ledger: pl.DataFrame, period: str) -> pl.DataFrame:
    """The accepted submission that counts for each unit: highest version, then latest upload.

    Derived from the ledger every time rather than stored, so the answer does not
    depend on the order in which files were processed or on retries.
    """
    return (
        ledger.filter((pl.col("period") == period) & (pl.col("status") == "accepted"))
        .sort(["unit_code", "report_version", "received_at", "key"])
        .group_by("unit_code", maintain_order=True)
        .last()
        .select("unit_code", "submission_id", "report_version", "received_at", "key")
    )


def rollup(
    facts: pl.DataFrame | pl.LazyFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
) -> pl.DataFrame:
    """Totals for every unit of ``hierarchy`` from the live facts of its subtree.

    ``facts`` must hold only live submissions of ``period``; a LazyFrame is
    streamed (a full refresh never holds them all). Sums and category
    counts add up; ratios are re-divided from their summed numerator and
    denominator, never averaged.
    """
    dims = list(catalogue.dimension_columns)
    closure = hierarchy.closure_frame().select("unit_code", "ancestor_code", "ancestor_level")
    # Streaming: the join gives each fact row once per ancestor (four times a commune's
    # rows); summed as it streams, that product is never held whole. Eager, a full
    # refresh of 10,051 communes took 380 MiB more at its peak; streaming 220 MiB.
    summed = (
        facts.lazy()
        .filter(pl.col("period") == period.code)
        .join(closure.lazy(), on="unit_code", how="inner")
        .group_by(["ancestor_code", "ancestor_level", "indicator", *dims])
        .agg(pl.col("value").sum())
        .rename({"ancestor_code": "unit_code", "ancestor_level": "unit_level"})
        .collect(engine="streaming")
    )
    return _finish(summed, hierarchy, catalogue, period)


def ratio_rows(summed: pl.DataFrame, ratio: Indicator, dims: list[str]) -> pl.DataFrame:
    """A ratio's rows, re-divided from its numerator and denominator as summed in ``summed``.

    Never averaged, and computed from the same sums printed beside it, so a
    ratio cannot disagree with its parts (over units here, over time in ``temporal``).
    """
    num = (
        summed.filter(pl.col("indicator") == ratio.numerator)
        .group_by("unit_code", "unit_level")
        .agg(settled(pl.col("value").sum()).alias("numerator"))
    )
    den = (
        summed.filter(pl.col("indicator") == ratio.denominator)
        .group_by("unit_code", "unit_level")
        .agg(settled(pl.col("value").sum()).alias("denominator"))
    )
    return num.join(den, on=["unit_code", "unit_level"], how="full", coalesce=True).select(
        "unit_code",
        "unit_level",
        pl.lit(ratio.code).alias("indicator"),
        *[pl.lit(None, dtype=pl.Utf8).alias(d) for d in dims],
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator") * ratio.scale)
        .otherwise(None)
        .alias("value"),
        "numerator",
        "denominator",
    )


def _finish(
    summed: pl.DataFrame, hierarchy: Hierarchy, catalogue: Catalogue, period: Period
) -> pl.DataFrame:
    """Add the ratio rows (re-divided from summed parts) and the table's columns."""
    dims = list(catalogue.dimension_columns)
    summed = summed.with_columns(
        settled(pl.col("value")),
        pl.lit(None, dtype=pl.Float64).alias("numerator"),
        pl.lit(None, dtype=pl.Float64).alias("denominator"),
    ).select("unit_code", "unit_level", "indicator", *dims, "value", "numerator", "denominator")
    parts = [summed, *(ratio_rows(summed, ratio, dims) for ratio in catalogue.ratios)]
    rows = pl.concat([p.select(summed.columns) for p in parts], how="vertical_relaxed")
    # Sorted by gathering on the sort order, not with ``DataFrame.sort``: the same rows in
    # the same order, but a full refresh's ~290,000 rows peaked at ~80 MiB more that way
    # against ~44 MiB (measured), and that peak was the workers' highest in a burst.
    order = rows.select(pl.arg_sort_by(["unit_code", "indicator", *dims], nulls_last=True))
    out = (
        rows[order.to_series()]
        .with_columns(
            pl.lit(period.code).alias("period"),
            pl.lit(hierarchy.version_id).alias("hierarchy_version"),
        )
        .select(
            "period",
            "unit_code",
            "unit_level",
            "indicator",
            *dims,
            "value",
            "numerator",
            "denominator",
            "hierarchy_version",
        )
    )
    return rollup_schema(catalogue.dimension_columns).validate(out)


def completeness(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
) -> pl.DataFrame:
    """Per aggregating unit and reporting level: expected, received, accepted, on time, late.

    Only units of this period's hierarchy are expected and a unit counts once
    however many files it sent, so no figure exceeds 100%. Timeliness is judged
    on a unit's first accepted upload against its level's deadline.
    """
    per_unit = _unit_statuses(ledger, hierarchy, catalogue, period)
    closure = hierarchy.closure_frame().select("unit_code", "ancestor_code", "ancestor_level")
    counts = (
        per_unit.join(closure, on="unit_code", how="inner")
        .group_by("ancestor_code", "ancestor_level", "reporter_level")
        .agg(pl.col(c).sum() for c in _COUNTS)
        .rename({"ancestor_code": "unit_code", "ancestor_level": "unit_level"})
    )
    return _finish_completeness(counts, hierarchy, period)


_COUNTS = ("expected", "received", "accepted", "on_time")


def unit_reports(
    ledger: pl.DataFrame, hierarchy: Hierarchy, catalogue: Catalogue, period: Period
) -> pl.DataFrame:
    """One row per expected reporting unit: its uploads, first accepted upload and deadline.

    The one place timeliness is judged (``on_time``: first accepted upload by
    the end of the deadline day of the unit's level), shared by the stored
    completeness table and the steward's status view. Uploads of units outside
    the hierarchy are not expected and do not appear.
    """
    reporting_levels = [lvl for lvl in hierarchy.levels if catalogue.reported_by(lvl)]
    units = hierarchy.units_frame().select("unit_code", "level")
    in_period = ledger.filter(pl.col("period") == period.code).join(
        units, on="unit_code", how="inner"
    )
    received = in_period.group_by("unit_code").agg(pl.len().alias("n_uploads"))
    accepted = (
        in_period.filter(pl.col("status") == "accepted")
        .group_by("unit_code")
        .agg(
            pl.col("received_at").min().alias("first_accepted"),
            pl.col("submission_id").n_unique().alias("n_accepted"),
        )
    )
    deadlines = pl.DataFrame(
        {
            "level": reporting_levels,
            "deadline": [deadline_at(period, lvl) for lvl in reporting_levels],
        },
        schema={"level": pl.Utf8, "deadline": pl.Datetime("us", "UTC")},
    )
    return (
        units.filter(pl.col("level").is_in(reporting_levels))
        .join(received, on="unit_code", how="left")
        .join(accepted, on="unit_code", how="left")
        .join(deadlines, on="level", how="left")
        .select(
            "unit_code",
            pl.col("level").alias("reporter_level"),
            pl.col("n_uploads").fill_null(0).cast(pl.Int64),
            pl.col("n_accepted").fill_null(0).cast(pl.Int64),
            "first_accepted",
            "deadline",
            (pl.col("first_accepted") <= pl.col("deadline")).fill_null(False).alias("on_time"),
        )
    )


def _unit_statuses(
    ledger: pl.DataFrame, hierarchy: Hierarchy, catalogue: Catalogue, period: Period
) -> pl.DataFrame:
    """One row per reporting unit: expected 1, received/accepted/on time as 0 or 1."""
    return unit_reports(ledger, hierarchy, catalogue, period).select(
        "unit_code",
        "reporter_level",
        pl.lit(1, dtype=pl.Int64).alias("expected"),
        (pl.col("n_uploads") > 0).cast(pl.Int64).alias("received"),
        (pl.col("n_accepted") > 0).cast(pl.Int64).alias("accepted"),
        pl.col("on_time").cast(pl.Int64),
    )


def _finish_completeness(
    counts: pl.DataFrame, hierarchy: Hierarchy, period: Period
) -> pl.DataFrame:
    out = (
        counts.with_columns(pl.col(c).cast(pl.Int64) for c in _COUNTS)
        .select(
            pl.lit(period.code).alias("period"),
            "unit_code",
            "unit_level",
            "reporter_level",
            "expected",
            "received",
            "accepted",
            (pl.col("received") - pl.col("accepted")).alias("rejected"),
            (pl.col("expected") - pl.col("received")).alias("missing"),
            "on_time",
            (pl.col("accepted") - pl.col("on_time")).alias("late"),
            pl.lit(hierarchy.version_id).alias("hierarchy_version"),
        )
        .sort("unit_code", "reporter_level")
    )
    return COMPLETENESS_SCHEMA.validate(out)


def completeness_ancestors(
    changed: set[str],
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    ledger: pl.DataFrame,
    current: pl.DataFrame,
) -> pl.DataFrame:
    """New completeness rows of the aggregating units a change can move.

    ``ledger`` needs only the rows of :func:`units_to_read`; ``current`` the
    stored completeness rows of the period.
    """
    affected = affected_units(changed, hierarchy)
    needed = set(units_to_read(affected, hierarchy))
    statuses = _unit_statuses(ledger, hierarchy, catalogue, period).filter(
        pl.col("unit_code").is_in(sorted(needed))
    )
    counts = _bottom_up(affected, hierarchy, statuses, current, ["reporter_level"], list(_COUNTS))
    if counts.is_empty():
        counts = pl.DataFrame(
            schema={"unit_code": pl.Utf8, "unit_level": pl.Utf8, "reporter_level": pl.Utf8}
            | dict.fromkeys(_COUNTS, pl.Int64)
        )
    return _finish_completeness(counts, hierarchy, period)


def deadline_at(period: Period, level: str) -> datetime:
    """The last instant a report of ``level`` units for ``period`` is on time."""
    return period.deadline_instant(level)


# -- incremental: a late or corrected report recomputes only its ancestors ------------


def affected_units(changed: set[str], hierarchy: Hierarchy) -> list[Unit]:
    """The aggregating units whose figures a change in ``changed`` can move, deepest first."""
    out: dict[str, Unit] = {}
    for code in changed:
        unit = hierarchy.get(code)
        if unit is None:
            continue
        if hierarchy.children(code):
            out[code] = unit
        for a in hierarchy.ancestors(code):
            out[a.code] = a
    depth = {lvl: i for i, lvl in enumerate(hierarchy.levels)}
    return sorted(out.values(), key=lambda u: (-depth[u.level], u.code))


def units_to_read(affected: list[Unit], hierarchy: Hierarchy) -> list[str]:
    """Whose own figures the recomputation needs: the affected units and their leaf children."""
    codes = {u.code for u in affected}
    for u in affected:
        codes |= {c.code for c in hierarchy.children(u.code) if not hierarchy.children(c.code)}
    return sorted(codes)


def stored_children(affected: list[Unit], hierarchy: Hierarchy) -> list[str]:
    """Whose stored roll-up rows the recomputation needs: the affected units' aggregating
    children that are not affected themselves (their totals do not move).

    A refresh reads only these from the roll-up table: reading the whole period's
    roll-up (some 280,000 rows) for a handful of late uploads cost a worker ~60 MiB
    at its peak (measured on a Delta table of that size; 40 units cost ~5 MiB).
    """
    moved = {u.code for u in affected}
    return sorted(
        c.code
        for u in affected
        for c in hierarchy.children(u.code)
        if hierarchy.children(c.code) and c.code not in moved
    )


def _bottom_up(
    affected: list[Unit],
    hierarchy: Hierarchy,
    own: pl.DataFrame,
    current: pl.DataFrame,
    keys: list[str],
    values: list[str],
) -> pl.DataFrame:
    """Each affected unit = its own rows + its leaf children's rows + its other children's totals.

    Children that are themselves affected use their new totals, the others the
    totals already stored, so the work is the fan-out along one path up the
    tree, whatever the number of units elsewhere.
    """
    new: dict[str, pl.DataFrame] = {}
    for unit in affected:
        kids = hierarchy.children(unit.code)
        leaves = [k.code for k in kids if not hierarchy.children(k.code)]
        inner = [k.code for k in kids if hierarchy.children(k.code)]
        parts = [own.filter(pl.col("unit_code").is_in([unit.code, *leaves])).select(*keys, *values)]
        parts += [new[k].select(*keys, *values) for k in inner if k in new]
        stored = [k for k in inner if k not in new]
        if stored and not current.is_empty():
            parts.append(current.filter(pl.col("unit_code").is_in(stored)).select(*keys, *values))
        rows = (
            pl.concat(parts, how="vertical_relaxed")
            .group_by(keys)
            .agg(pl.col(v).sum() for v in values)
            .with_columns(
                pl.lit(unit.code).alias("unit_code"), pl.lit(unit.level).alias("unit_level")
            )
        )
        new[unit.code] = rows
    if not new:
        return pl.DataFrame()
    return pl.concat(list(new.values()), how="vertical_relaxed")


def rollup_ancestors(
    changed: set[str],
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    facts: pl.DataFrame,
    current: pl.DataFrame,
) -> pl.DataFrame:
    """New roll-up rows of the aggregating units a change can move.

    ``facts``: live facts of :func:`units_to_read`; ``current``: the stored
    roll-up rows of at least :func:`stored_children` (only their totals are used).
    """
    affected = affected_units(changed, hierarchy)
    dims = list(catalogue.dimension_columns)
    ratio_codes = [r.code for r in catalogue.ratios]
    stored = current.filter(~pl.col("indicator").is_in(ratio_codes)) if current.height else current
    summed = _bottom_up(
        affected,
        hierarchy,
        facts.filter(pl.col("period") == period.code),
        stored,
        ["indicator", *dims],
        ["value"],
    )
    if summed.is_empty():
        return rollup(facts.clear(), hierarchy, catalogue, period)
    return _finish(summed, hierarchy, catalogue, period)


# -- an aggregating unit's own report, as a row beside its children ------------------


def own_reports(table: pl.DataFrame, hierarchy: Hierarchy, catalogue: Catalogue) -> pl.DataFrame:
    """The figures each aggregating unit reported itself: unit_code, indicator,
    the dimension columns, value, numerator, denominator.

    A unit's roll-up is its own report plus its children's roll-ups, so its own
    part is its total less its children's totals (per indicator and breakdown).
    That is the row an export shows as "the city's own report", so that the
    rows above a total add up to it. Ratios are re-divided from the own
    numerator and denominator, never subtracted. A unit without any own
    figure (it did not report) has no rows: its cells stay blank, not 0.
    Leaf units have no children and are not in the result.
    """
    dims = list(catalogue.dimension_columns)
    keys = ["indicator", *dims]
    columns = ["unit_code", *keys, "value", "numerator", "denominator"]
    aggregating = sorted({u.parent_code for u in hierarchy if u.parent_code is not None})
    if table.is_empty():
        return pl.DataFrame(
            schema={c: pl.Float64 if c in columns[-3:] else pl.Utf8 for c in columns}
        )
    ratio_codes = [r.code for r in catalogue.ratios]
    sums = table.filter(~pl.col("indicator").is_in(ratio_codes)).select("unit_code", *keys, "value")
    links = (
        hierarchy.units_frame()
        .select("unit_code", pl.col("parent_code").alias("parent"))
        .filter(pl.col("parent").is_not_null())
    )
    kids = (
        sums.join(links, on="unit_code", how="inner")
        .group_by("parent", *keys)
        .agg(pl.col("value").sum().alias("children"))
        .rename({"parent": "unit_code"})
    )
    own = (
        sums.filter(pl.col("unit_code").is_in(aggregating))
        .join(kids, on=["unit_code", *keys], how="left", nulls_equal=True)
        .with_columns(settled(pl.col("value") - pl.col("children").fill_null(0.0)))
        .drop("children")
    )
    # A unit that reported nothing of its own has only zero differences: no rows.
    reporting = own.group_by("unit_code").agg((pl.col("value") != 0).any().alias("any"))
    own = own.join(reporting.filter("any").select("unit_code"), on="unit_code", how="semi")
    summed = own.with_columns(pl.lit("").alias("unit_level"))
    ratios = [
        ratio_rows(summed, ratio, dims).filter(
            pl.col("numerator").is_not_null() | pl.col("denominator").is_not_null()
        )
        for ratio in catalogue.ratios
    ]
    own = own.with_columns(
        pl.lit(None, dtype=pl.Float64).alias("numerator"),
        pl.lit(None, dtype=pl.Float64).alias("denominator"),
    )
    return pl.concat([p.select(columns) for p in [own, *ratios]], how="vertical_relaxed").sort(
        ["unit_code", *keys], nulls_last=True
    )
