"""Each input limit: a file exactly at the limit is read, one step over is refused."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator

import pytest

from dvkn_pipeline.judging.judge import parse_upload
from schemas.settings import InputLimits, Settings
from tests.corpus import CAT
from tests.hostile import GOOD_CSV, GOOD_XLSX, grid_workbook, ratio_bomb


def rules(content: bytes, name: str, **limits: float) -> list[str]:
    parsed = parse_upload(content, name, CAT, InputLimits(**limits))
    return [p.rule for p in parsed.problems]


def at_and_over(
    content: bytes, name: str, limit: str, at: float, rule: str, step: float = 1
) -> None:
    assert rule not in rules(content, name, **{limit: at})
    assert rules(content, name, **{limit: at - step}) == [rule]


def test_defaults_come_from_settings_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().limits == InputLimits()
    monkeypatch.setenv("DVKN_LIMITS__MAX_ROWS", "7")
    assert Settings().limits.max_rows == 7


@pytest.mark.parametrize(("content", "name"), [(GOOD_CSV, "r.csv"), (GOOD_XLSX, "r.xlsx")])
def test_file_size(content: bytes, name: str) -> None:
    at_and_over(content, name, "max_file_bytes", len(content), "file_too_large")


def test_csv_rows() -> None:
    lines = GOOD_CSV.count(b"\n") + (not GOOD_CSV.endswith(b"\n"))
    at_and_over(GOOD_CSV, "r.csv", "max_rows", lines, "too_many_rows")


def _records() -> list[list[str]]:
    return list(csv.reader(io.StringIO(GOOD_CSV.decode("utf-8-sig"))))


def test_csv_columns() -> None:
    widest = max(len(r) for r in _records())
    at_and_over(GOOD_CSV, "r.csv", "max_columns", widest, "too_many_columns")


def test_csv_cells() -> None:
    fields = sum(len(r) for r in _records())
    at_and_over(GOOD_CSV, "r.csv", "max_cells", fields, "too_many_cells")


def test_csv_line_length() -> None:
    longest = max(len(line) for line in GOOD_CSV.split(b"\n"))
    at_and_over(GOOD_CSV, "r.csv", "max_line_bytes", longest, "line_too_long")


def test_a_million_columns_within_the_line_limit_are_refused_as_columns() -> None:
    wide = b"," * 1_000_000
    assert rules(wide, "r.csv", max_line_bytes=2_000_000) == ["too_many_columns"]


def test_xlsx_rows() -> None:
    at_and_over(grid_workbook(300, 4), "r.xlsx", "max_rows", 300, "too_many_rows")


def test_xlsx_columns() -> None:
    at_and_over(grid_workbook(4, 30), "r.xlsx", "max_columns", 30, "too_many_columns")


def test_xlsx_sheets() -> None:
    at_and_over(grid_workbook(2, 2, sheets=5), "r.xlsx", "max_sheets", 5, "too_many_sheets")


def test_xlsx_cells_count_the_used_area_of_every_sheet() -> None:
    at_and_over(grid_workbook(50, 20, sheets=3), "r.xlsx", "max_cells", 3000, "too_many_cells")


def _uncompressed(workbook: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        return sum(i.file_size for i in zf.infolist())


def test_xlsx_uncompressed_bytes() -> None:
    total = _uncompressed(GOOD_XLSX)
    at_and_over(GOOD_XLSX, "r.xlsx", "max_uncompressed_bytes", total, "zip_bomb")


def test_xlsx_compression_ratio() -> None:
    padded = ratio_bomb(GOOD_XLSX, size=2 * 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(padded)) as zf:
        info = zf.getinfo("xl/media/image1.png")
    ratio = info.file_size / info.compress_size
    at_and_over(padded, "r.xlsx", "max_compression_ratio", ratio, "zip_bomb", step=0.01)


def test_xlsx_zip_entries() -> None:
    with zipfile.ZipFile(io.BytesIO(GOOD_XLSX)) as zf:
        n = len(zf.infolist())
    at_and_over(GOOD_XLSX, "r.xlsx", "max_zip_entries", n, "zip_bomb")


def _clock(elapsed: float) -> Callable[[], float]:
    """Starts at 0, then says ``elapsed`` seconds have passed at every later look."""
    ticks: Iterator[float] = iter([0.0])

    def now() -> float:
        return next(ticks, elapsed)

    return now


@pytest.mark.parametrize(("content", "name"), [(GOOD_CSV, "r.csv"), (GOOD_XLSX, "r.xlsx")])
def test_parse_time(content: bytes, name: str) -> None:
    limits = InputLimits(max_parse_seconds=5)
    under = parse_upload(content, name, CAT, limits, clock=_clock(4.99))
    over = parse_upload(content, name, CAT, limits, clock=_clock(5.01))
    assert under.problems == []
    assert [p.rule for p in over.problems] == ["parse_too_slow"]


def test_parse_time_is_checked_on_the_real_clock_too() -> None:
    big = GOOD_CSV + b"\n".join([b"MH_DANG_KY,x,KT,,,1"] * 15_000)
    parsed = parse_upload(big, "r.csv", CAT, InputLimits(max_parse_seconds=0.001))
    assert [p.rule for p in parsed.problems] == ["parse_too_slow"]
