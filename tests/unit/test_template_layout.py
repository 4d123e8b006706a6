"""The template prints and reads as a clerk needs (issue 11, point 8)."""

from __future__ import annotations

import io
from collections import Counter

import openpyxl
import polars as pl
import pytest

from dvkn_pipeline.judging.judge import judge_upload
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.views.template import COVER_SHEET, HEADER_ROW, LISTS_SHEET, write_template
from schemas.records import Status, UploadRef
from schemas.settings import Settings
from tests.corpus import CAT, HANOI, Q1, UNIT, _table_columns, base, filled_template, totals

HS = load_hierarchies()
UNITS = ["00004", "00379", "001", "01"]


def _book(code: str) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(write_template(HANOI.unit(code), Q1, CAT)))


@pytest.mark.parametrize("code", UNITS)
def test_every_sheet_prints_a4_landscape_fit_to_width(code: str) -> None:
    wb = _book(code)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        # fitToWidth 1 is the file format's default, which xlsxwriter leaves out
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0), ws.title
        if ws.title not in {COVER_SHEET, LISTS_SHEET}:
            assert ws.print_title_rows.replace("$", "") == f"1:{HEADER_ROW + 1}", ws.title


@pytest.mark.parametrize("code", UNITS)
def test_no_empty_column_and_the_name_once_per_block(code: str) -> None:
    wb = _book(code)
    for ws in wb.worksheets[1:]:
        found = _table_columns(ws)
        if found is None:
            continue
        header_row, at = found
        assert "category" not in at, ws.title
        for name, col in at.items():
            if name == "value":
                continue  # input cells start empty
            filled = [r[col].value for r in ws.iter_rows(min_row=header_row + 1) if r[col].value]
            assert filled, (ws.title, name)
        names = Counter(
            r[at["indicator_name"]].value
            for r in ws.iter_rows(min_row=header_row + 1)
            if r[at["indicator_name"]].value
        )
        for ind in CAT.reported_by(HANOI.unit(code).level):
            if CAT.model.sections[ind.section].sheet == ws.title:
                assert names[f"{ind.vi} / {ind.en}"] == 1, (ws.title, ind.code)


@pytest.mark.parametrize("code", UNITS)
def test_no_text_is_clipped(code: str) -> None:
    """A text longer than its column wraps (or spans a merged area); none runs out of sight."""
    wb = _book(code)
    for ws in wb.worksheets:
        merged = {c for r in ws.merged_cells.ranges for row in ws[r.coord] for c in row}
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or cell in merged:
                    continue
                width = ws.column_dimensions[cell.column_letter].width or 8.43
                longest = max(len(line) for line in cell.value.split("\n"))
                assert longest <= width or cell.alignment.wrap_text, (ws.title, cell.coordinate)


def test_prepared_on_is_a_validated_date_cell() -> None:
    ws = _book("00004")[COVER_SHEET]
    assert ws["A8"].value.startswith("Ngày lập")
    assert ws["B8"].number_format == "dd/mm/yyyy"
    [dv] = [dv for dv in ws.data_validations.dataValidation if "B8" in str(dv.sqref)]
    assert dv.type == "date" and dv.showErrorMessage


def test_the_filled_template_round_trips_with_the_right_numbers() -> None:
    report = base()
    ref = UploadRef(bucket="b", key=f"incoming/{UNIT.code}/2025-Q1/bc.xlsx", etag="e")
    j = judge_upload(
        ref, filled_template(report), catalogue=CAT, hierarchies=HS, settings=Settings()
    )
    assert j.receipt.status is Status.ACCEPTED, j.receipt.problems
    assert j.facts is not None
    for indicator, total in totals(report).items():
        got = j.facts.filter(pl.col("indicator") == indicator)["value"].sum()
        assert got == pytest.approx(total), indicator
    assert j.facts.height == sum(1 for r in report.rows if not r.get("total"))
