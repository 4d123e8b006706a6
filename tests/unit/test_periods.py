from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dvkn_pipeline.reference.periods import Period, PeriodError, load_calendar, periods_of_year


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2025-Q1", "2025-Q1"),
        ("Quý I/2025", "2025-Q1"),
        ("quý IV năm 2024", "2024-Q4"),
        ("Q3/2025", "2025-Q3"),
        ("2025-M03", "2025-M03"),
        ("Tháng 3/2025", "2025-M03"),
        ("03/2025", "2025-M03"),
        ("2025-03", "2025-M03"),
        ("6 tháng đầu năm 2025", "2025-H1"),
        ("6 tháng cuối năm 2025", "2025-H2"),
        ("9 tháng năm 2025", "2025-9M"),
        ("Năm 2025", "2025-Y"),
        ("2025", "2025-Y"),
    ],
)
def test_forms_people_write_parse_to_one_canonical_period(text: str, code: str) -> None:
    assert Period.parse(text).code == code


@pytest.mark.parametrize("text", ["2025-Q5", "Tháng 13/2025", "next quarter", "", "2025-M00"])
def test_nonsense_periods_are_refused_with_a_bilingual_message(text: str) -> None:
    with pytest.raises(PeriodError, match=r"unknown period|index must be"):
        Period.parse(text)


def test_monthly_window_runs_from_the_15th_of_the_previous_month_to_the_14th() -> None:
    assert Period.parse("2025-M03").window == (date(2025, 2, 15), date(2025, 3, 14))


def test_january_window_starts_in_the_previous_year() -> None:
    assert Period.parse("2025-M01").window == (date(2024, 12, 15), date(2025, 1, 14))


def test_quarter_and_year_windows_follow_decree_09() -> None:
    assert Period.parse("2025-Q1").window == (date(2024, 12, 15), date(2025, 3, 14))
    assert Period.parse("2025-Q3").window == (date(2025, 6, 15), date(2025, 9, 14))
    assert Period.parse("2025-Y").window == (date(2024, 12, 15), date(2025, 12, 14))
    assert Period.parse("2025-9M").window == (date(2024, 12, 15), date(2025, 9, 14))


def test_communes_are_due_before_their_district_and_district_before_the_city() -> None:
    p = Period.parse("2025-Q2")
    assert p.deadline("commune") < p.deadline("district") < p.deadline("province")
    assert p.deadline("commune") > p.window[1]


def test_a_quarter_contains_its_months_but_not_the_next_one() -> None:
    q1 = Period.parse("2025-Q1")
    assert all(q1.contains(m) for m in periods_of_year(2025, "month")[:3])
    assert not q1.contains(Period.parse("2025-M04"))
    assert Period.parse("2025-Y").contains(q1)


def test_every_period_type_of_the_calendar_round_trips_through_its_code() -> None:
    for ptype in load_calendar().types:
        for p in periods_of_year(2025, ptype.id):
            assert Period.parse(p.code) == p
            assert Period.parse(p.label_vi) == p


@given(year=st.integers(2000, 2100), month=st.integers(1, 12))
def test_month_windows_tile_the_year_without_gaps(year: int, month: int) -> None:
    p = Period(year, "month", month)
    nxt = Period(year, "month", month + 1) if month < 12 else Period(year + 1, "month", 1)
    assert (nxt.window[0] - p.window[1]).days == 1


# -- one time zone for deadlines ------------------------------------------------------


def test_the_zone_deadline_is_the_fixed_offset_one_for_every_period_and_level() -> None:
    """The roll-up used 16:59:59 UTC (UTC+7) and the judge Asia/Ho_Chi_Minh; Vietnam
    has kept UTC+7 without summer time since 1975, so the one helper changes nothing."""
    from datetime import UTC, datetime

    from dvkn_pipeline.reference.periods import load_calendar

    codes = ["M01", "M02", "M12", "Q1", "Q4", "H1", "H2", "9M", "Y"]
    for year in range(2019, 2031):
        for code in codes:
            p = Period.parse(f"{year}-{code}")
            for level in load_calendar().deadline_days:
                d = p.deadline(level)
                assert p.deadline_instant(level) == datetime(
                    d.year, d.month, d.day, 16, 59, 59, tzinfo=UTC
                )


def test_an_upload_counts_on_the_vietnamese_calendar_day() -> None:
    from datetime import UTC, date, datetime

    from dvkn_pipeline.reference.periods import deadline_instant, local_date

    assert local_date(datetime(2025, 3, 17, 16, 59, 59, tzinfo=UTC)) == date(2025, 3, 17)
    assert local_date(datetime(2025, 3, 17, 17, 0, 0, tzinfo=UTC)) == date(2025, 3, 18)
    assert local_date(deadline_instant(date(2025, 3, 17))) == date(2025, 3, 17)
