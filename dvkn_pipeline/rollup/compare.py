"""Figures across a reform: each new unit beside the old units it was formed from.

After 1 July 2025 a commune's code names a different, merged unit than before,
so "2025-Q3 against 2025-Q1 for commune 00004" is meaningless by code alone.
:func:`compare` pairs the two periods' roll-ups through the reform's mapping
(:mod:`dvkn_pipeline.reference.reform`): for each new unit, its own figures ("to",
rolled up with the new hierarchy) next to the sum of the old units it was
formed from ("from", rolled up with the old hierarchy).

The sum is only exact where every old unit went *whole* into the new one.
Old units that were split have no official share, so they are never
apportioned: ``from_value`` sums the whole ones only, ``from_value_with_parts``
adds the split ones in full (an upper bound for counts and money), and
``comparable`` says which case a row is (``exact``, ``partial``, or
``unmapped`` for a new unit the mapping does not reach). Ratios are re-divided
from the summed numerator and denominator, never averaged. Statuses
(count-by-category) add up to "how many of the old communes were in each
category".

Pure: frames in, frames out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import polars as pl

from dvkn_pipeline.reference.catalogue import CATEGORY_COLUMN, Catalogue
from dvkn_pipeline.reference.hierarchy import COUNTRY, Hierarchy, HierarchyCatalog
from dvkn_pipeline.reference.levels import canonical_level
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.reference.reform import PAIRS_SCHEMA, mapping_between

EXACT, PARTIAL, UNMAPPED = "exact", "partial", "unmapped"

#: Columns of :attr:`Comparison.units`.
UNITS_SCHEMA: dict[str, pl.DataType] = {
    "new_code": pl.String(),
    "new_name": pl.String(),
    "comparable": pl.String(),
    "old_whole": pl.List(pl.String()),
    "old_partial": pl.List(pl.String()),
    "old_reporting": pl.Int64(),
    "new_reporting": pl.Boolean(),
}


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`; ``rows`` and ``units`` are plain frames."""

    from_period: str
    to_period: str
    level: str
    from_version: str
    to_version: str
    #: One row per new unit, indicator and breakdown: to_value beside from_value.
    rows: pl.DataFrame
    #: One row per new unit: which old units it was formed from, and how.
    units: pl.DataFrame
    #: Old units with figures in the "from" period that the mapping does not reach.
    unmapped_old: list[str]

    def records(self) -> dict[str, Any]:
        """JSON-ready: the units with their figures nested (what ``--json`` prints)."""
        by_unit: dict[str, list[dict[str, Any]]] = {}
        for r in self.rows.iter_rows(named=True):
            by_unit.setdefault(r["new_code"], []).append(
                {k: v for k, v in r.items() if k not in {"new_code", "comparable"}}
            )
        return {
            "from_period": self.from_period,
            "to_period": self.to_period,
            "level": self.level,
            "from_hierarchy": self.from_version,
            "to_hierarchy": self.to_version,
            "units": [
                {**u, "figures": by_unit.get(u["new_code"], [])}
                for u in self.units.iter_rows(named=True)
            ],
            "unmapped_old_units": self.unmapped_old,
        }


def compare(
    from_rollup: pl.DataFrame,
    to_rollup: pl.DataFrame,
    pairs: pl.DataFrame,
    catalogue: Catalogue,
    *,
    old: Hierarchy,
    new: Hierarchy,
    level: str,
    units: Iterable[str] | None = None,
    indicators: Iterable[str] | None = None,
    by_dimension: bool = False,
) -> Comparison:
    """Each new unit of ``level`` beside the sum of the old units it was formed from.

    ``from_rollup`` must be a roll-up made with ``old``, ``to_rollup`` one made
    with ``new`` (checked: unit codes of one version mean other units in the
    other), and ``pairs`` the mapping's pairs at ``level``
    (:meth:`dvkn_pipeline.reference.reform.UnitMapping.pairs_at`). ``units`` limits the
    result to some new units; ``indicators`` to some indicators. Figures are
    totals over the breakdowns (field, model level, holder), statuses stay per
    category; ``by_dimension`` keeps every breakdown instead.
    """
    _check_version(from_rollup, old, "from")
    _check_version(to_rollup, new, "to")
    wanted_units = sorted(set(units)) if units is not None else None
    listed = (
        [new.unit(c) for c in wanted_units] if wanted_units is not None else new.units_at(level)
    )
    for u in listed:
        if u.level != level:
            raise ValueError(f"unit {u.code} ({u.name}) is a {u.level}, not a {level}")
    codes = [u.code for u in listed]
    wanted_ind = list(indicators) if indicators is not None else None
    if wanted_ind is not None:
        unknown = sorted(set(wanted_ind) - set(catalogue.by_code))
        if unknown:
            raise ValueError(f"indicators {unknown} are not in catalogue {catalogue.version}")

    keys = ["indicator", *(catalogue.dimension_columns if by_dimension else (CATEGORY_COLUMN,))]
    ratios = {r.code: r.scale for r in catalogue.ratios}
    old_rows = _at_level(from_rollup, level, wanted_ind, keys, ratios)
    new_rows = _at_level(to_rollup, level, wanted_ind, keys, ratios).filter(
        pl.col("unit_code").is_in(codes)
    )
    mapped_old = set(pairs["old_code"].to_list())
    pairs = pairs.filter(pl.col("new_code").is_in(codes))

    whole = pl.col("whole")
    from_side = (
        old_rows.join(pairs, left_on="unit_code", right_on="old_code", how="inner")
        .group_by("new_code", *keys)
        .agg(
            _sum_if(whole, "value").alias("from_value"),
            _sum_if(whole, "numerator").alias("from_numerator"),
            _sum_if(whole, "denominator").alias("from_denominator"),
            pl.col("value").sum().alias("from_value_with_parts"),
            pl.col("numerator").sum().alias("_num_all"),
            pl.col("denominator").sum().alias("_den_all"),
        )
    )
    from_side = from_side.with_columns(
        _pick(_redivide("from_numerator", "from_denominator", ratios), "from_value", ratios),
        _pick(_redivide("_num_all", "_den_all", ratios), "from_value_with_parts", ratios),
    ).drop("_num_all", "_den_all")
    to_side = new_rows.select(
        pl.col("unit_code").alias("new_code"),
        *keys,
        pl.col("value").alias("to_value"),
        pl.col("numerator").alias("to_numerator"),
        pl.col("denominator").alias("to_denominator"),
    )
    info = _unit_info(listed, pairs, old_rows, new_rows)
    rows = (
        to_side.join(from_side, on=["new_code", *keys], how="full", coalesce=True, nulls_equal=True)
        .join(info.select("new_code", "new_name", "comparable"), on="new_code", how="left")
        .with_columns(
            pl.when(pl.col("comparable") == EXACT)
            .then(pl.col("to_value").fill_null(0) - pl.col("from_value").fill_null(0))
            .otherwise(None)
            .alias("change")
        )
        .select(
            "new_code",
            "new_name",
            *keys,
            "comparable",
            "to_value",
            "from_value",
            "from_value_with_parts",
            "change",
            "to_numerator",
            "to_denominator",
            "from_numerator",
            "from_denominator",
        )
        .sort("new_code", *keys, nulls_last=True)
    )
    unmapped_old = sorted(set(old_rows["unit_code"].to_list()) - mapped_old)
    return Comparison(
        from_period=_one(from_rollup, "period"),
        to_period=_one(to_rollup, "period"),
        level=level,
        from_version=old.version_id,
        to_version=new.version_id,
        rows=rows,
        units=info,
        unmapped_old=unmapped_old if wanted_units is None else [],
    )


# -- helpers -----------------------------------------------------------------------


def _check_version(frame: pl.DataFrame, h: Hierarchy, side: str) -> None:
    if frame.is_empty() or "hierarchy_version" not in frame.columns:
        return
    versions = set(frame["hierarchy_version"].unique().to_list())
    if versions != {h.version_id}:
        raise ValueError(
            f"the '{side}' roll-up was made with hierarchy {sorted(map(str, versions))}, "
            f"not {h.version_id}: its unit codes would name the wrong units"
        )


def _one(frame: pl.DataFrame, column: str) -> str:
    if frame.is_empty() or column not in frame.columns:
        return ""
    return str(frame[column][0])


def _at_level(
    frame: pl.DataFrame,
    level: str,
    indicators: list[str] | None,
    keys: list[str],
    ratios: dict[str, float],
) -> pl.DataFrame:
    """The level's rows, totalled over the breakdowns not in ``keys``."""
    cols = ["unit_code", *keys, "value", "numerator", "denominator"]
    if frame.is_empty():
        return pl.DataFrame(
            schema={c: pl.Float64() if c in cols[-3:] else pl.String() for c in cols}
        )
    rows = frame.filter(pl.col("unit_level") == level)
    if indicators is not None:
        rows = rows.filter(pl.col("indicator").is_in(indicators))
    is_ratio = pl.col("indicator").is_in(list(ratios))
    return (
        rows.group_by("unit_code", *keys)
        .agg(pl.col("value").sum(), pl.col("numerator").sum(), pl.col("denominator").sum())
        .with_columns(
            # A ratio's value is re-divided from its parts, never summed.
            pl.when(is_ratio).then(None).otherwise(pl.col("value")).alias("value"),
            pl.when(is_ratio).then(pl.col("numerator")).otherwise(None).alias("numerator"),
            pl.when(is_ratio).then(pl.col("denominator")).otherwise(None).alias("denominator"),
        )
        .with_columns(_pick(_redivide("numerator", "denominator", ratios), "value", ratios))
        .select(cols)
    )


def _sum_if(cond: pl.Expr, column: str) -> pl.Expr:
    """Sum over rows meeting ``cond``; null (not 0) when no such row has a value."""
    picked = pl.when(cond).then(pl.col(column))
    return pl.when(picked.count() > 0).then(picked.sum()).otherwise(None)


def _scale(ratios: dict[str, float]) -> pl.Expr:
    return pl.col("indicator").replace_strict(ratios, default=None, return_dtype=pl.Float64)


def _redivide(num: str, den: str, ratios: dict[str, float]) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den) * _scale(ratios)).otherwise(None)


def _pick(ratio: pl.Expr, value_col: str, ratios: dict[str, float]) -> pl.Expr:
    """A ratio's value re-divided from its parts; any other indicator's as it is."""
    return (
        pl.when(pl.col("indicator").is_in(list(ratios)))
        .then(ratio)
        .otherwise(pl.col(value_col))
        .alias(value_col)
    )


def _unit_info(
    listed: list[Any], pairs: pl.DataFrame, old_rows: pl.DataFrame, new_rows: pl.DataFrame
) -> pl.DataFrame:
    reporting_old = set(old_rows["unit_code"].to_list())
    reporting_new = set(new_rows["unit_code"].to_list())
    grouped: dict[str, tuple[list[str], list[str]]] = {}
    for old_code, new_code, whole in pairs.sort("old_code").iter_rows():
        w, p = grouped.setdefault(new_code, ([], []))
        (w if whole else p).append(old_code)
    out = []
    for u in listed:
        w, p = grouped.get(u.code, ([], []))
        comparable = UNMAPPED if not (w or p) else PARTIAL if p else EXACT
        out.append(
            {
                "new_code": u.code,
                "new_name": u.name,
                "comparable": comparable,
                "old_whole": w,
                "old_partial": p,
                "old_reporting": sum(c in reporting_old for c in (*w, *p)),
                "new_reporting": u.code in reporting_new,
            }
        )
    return pl.DataFrame(out, schema=UNITS_SCHEMA)


# -- across periods, reading the stored roll-ups ------------------------------------


class RollupReader(Protocol):
    """What :func:`compare_periods` needs of :class:`dvkn_pipeline.storage.tables.Tables`."""

    def read_rollup(self, period: str, as_of: datetime | None = None) -> pl.DataFrame: ...


def compare_periods(
    tables: RollupReader,
    hierarchies: HierarchyCatalog,
    from_period: Period,
    to_period: Period,
    catalogue: Catalogue,
    *,
    level: str = "commune",
    root_unit: str = COUNTRY,
    as_of: datetime | None = None,
    units: Iterable[str] | None = None,
    indicators: Iterable[str] | None = None,
    by_dimension: bool = False,
) -> Comparison:
    """:func:`compare` on the stored roll-ups of two periods, each with its own hierarchy.

    Each period is read with the hierarchy valid on its reference date (scoped
    to the installation's ``root_unit``); across a reform the units are paired
    through the shipped mapping, within one version each unit with itself.
    ``as_of`` reads both roll-ups as they stood at that moment.
    """
    level = canonical_level(level)
    old = hierarchies.for_date(from_period.reference_date).scope(root_unit)
    new = hierarchies.for_date(to_period.reference_date).scope(root_unit)
    for h in (old, new):
        if level not in h.levels:
            raise ValueError(
                f"cấp {level!r} không có trong danh mục {h.version_id} / level {level!r} is "
                f"not in hierarchy {h.version_id} (levels: {', '.join(h.levels)})"
            )
    if old.version_id == new.version_id:
        codes = [u.code for u in new.units_at(level)]
        pairs = pl.DataFrame(
            {"old_code": codes, "new_code": codes, "whole": [True] * len(codes)},
            schema=PAIRS_SCHEMA,
        )
    else:
        pairs = mapping_between(old.version_id, new.version_id).pairs_at(old, new, level)
    return compare(
        tables.read_rollup(from_period.code, as_of),
        tables.read_rollup(to_period.code, as_of),
        pairs,
        catalogue,
        old=old,
        new=new,
        level=level,
        units=units,
        indicators=indicators,
        by_dimension=by_dimension,
    )
