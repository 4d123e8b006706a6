"""Every total of every export adds up: each sheet, each level, opened back with openpyxl.

The rows a total adds up are named by the hidden role column (``<kind>|<parent>``):
a total or subtotal of unit X equals the sum of the rows whose parent is X, in
every additive column (all but a ratio's value, which is re-divided).
"""

from __future__ import annotations

import io
from collections import defaultdict

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.export import COVER_SHEET, ROW_ROLE_KEY, export_xlsx
from tests.unit.test_export import CAT, HANOI, Q1, fact, frames

LEVELS = ["city", "district", "commune"]


def code_row(ws: Worksheet) -> int:
    for r in range(1, ws.max_row + 1):
        if ws.cell(r, 1).value == "unit_code":
            return r
    raise AssertionError(f"no machine row in {ws.title}")


def check_totals(ws: Worksheet) -> int:
    """Assert every total of ``ws`` equals its rows; returns how many totals were checked."""
    head = code_row(ws)
    keys = {c: ws.cell(head, c).value for c in range(1, ws.max_column + 1)}
    role_col = next(c for c, k in keys.items() if k == ROW_ROLE_KEY)
    ratio_values = {r.code for r in CAT.ratios}
    figure_cols = [
        c for c, k in keys.items() if c > 2 and k != ROW_ROLE_KEY and k not in ratio_values
    ]
    parts: dict[str, list[int]] = defaultdict(list)
    totals: dict[str, int] = {}
    for r in range(head + 1, ws.max_row + 1):
        role = ws.cell(r, role_col).value
        if not role:
            continue
        kind, parent = role.split("|")
        if parent:
            parts[parent].append(r)
        if kind in ("subtotal", "total"):
            totals[ws.cell(r, 1).value] = r
            assert all(p < r for p in parts[ws.cell(r, 1).value]), "rows sit above their total"
    for code, row in totals.items():
        assert parts[code], f"{ws.title}: total {code} has no rows"
        for c in figure_cols:
            want = ws.cell(row, c).value
            got = sum(ws.cell(p, c).value or 0 for p in parts[code])
            assert (want or 0) == pytest.approx(got, abs=1e-6), (
                f"{ws.title}!{ws.cell(row, c).coordinate} ({keys[c]}, total of {code}) "
                f"is {want}, its rows add up to {got}"
            )
    return len(totals)


@pytest.mark.parametrize("level", LEVELS)
def test_every_total_of_every_sheet_equals_its_rows(level: str) -> None:
    table, comp = frames()
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(table, comp, HANOI, CAT, Q1, level)))
    checked = sum(check_totals(wb[name]) for name in wb.sheetnames if name != COVER_SHEET)
    expected = {"city": 0, "district": 1, "commune": 31}[level]  # the city; and 30 districts
    assert checked == expected * (len(wb.sheetnames) - 1)


def test_the_citys_own_report_is_a_row_above_its_total() -> None:
    table, comp = frames()
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(table, comp, HANOI, CAT, Q1, "district")))
    ws = wb["Mô hình 1"]
    head = code_row(ws)
    col = next(c for c in range(1, ws.max_column + 1) if ws.cell(head, c).value == "MH_DANG_KY")
    names = {ws.cell(r, 2).value: r for r in range(head + 1, ws.max_row + 1)}
    own = names["Báo cáo của cấp thành phố: Thành phố Hà Nội"]
    total = names["Tổng cộng: Thành phố Hà Nội"]
    assert own == total - 1
    assert ws.cell(own, col).value == 7  # the city's own models (TINH level)
    assert ws.cell(total, col).value == 3 + 2 + 4 + 10 + 5 + 7


def test_commune_level_closes_each_district_with_its_own_report_and_subtotal() -> None:
    table, comp = frames()
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(table, comp, HANOI, CAT, Q1, "commune")))
    ws = wb["Mô hình 1"]
    head = code_row(ws)
    col = next(c for c in range(1, ws.max_column + 1) if ws.cell(head, c).value == "MH_DANG_KY")
    names = {ws.cell(r, 2).value: r for r in range(head + 1, ws.max_row + 1)}
    assert ws.cell(names["Báo cáo của cấp quận: Quận Ba Đình"], col).value == 10
    assert ws.cell(names["Cộng: Quận Ba Đình"], col).value == 19


def test_two_level_hierarchy_after_the_reform_adds_up_too() -> None:
    q3 = Period.parse("2025-Q3")
    tree = load_hierarchies().for_date(q3.reference_date).subtree("01")
    commune = tree.units_at("commune")[0].code
    rows = [
        fact(commune, "MH_DANG_KY", 4, period=q3, field="KT", level="CS"),
        fact("01", "MH_DANG_KY", 6, period=q3, field="KT", level="TINH"),
        fact(commune, "GD_VAN_HOA_DAT", 3, period=q3),
        fact(commune, "GD_TONG_SO", 4, period=q3),
    ]
    table, comp = frames(tree, q3, rows)
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(table, comp, tree, CAT, q3, "commune")))
    assert sum(check_totals(wb[n]) for n in wb.sheetnames if n != COVER_SHEET) == 7  # 1 a sheet
