"""Stale roll-ups are found from the ledger alone, whatever the clocks say."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from dvkn_pipeline.rollup.freshness import marks_for, stale, upload_counts
from schemas.tables import empty_marks


def _ledger(rows: list[tuple[str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"period": [p for p, _ in rows], "unit_code": [u for _, u in rows]},
        schema={"period": pl.Utf8, "unit_code": pl.Utf8},
    )


def test_without_marks_every_reported_unit_is_stale_and_unreadable_rows_are_ignored() -> None:
    counts = upload_counts(_ledger([("2025-Q1", "00004"), ("2025-Q1", "00007"), (None, None)]))
    assert stale(counts, empty_marks()) == {"2025-Q1": {"00004", "00007"}}


def test_a_refresh_marks_what_it_read_and_a_later_upload_makes_only_its_unit_stale() -> None:
    ledger = _ledger([("2025-Q1", "00004"), ("2025-Q1", "00007"), ("2025-Q2", "00004")])
    marks = marks_for(upload_counts(ledger))
    assert stale(upload_counts(ledger), marks) == {}
    later = pl.concat([ledger, _ledger([("2025-Q1", "00007")])])
    assert stale(upload_counts(later), marks) == {"2025-Q1": {"00007"}}


def test_an_incremental_mark_covers_only_the_units_it_recomputed() -> None:
    ledger = _ledger([("2025-Q1", "00004"), ("2025-Q1", "00007")])
    partial = marks_for(upload_counts(ledger), {"00004"})
    assert partial["unit_code"].to_list() == ["00004"]
    assert partial["refreshed_at"].dtype == pl.Datetime("us", "UTC")
    assert partial["refreshed_at"][0] <= datetime.now(UTC)
    assert stale(upload_counts(ledger), partial) == {"2025-Q1": {"00007"}}
