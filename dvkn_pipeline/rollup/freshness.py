"""Which roll-ups lag behind the ledger (a refresh lost to a crash, or still to come).

The ledger commit is the point of no return for an upload, but the roll-up
refresh comes after it: a worker killed in between leaves the upload recorded
and the roll-up stale, and no later event will name that upload again. So every
refresh ends by writing *marks*: for each unit of the period, how many uploads
the ledger held for it when the refresh read it. The ledger is append-only, so a
unit whose count has grown since its mark has uploads no roll-up has seen yet.
Counting (not timestamps) makes the check exact across workers with skewed
clocks and across concurrent commits: a commit that lands after a refresh read
the ledger always raises a count above its mark.

What is counted is judgements, not uploads: a reprocess or a steward's
override appends an upload's next attempt (numbered 0, 1, 2, ...), so a unit's
count is the sum of ``attempt + 1`` over its uploads' newest rows, and every
new judgement moves it. A judgement that moves an upload to another unit
lowers the old unit's count, so any difference from the mark (not only a rise)
means stale.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from schemas.tables import MARKS_SCHEMA


def upload_counts(ledger: pl.DataFrame) -> pl.DataFrame:
    """Uploads per period and unit (rows naming no unit or period cannot move a roll-up)."""
    judgements = (
        (pl.col("attempt").fill_null(0).cast(pl.Int64) + 1).sum()
        if "attempt" in ledger.columns
        else pl.len()
    )
    return (
        ledger.filter(pl.col("period").is_not_null() & pl.col("unit_code").is_not_null())
        .group_by("period", "unit_code")
        .agg(judgements.cast(pl.Int64).alias("uploads"))
    )


def marks_for(counts: pl.DataFrame, units: set[str] | None = None) -> pl.DataFrame:
    """The marks a refresh writes once its roll-up rows are committed."""
    if units is not None:
        counts = counts.filter(pl.col("unit_code").is_in(sorted(units)))
    return counts.with_columns(pl.lit(datetime.now(UTC)).alias("refreshed_at")).select(
        [pl.col(n).cast(t) for n, t in MARKS_SCHEMA.items()]
    )


def stale(counts: pl.DataFrame, marks: pl.DataFrame) -> dict[str, set[str]]:
    """Period -> units whose judgements differ from their mark (no mark, or no rows, count as zero)."""
    joined = counts.join(
        marks.select("period", "unit_code", pl.col("uploads").alias("marked")),
        on=["period", "unit_code"],
        how="full",
        coalesce=True,
    ).filter(pl.col("uploads").fill_null(0) != pl.col("marked").fill_null(0))
    out: dict[str, set[str]] = {}
    for period, unit in joined.select("period", "unit_code").iter_rows():
        out.setdefault(period, set()).add(unit)
    return out
