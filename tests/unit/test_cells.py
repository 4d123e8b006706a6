from datetime import date

import pytest

from dvkn_pipeline.reference.cells import clean_text, parse_date, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3.864.463", 3_864_463.0),
        ("76,5", 76.5),
        ("1.234,5", 1234.5),
        ("2.568.842", 2_568_842.0),
        ("12", 12.0),
        ("12.5", 12.5),
        ("1,234,567", 1_234_567.0),
        ("1 234", 1234.0),
        (" 46\u00a0741 ", 46741.0),
        (7, 7.0),
        (2.5, 2.5),
    ],
)
def test_vietnamese_and_english_number_formats_are_read(text: object, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "", None, "12 mô hình", "1.2.3,4,5", True])
def test_text_that_is_not_a_number_gives_none(text: object) -> None:
    assert parse_number(text) is None


def test_dates_are_day_first() -> None:
    assert parse_date("05/03/2025") == date(2025, 3, 5)
    assert parse_date("2025-03-05") == date(2025, 3, 5)
    assert parse_date("31/02/2025") is None


def test_clean_text_folds_nfd_to_nfc_and_collapses_spaces() -> None:
    nfd = "Ho\u0300a  Bi\u0300nh "
    assert clean_text(nfd) == "Hòa Bình"
    assert clean_text("   ") is None
