"""Roll figures up in time: months to a quarter, quarters (or halves) to a year.

The hierarchical roll-up (:mod:`dvkn_pipeline.rollup.spatial`) answers "what did all
communes of a district report for this period". Upper levels also need a
quarter or a year built from finer reports, and each aggregation kind needs
its own rule, or the figures mislead:

* ``sum`` (models, money, working days): flows, so the target period's figure
  is the sum over its source periods.
* ``count_by_category`` (a commune's new-rural standard), and any indicator
  the catalogue marks ``temporal: last`` (stocks such as the number of
  households): a state, so the target period takes the state at its end,
  i.e. the **last** source period's figures. Summing three months would count
  each commune or household three times.
* ``ratio`` (share of cultural families): re-divided from the numerator and
  denominator as rolled up in time (summed, or last for stocks), exactly as
  :func:`dvkn_pipeline.rollup.spatial.rollup` does across the hierarchy. Averaging
  the monthly percentages would weight a month with 10 households like a
  month with 10,000.

Missing data is never filled in or hidden:

* A source period must exist for every part of the target (``source_periods``
  and ``temporal_rollup`` refuse an incomplete tiling and name the missing
  periods). A source period whose table is empty (nobody reported) is fine:
  that is data, and the completeness frames show it.
* A unit absent from some source periods has its sums taken over the periods
  where it has figures ("sum what exists"), and its status is taken from the
  last source period only: a unit that did not report in the last period has
  no status for the target. The rule is the same at every level, so a
  district's category counts still equal the sum of its communes' rows.
  :func:`temporal_coverage` says, per unit and indicator, how many source
  periods carry figures and which are missing, so a total built from two
  months out of three is visible as such.

Pure functions: frames in, frames out; no object store, no Prefect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.periods import Period, load_calendar
from dvkn_pipeline.rollup.spatial import ratio_rows
from schemas.catalogue import Temporal
from schemas.tables import rollup_schema

__all__ = [
    "COVERAGE_SCHEMA",
    "TemporalError",
    "source_periods",
    "temporal_coverage",
    "temporal_rollup",
]

#: Columns of :func:`temporal_coverage`.
COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "unit_code": pl.String(),
    "unit_level": pl.String(),
    "indicator": pl.String(),
    "sources_expected": pl.Int64(),
    "sources": pl.Int64(),
    "missing_periods": pl.List(pl.String()),
    "last_period": pl.String(),
    "complete": pl.Boolean(),
}

_SOURCE = "_source_rank"


class TemporalError(DvknError, ValueError):
    """The source periods given do not make up the target period exactly once."""


# -- which periods make up a target ------------------------------------------------


def source_periods(target: Period, available: Iterable[Period]) -> list[Period]:
    """The finer periods of ``available`` that tile ``target`` exactly, in time order.

    A tiling covers every month of the target exactly once (``2025-M01..M03``
    for ``2025-Q1``; ``Q1..Q4``, ``H1 + H2`` or ``9M + Q4`` for the year).
    When several exist the coarsest one wins (fewest periods), because each
    coarser report was itself checked and accepted as a whole, and a quarter
    report can carry corrections its months do not. Ties are broken towards
    one period type (``H1 + H2`` over ``9M + Q4``), then towards even pieces.

    The target itself is never a source: when its own roll-up exists, use it.

    Raises :class:`TemporalError` (a ``ValueError``) naming the missing
    periods when the available ones leave a gap, or naming the overlap when
    they cover every month but only by overlapping.
    """
    target_months = target.months
    candidates = sorted(
        {
            p
            for p in available
            if p != target and target.contains(p) and p.ptype.months < target.ptype.months
        },
        key=lambda p: (p.months[0], -len(p.months)),
    )
    by_start: dict[tuple[int, int], list[Period]] = {}
    for p in candidates:
        by_start.setdefault(p.months[0], []).append(p)

    # Periods are runs of consecutive months, so a tiling is a path from the first
    # month to past the last; the search is over at most 12 positions.
    position = {m: i for i, m in enumerate(target_months)}
    best: dict[int, tuple[Period, ...] | None] = {len(target_months): ()}
    for i in range(len(target_months) - 1, -1, -1):
        options: list[tuple[Period, ...]] = []
        for p in by_start.get(target_months[i], []):
            end = position[p.months[-1]] + 1
            rest = best.get(end)
            if rest is not None:
                options.append((p, *rest))
        best[i] = min(options, key=_tiling_preference) if options else None

    found = best[0]
    if found is not None:
        return list(found)
    raise TemporalError(_missing_message(target, candidates))


def _tiling_preference(tiling: tuple[Period, ...]) -> tuple[int, int, int, tuple[str, ...]]:
    return (
        len(tiling),
        len({p.type_id for p in tiling}),
        -min(len(p.months) for p in tiling),
        tuple(p.code for p in tiling),
    )


def _missing_message(target: Period, candidates: list[Period]) -> str:
    covered = {m for p in candidates for m in p.months}
    uncovered = [m for m in target.months if m not in covered]
    have = ", ".join(p.code for p in candidates) or "none"
    if uncovered:
        missing = ", ".join(p.code for p in _name_gaps(target, uncovered))
        return (
            f"thiếu kỳ báo cáo {missing} để tổng hợp {target.label_vi} / "
            f"cannot roll up {target.code}: missing {missing} "
            f"(available finer periods: {have})"
        )
    return (
        f"các kỳ báo cáo chồng lấn nhau, không ghép đúng {target.label_vi} / "
        f"cannot roll up {target.code}: the available periods ({have}) overlap and no "
        "combination of them covers each month exactly once; add the periods that "
        "complete one of them (e.g. all months, or all quarters)"
    )


def _name_gaps(target: Period, months: list[tuple[int, int]]) -> list[Period]:
    """Name uncovered months with the coarsest finer periods that fit inside the gap.

    "missing 2025-Q3" says more to a steward than "missing M07, M08, M09".
    Only the regular partitions of a year (months, quarters, halves) name a
    gap: "missing 2025-9M, 2025-Q4" would read as a demand for those reports.
    """
    left = set(months)
    out: list[Period] = []
    types = [t for t in load_calendar().types if t.count > 1 and t.months < target.ptype.months]
    for ptype in sorted(types, key=lambda t: -t.months):
        for index in range(1, ptype.count + 1):
            p = Period(target.year, ptype.id, index)
            if set(p.months) <= left:
                out.append(p)
                left -= set(p.months)
    return sorted(out, key=lambda p: p.months[0])


# -- the roll-up in time -----------------------------------------------------------


def temporal_rollup(
    tables: Mapping[str, pl.DataFrame], target: Period, catalogue: Catalogue
) -> pl.DataFrame:
    """The roll-up of ``target`` built from the roll-ups of its source periods.

    ``tables`` maps source period codes (which must tile ``target`` exactly,
    see :func:`source_periods`) to frames of :func:`dvkn_pipeline.rollup.spatial.rollup`'s
    schema. The result has the same schema with ``period = target.code``, so
    it can be stored, explained and exported like any other roll-up.

    Each indicator follows its catalogue ``temporal`` rule: flows add up over
    the source periods, stocks and statuses (``last``) are those of the last
    source period; ratios are re-divided from their numerator and
    denominator as rolled up in time. A unit missing from some source periods contributes what it
    has (see the module docstring); call :func:`temporal_coverage` to show it.

    All source frames must come from one hierarchy version: across the July
    2025 reform commune codes were reused for different, merged communes, so
    adding them up by code would silently mix unrelated units.
    """
    periods = _check_sources(tables, target)
    dims = list(catalogue.dimension_columns)
    schema = rollup_schema(catalogue.dimension_columns)
    columns = list(schema.columns)
    ranked = [
        _as_rollup(tables[p.code], columns).with_columns(pl.lit(rank).alias(_SOURCE))
        for rank, p in enumerate(periods)
    ]
    rows = pl.concat(ranked, how="vertical_relaxed")
    versions = sorted(set(rows["hierarchy_version"].drop_nulls().to_list()))
    if len(versions) > 1:
        raise TemporalError(
            f"các kỳ nguồn dùng các danh mục đơn vị hành chính khác nhau / "
            f"cannot roll up {target.code} in time: source periods use hierarchy versions "
            f"{', '.join(versions)}; unit codes are not comparable across versions "
            "(roll up each version's periods separately, or map old units to new ones first)"
        )
    version = versions[0] if versions else ""

    kinds = {i.code: i.temporal_rule for i in catalogue.indicators}
    sum_codes = [c for c, k in kinds.items() if k is Temporal.SUM]
    status_codes = [c for c, k in kinds.items() if k is Temporal.LAST]
    unknown = set(rows["indicator"].unique().to_list()) - set(kinds)
    if unknown:
        raise TemporalError(
            f"cannot roll up {target.code}: indicators {sorted(unknown)} are not in "
            f"catalogue {catalogue.version}"
        )

    keys = ["unit_code", "unit_level", "indicator", *dims]
    summed = (
        rows.filter(pl.col("indicator").is_in(sum_codes)).group_by(keys).agg(pl.col("value").sum())
    )
    # The state at the end of the target: only the last source period counts.
    last = len(periods) - 1
    statuses = (
        rows.filter(pl.col("indicator").is_in(status_codes) & (pl.col(_SOURCE) == last))
        .group_by(keys)
        .agg(pl.col("value").sum())
    )
    base = pl.concat([summed, statuses], how="vertical_relaxed").with_columns(
        pl.lit(None, dtype=pl.Float64).alias("numerator"),
        pl.lit(None, dtype=pl.Float64).alias("denominator"),
    )
    parts = [base]
    for ratio in catalogue.ratios:
        parts.append(ratio_rows(base, ratio, dims))

    out = (
        pl.concat([p.select(base.columns) for p in parts], how="vertical_relaxed")
        .with_columns(
            pl.lit(target.code).alias("period"),
            pl.lit(version).alias("hierarchy_version"),
        )
        .select(columns)
        .sort(["unit_code", "indicator", *dims], nulls_last=True)
    )
    return schema.validate(out)


def temporal_coverage(tables: Mapping[str, pl.DataFrame], target: Period) -> pl.DataFrame:
    """Per unit and indicator: in how many of the target's source periods it has figures.

    The companion of :func:`temporal_rollup`: a quarterly total built from two
    months out of three looks like any other total, so this frame (columns
    :data:`COVERAGE_SCHEMA`) says ``sources`` of ``sources_expected``, names
    the ``missing_periods`` and the ``last_period`` with figures, and
    ``complete`` is true only when every source period has figures. It
    describes the roll-up frames; who was expected to report is the business
    of the completeness frames of each source period.
    """
    periods = _check_sources(tables, target)
    codes = [p.code for p in periods]
    frames = [
        _as_rollup(tables[c], ["unit_code", "unit_level", "indicator"]).with_columns(
            pl.lit(rank).alias(_SOURCE)
        )
        for rank, c in enumerate(codes)
    ]
    rows = pl.concat(frames, how="vertical_relaxed").unique()
    order = pl.DataFrame({_SOURCE: range(len(codes)), "source_period": codes})
    out = (
        rows.join(order, on=_SOURCE, how="left")
        .group_by("unit_code", "unit_level", "indicator")
        .agg(
            pl.col(_SOURCE).n_unique().cast(pl.Int64).alias("sources"),
            pl.col("source_period").sort_by(_SOURCE).alias("_present"),
        )
        .with_columns(
            pl.lit(target.code).alias("period"),
            pl.lit(len(codes), dtype=pl.Int64).alias("sources_expected"),
            pl.col("_present").list.last().alias("last_period"),
            pl.lit(codes, dtype=pl.List(pl.String))
            .list.set_difference(pl.col("_present"))
            .list.sort()
            .alias("missing_periods"),
        )
        .with_columns((pl.col("sources") == pl.col("sources_expected")).alias("complete"))
        .select(list(COVERAGE_SCHEMA))
        .sort("unit_code", "indicator")
    )
    return out.cast(COVERAGE_SCHEMA)  # type: ignore[arg-type]


# -- helpers -----------------------------------------------------------------------


def _check_sources(tables: Mapping[str, pl.DataFrame], target: Period) -> list[Period]:
    """Parse the keys and insist they tile ``target`` exactly; time-ordered."""
    given = [_parse(code) for code in tables]
    for code, p in zip(tables, given, strict=True):
        frame = tables[code]
        if "period" in frame.columns and frame.height:
            seen = set(frame["period"].unique().to_list())
            if seen != {p.code}:
                raise TemporalError(
                    f"the table given for {code} holds rows of periods {sorted(map(str, seen))}"
                )
    outside = [p.code for p in given if not target.contains(p) or p == target]
    if outside:
        raise TemporalError(
            f"cannot roll up {target.code}: {', '.join(outside)} "
            f"{'is' if len(outside) == 1 else 'are'} not a finer part of {target.code}"
        )
    tiling = source_periods(target, given)
    extra = sorted(set(given) - set(tiling))
    if extra:
        raise TemporalError(
            f"cannot roll up {target.code}: {', '.join(p.code for p in extra)} overlap the "
            f"periods {', '.join(p.code for p in tiling)}; give exactly one set of source "
            "periods (see source_periods)"
        )
    return tiling


@lru_cache(maxsize=256)
def _parse(code: str) -> Period:
    return Period.parse(code)


def _as_rollup(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The frame's ``columns``; an empty frame without columns (no table yet) is no rows."""
    if frame.is_empty() and not set(columns) <= set(frame.columns):
        return pl.DataFrame(schema={c: _dtype(c) for c in columns})
    return frame.select(columns)


def _dtype(column: str) -> pl.DataType:
    return pl.Float64() if column in {"value", "numerator", "denominator"} else pl.String()
