"""services/exports.py: which roll-up an export is built from (stored, or over time)."""

from __future__ import annotations

import polars as pl
import pytest

from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.temporal import TemporalError, temporal_rollup
from dvkn_pipeline.services.exports import period_rollup
from tests.unit.test_temporal import C1, CAT, MONTHS, Q1, fact, month_table


class FakeTables:
    """The three reads an export makes, over frames in memory."""

    def __init__(self, rollups: dict[str, pl.DataFrame]) -> None:
        self.rollups = rollups

    def rollup_periods(self) -> list[str]:
        return sorted(self.rollups)

    def read_rollup(self, period: str) -> pl.DataFrame:
        return self.rollups.get(period, month_table(Period.parse(period), []).clear())

    def read_completeness(self, period: str) -> pl.DataFrame:
        return pl.DataFrame({"period": [period], "unit_code": ["01"]})


def months() -> dict[str, pl.DataFrame]:
    return {
        p.code: month_table(p, [fact(p, C1, "MH_DANG_KY", i + 1, field="KT", level="CS")])
        for i, p in enumerate(MONTHS)
    }


def test_a_stored_roll_up_is_used_as_it_is() -> None:
    stored = month_table(Q1, [fact(Q1, C1, "MH_DANG_KY", 42, field="KT", level="CS")])
    found = period_rollup(FakeTables({**months(), Q1.code: stored}), Q1, CAT)
    assert found.sources == ()
    assert found.rollup.equals(stored)
    assert found.completeness["period"].to_list() == [Q1.code]


def test_a_quarter_nobody_reported_is_rolled_up_from_its_months() -> None:
    by_month = months()
    found = period_rollup(FakeTables(by_month), Q1, CAT)
    assert [p.code for p in found.sources] == [p.code for p in MONTHS]
    assert found.rollup.equals(temporal_rollup(by_month, Q1, CAT))
    assert found.completeness["period"].to_list() == [p.code for p in MONTHS]


def test_a_gap_in_the_months_is_a_domain_error_naming_it() -> None:
    by_month = months()
    del by_month["2025-M02"]
    with pytest.raises(TemporalError, match="M02"):
        period_rollup(FakeTables(by_month), Q1, CAT)
