"""A unit across periods: completeness and one indicator per period."""

import polars as pl
import pytest

from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.trend import (
    Trend,
    TrendChart,
    TrendError,
    TrendPoint,
    nice_ticks,
    period_range,
    trend_chart,
    trend_png,
    unit_trend,
)

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


def chart_of(
    accepted: list[float | None], values: list[float | None], indicator: str | None = "MH_DANG_KY"
) -> TrendChart:
    points = tuple(
        TrendPoint(f"2025-M{i + 1:02d}", "", 10, 0, 0, 0, 0, a, a, v)
        for i, (a, v) in enumerate(zip(accepted, values, strict=True))
    )
    trend = Trend("001", "commune", indicator, "Số mô hình", "Models", points)
    return trend_chart(trend, "001 Ba Đình")


def inside(chart: TrendChart, x: float, y: float) -> bool:
    return 0 <= x <= chart.width and 0 <= y <= chart.height


def test_the_chart_places_every_point_inside_its_viewbox_in_period_order() -> None:
    chart = chart_of([0.0, 50.0, 100.0, 76.9], [2.0, 0.0, 1234.5, 10.0])
    accepted = chart.lines[0].points
    xs = [p.x for p in accepted]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert all(inside(chart, p.x, p.y) for line in chart.lines for p in line.points)
    assert all(
        inside(chart, b.x, b.y) and inside(chart, b.x + b.width, b.y + b.height) for b in chart.bars
    )
    assert all(chart.left <= t.at <= chart.right for t in chart.x_ticks)
    # Bars stand on the axis; the tallest value reaches no higher than the plot's top.
    assert all(b.y + b.height == pytest.approx(chart.bottom) for b in chart.bars)
    assert min(b.y for b in chart.bars) >= chart.top


def test_completeness_uses_a_0_to_100_axis_and_values_are_written_the_vietnamese_way() -> None:
    chart = chart_of([76.9, 40.0], [1234.5, 3.0])
    assert [t.label for t in chart.y_ticks] == ["0", "20", "40", "60", "80", "100"]
    full, empty = chart.y_ticks[-1].at, chart.y_ticks[0].at
    assert (full, empty) == (chart.top, chart.bottom)
    first = chart.lines[0].points[0]
    assert first.y == pytest.approx(chart.bottom - 0.769 * (chart.bottom - chart.top), abs=0.1)
    assert first.label == "2025-M01 · % đã nhận / accepted: 76,9 %"
    assert chart.bars[0].label.endswith(": 1.234,5")
    assert "1.500" in [t.label for t in chart.y2_ticks]


def test_indicator_ticks_cover_the_data_range() -> None:
    for top in (0.4, 3.0, 7.0, 13.0, 99.0, 1234.5, 2_852_000.0):
        ticks = nice_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and ticks[-2] < top
        assert 3 <= len(ticks) <= 7
    chart = chart_of([10.0, 20.0], [3.0, 17.0])
    # SVG's y runs down: the 0 tick sits on the axis, the highest tick at the plot's top,
    # and the tallest bar (17) between the two highest ticks (15, 20).
    assert (max(t.at for t in chart.y2_ticks), min(t.at for t in chart.y2_ticks)) == (
        chart.bottom,
        chart.top,
    )
    assert chart.y2_ticks[-2].at > min(b.y for b in chart.bars) > chart.top


def test_a_missing_period_leaves_a_gap_not_a_zero() -> None:
    chart = chart_of([50.0, None, 70.0, 80.0], [4.0, None, 0.0, 6.0])
    accepted = chart.lines[0]
    assert [len(seg) for seg in accepted.segments] == [1, 2]
    assert all("2025-M02" not in p.label for p in accepted.points)
    assert [b.label.split(" ·")[0] for b in chart.bars] == ["2025-M01", "2025-M03", "2025-M04"]
    assert chart.bars[1].height == 0  # a reported zero is a zero


def test_without_an_indicator_the_chart_has_no_second_axis() -> None:
    chart = chart_of([50.0, 60.0], [None, None], indicator=None)
    assert chart.bars == () and chart.y2_ticks == () and len(chart.legend) == 2
    assert chart.height > chart.legend[-1].y


def test_many_periods_label_every_kth_one() -> None:
    chart = chart_of([50.0] * 12, [1.0] * 12)
    labels = [t.label for t in chart.x_ticks]
    assert labels[0] == "2025-M01" and "" in labels and len(chart.x_ticks) == 12
