"""A unit across periods: completeness and one indicator per period."""

import polars as pl
import pytest

from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.trend import TrendError, period_range, trend_png, unit_trend

CAT = load_catalogue()


def comp(expected: int, accepted: int, on_time: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unit_code": ["001", "001"],
            "reporter_level": ["commune", "district"],
            "expected": [expected, 1],
            "accepted": [accepted, 1],
            "on_time": [on_time, 1],
            "late": [accepted - on_time, 0],
            "missing": [expected - accepted, 0],
        }
    )


def test_period_range_spans_years_and_refuses_mixed_kinds() -> None:
    got = period_range(Period.parse("2024-Q3"), Period.parse("2025-Q2"))
    assert [p.code for p in got] == ["2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2"]
    with pytest.raises(TrendError):
        period_range(Period.parse("2025-Q1"), Period.parse("2025-M03"))
    with pytest.raises(TrendError):
        period_range(Period.parse("2025-Q2"), Period.parse("2025-Q1"))


def test_a_trend_shows_completeness_and_the_indicator_per_period() -> None:
    periods = period_range(Period.parse("2024-Q4"), Period.parse("2025-Q2"))
    rollup = pl.DataFrame(
        {
            "unit_code": ["001", "001"],
            "indicator": ["MH_DANG_KY", "MH_DANG_KY"],
            "value": [4.0, 6.0],
        }
    )
    trend = unit_trend(
        "001",
        periods,
        {"2024-Q4": comp(13, 10, 5), "2025-Q1": comp(13, 13, 13)},
        {"2025-Q1": rollup},
        CAT,
        "MH_DANG_KY",
    )
    assert trend.reporter_level == "commune"
    q4, q1, q2 = trend.points
    assert (q4.pct_accepted, q4.pct_on_time) == (76.9, 38.5)
    assert (q1.pct_accepted, q1.value) == (100.0, 10.0)
    assert (q2.expected, q2.pct_accepted, q2.value) == (0, None, None)  # nothing stored yet
    assert trend.to_json()["points"][1]["value"] == 10.0  # type: ignore[index]
    assert trend_png(trend, "001")[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TrendError):
        unit_trend("001", periods, {}, {}, CAT, "NO_SUCH")
