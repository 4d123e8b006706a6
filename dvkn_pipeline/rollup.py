"""Roll figures up the administrative hierarchy, and say how complete they are.

Pure functions over frames. The engine knows no level names: a unit's figures
count towards every ancestor in the hierarchy's closure table, so it works for
three levels before the 2025 reform, two after it, or any other depth.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from dvkn_pipeline.catalogue import Catalogue
from dvkn_pipeline.hierarchy import Hierarchy
from dvkn_pipeline.periods import Period
from schemas.tables import COMPLETENESS_SCHEMA, rollup_schema


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
    facts: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
) -> pl.DataFrame:
    """Totals for every unit of ``hierarchy`` from the live facts of its subtree.

    ``facts`` must hold only live submissions of ``period``. Sums and category
    counts add up; ratios are re-divided from their summed numerator and
    denominator, never averaged.
    """
    dims = list(catalogue.dimension_columns)
    closure = hierarchy.closure_frame().select("unit_code", "ancestor_code", "ancestor_level")
    summed = (
        facts.filter(pl.col("period") == period.code)
        .join(closure, on="unit_code", how="inner")
        .group_by(["ancestor_code", "ancestor_level", "indicator", *dims])
        .agg(pl.col("value").sum())
        .rename({"ancestor_code": "unit_code", "ancestor_level": "unit_level"})
        .with_columns(
            pl.lit(None, dtype=pl.Float64).alias("numerator"),
            pl.lit(None, dtype=pl.Float64).alias("denominator"),
        )
    )
    parts = [summed]
    for ratio in catalogue.ratios:
        num = (
            summed.filter(pl.col("indicator") == ratio.numerator)
            .group_by("unit_code", "unit_level")
            .agg(pl.col("value").sum().alias("numerator"))
        )
        den = (
            summed.filter(pl.col("indicator") == ratio.denominator)
            .group_by("unit_code", "unit_level")
            .agg(pl.col("value").sum().alias("denominator"))
        )
        parts.append(
            num.join(den, on=["unit_code", "unit_level"], how="full", coalesce=True).select(
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
        )
    out = (
        pl.concat([p.select(summed.columns) for p in parts], how="vertical_relaxed")
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
        .sort(["unit_code", "indicator", *dims], nulls_last=True)
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
    reporting_levels = [lvl for lvl in hierarchy.levels if catalogue.reported_by(lvl)]
    units = hierarchy.units_frame().select("unit_code", "level")
    in_period = ledger.filter(pl.col("period") == period.code).join(
        units, on="unit_code", how="inner"
    )
    received = in_period.group_by("unit_code").agg(pl.len().alias("n_uploads"))
    accepted = (
        in_period.filter(pl.col("status") == "accepted")
        .group_by("unit_code")
        .agg(pl.col("received_at").min().alias("first_accepted"))
    )
    deadlines = pl.DataFrame(
        {
            "level": reporting_levels,
            "deadline": [_end_of_day(period, lvl) for lvl in reporting_levels],
        },
        schema={"level": pl.Utf8, "deadline": pl.Datetime("us", "UTC")},
    )
    per_unit = (
        units.filter(pl.col("level").is_in(reporting_levels))
        .join(received, on="unit_code", how="left")
        .join(accepted, on="unit_code", how="left")
        .join(deadlines, on="level", how="left")
        .select(
            "unit_code",
            pl.col("level").alias("reporter_level"),
            pl.col("n_uploads").is_not_null().alias("received"),
            pl.col("first_accepted").is_not_null().alias("accepted"),
            (pl.col("first_accepted") <= pl.col("deadline")).fill_null(False).alias("on_time"),
        )
    )
    closure = hierarchy.closure_frame().select("unit_code", "ancestor_code", "ancestor_level")
    out = (
        per_unit.join(closure, on="unit_code", how="inner")
        .group_by("ancestor_code", "ancestor_level", "reporter_level")
        .agg(
            pl.len().alias("expected"),
            pl.col("received").sum().alias("received"),
            pl.col("accepted").sum().alias("accepted"),
            pl.col("on_time").sum().alias("on_time"),
        )
        .with_columns(
            pl.col(c).cast(pl.Int64) for c in ("expected", "received", "accepted", "on_time")
        )
        .select(
            pl.lit(period.code).alias("period"),
            pl.col("ancestor_code").alias("unit_code"),
            pl.col("ancestor_level").alias("unit_level"),
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


def _end_of_day(period: Period, level: str) -> datetime:
    d = period.deadline(level)
    # Deadlines are Vietnamese calendar days (UTC+7); 23:59:59 local is 16:59:59 UTC.
    return datetime(d.year, d.month, d.day, 16, 59, 59, tzinfo=UTC)
