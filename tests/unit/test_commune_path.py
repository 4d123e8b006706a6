"""The commune's path (issue 11): blanks, pointers, numbers, hidden sheets, receipts."""

from __future__ import annotations

import io
import re

import openpyxl
import polars as pl

from dvkn_pipeline.judging.judge import Judgement, judge_upload
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from schemas.catalogue import BlankPolicy
from schemas.records import Severity, Status, UploadRef
from schemas.settings import Settings
from tests.corpus import CAT, UNIT, _table_columns, base, filled_template

HS = load_hierarchies()


def _judge(content: bytes, catalogue: Catalogue = CAT, name: str = "bc.xlsx") -> Judgement:
    ref = UploadRef(bucket="b", key=f"incoming/{UNIT.code}/2025-Q1/{name}", etag="e")
    return judge_upload(ref, content, catalogue=catalogue, hierarchies=HS, settings=Settings())


def _edit(content: bytes, sheet: str, fn: object) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    fn(wb[sheet])  # type: ignore[operator]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _input_cells(ws: object) -> list[str]:
    """The value cells a clerk types into (not the formula totals)."""
    found = _table_columns(ws)
    assert found is not None
    header_row, at = found
    out = []
    for row in ws.iter_rows(min_row=header_row + 1):  # type: ignore[attr-defined]
        cell = row[at["value"]]
        if cell.protection.locked is False and not str(cell.value or "").startswith("="):
            out.append(cell.coordinate)
    return out


def test_blank_cells_are_one_grouped_problem_per_sheet() -> None:
    filled = filled_template(base())
    wb = openpyxl.load_workbook(io.BytesIO(filled))
    blanks = _input_cells(wb["Mô hình"])[:14]

    def clear(ws: object) -> None:
        for c in blanks:
            ws[c] = None  # type: ignore[index]

    j = _judge(_edit(filled, "Mô hình", clear))
    assert j.receipt.status is Status.REJECTED
    [p] = [p for p in j.receipt.problems if p.rule == "value_present"]
    assert p.sheet == "Mô hình" and p.cell == ", ".join(blanks)
    assert p.message_vi == f"14 ô để trống: {', '.join(blanks)} – ghi 0 nếu không có."
    assert p.message_en.startswith("14 empty cell(s): ")


def test_a_blank_may_be_accepted_as_not_reported_and_never_becomes_zero() -> None:
    inds = tuple(
        i.model_copy(update={"blank": BlankPolicy.NOT_REPORTED}) if i.code == "QUA_TANG" else i
        for i in CAT.model.indicators
    )
    cat = Catalogue(CAT.model.model_copy(update={"indicators": inds}))
    filled = filled_template(base())
    wb = openpyxl.load_workbook(io.BytesIO(filled))
    ws = wb["Đóng góp"]
    found = _table_columns(ws)
    assert found is not None
    header_row, at = found
    [cell] = [
        r[at["value"]].coordinate
        for r in ws.iter_rows(min_row=header_row + 1)
        if r[at["indicator"]].value == "QUA_TANG"
    ]

    def clear(ws: object) -> None:
        ws[cell] = None  # type: ignore[index]

    j = _judge(_edit(filled, "Đóng góp", clear), catalogue=cat)
    assert j.receipt.status is Status.ACCEPTED, j.receipt.problems
    [w] = [p for p in j.receipt.problems if p.rule == "value_not_reported"]
    assert w.severity is Severity.WARNING and w.cell == cell
    assert j.facts is not None
    assert j.facts.filter(pl.col("indicator") == "QUA_TANG").is_empty()


def _value_cell_of(content: bytes, sheet: str, code: str) -> str:
    ws = openpyxl.load_workbook(io.BytesIO(content))[sheet]
    found = _table_columns(ws)
    assert found is not None
    header_row, at = found
    return str(
        next(
            r[at["value"]].coordinate
            for r in ws.iter_rows(min_row=header_row + 1)
            if r[at["indicator"]].value == code
        )
    )


def test_a_category_error_names_the_value_cell_the_clerk_typed_in() -> None:
    filled = filled_template(base())
    cell = _value_cell_of(filled, "Nông thôn mới", "NTM_MUC_DAT")

    def typo(ws: object) -> None:
        ws[cell] = "Đạt chuẩn lắm"  # type: ignore[index]

    j = _judge(_edit(filled, "Nông thôn mới", typo))
    [p] = [p for p in j.receipt.problems if p.rule == "category_known"]
    assert p.column == "Giá trị / Value" and p.cell == cell
    assert p.row == int(re.sub(r"\D", "", cell))


def test_english_halves_write_english_numbers() -> None:
    filled = filled_template(base())
    received = _value_cell_of(filled, "Đối thoại", "Y_KIEN_TIEP_NHAN")
    resolved = _value_cell_of(filled, "Đối thoại", "Y_KIEN_GIAI_QUYET")

    def big(ws: object) -> None:
        ws[received] = 2852  # type: ignore[index]
        ws[resolved] = 2962  # type: ignore[index]

    j = _judge(_edit(filled, "Đối thoại", big))
    [p] = [p for p in j.receipt.problems if p.rule == "resolved_le_received"]
    assert "2.962" in p.message_vi and "2.852" in p.message_vi
    assert "2,962" in p.message_en and "2,852" in p.message_en and "2.9" not in p.message_en
    assert p.cell == f"{resolved}, {received}"


def _hide(content: bytes, sheet: str, state: str) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    wb[sheet].sheet_state = state
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_hidden_sheet_with_figures_rejects_naming_it() -> None:
    filled = filled_template(base())
    for state in ("hidden", "veryHidden"):
        j = _judge(_hide(filled, "Đóng góp", state))
        assert j.receipt.status is Status.REJECTED
        [p] = [p for p in j.receipt.problems if p.rule == "sheet_hidden"]
        assert p.severity is Severity.ERROR and p.sheet == "Đóng góp"
        assert "Đóng góp" in p.message_vi and "Đóng góp" in p.message_en


def test_a_hidden_sheet_holding_nothing_read_is_a_warning_naming_it() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(filled_template(base())))
    extra = wb.create_sheet("Nháp")
    extra["A1"] = "ghi chú riêng"
    extra.sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    j = _judge(out.getvalue())
    assert j.receipt.status is Status.ACCEPTED, j.receipt.problems
    [p] = [p for p in j.receipt.problems if p.rule == "sheet_hidden"]
    assert p.severity is Severity.WARNING and p.sheet == "Nháp"


def test_an_accepted_receipt_echoes_figures_and_what_it_replaces() -> None:
    from datetime import UTC, datetime

    from dvkn_pipeline.judging.judge import Upload, judge_uploads
    from dvkn_pipeline.judging.receipt import render_markdown
    from schemas.records import ReplacedVersion

    report = base()
    earlier = ReplacedVersion(
        key=f"incoming/{UNIT.code}/2025-Q1/old.xlsx",
        report_version=1,
        received_at=datetime(2025, 3, 10, 2, 30, tzinfo=UTC),
        submission_id="abc",
    )
    ref = UploadRef(
        bucket="b",
        key=f"incoming/{UNIT.code}/2025-Q1/bc.xlsx",
        etag="e",
        last_modified=datetime(2025, 3, 12, 3, 0, tzinfo=UTC),
    )
    [j] = judge_uploads(
        [Upload(ref, filled_template(report))],
        catalogue=CAT,
        hierarchies=HS,
        settings=Settings(),
        live_versions={(UNIT.code, "2025-Q1"): earlier},
    )
    r = j.receipt
    assert r.status is Status.ACCEPTED and r.replaces == earlier
    assert "thay thế lần gửi 1" in r.summary_vi and "09:30 10/03/2025 (GMT+07:00)" in r.summary_vi
    assert "replaces version 1" in r.summary_en
    figures = {f.indicator: f for f in r.figures}
    assert figures["MH_DANG_KY"].value == report.value("MH_DANG_KY")
    assert figures["NTM_MUC_DAT"].category_vi is not None
    md = render_markdown(r)
    assert "Quý I/2025 (2025-Q1)" in md
    assert "12/03/2025 10:00:00 (GMT+07:00)" in md
    assert "## Số liệu đã đọc / Figures read" in md
    assert "### Mô hình" in md


def test_a_rejected_receipt_starts_with_the_count_and_the_first_thing_to_do() -> None:
    from dvkn_pipeline.judging.receipt import render_markdown

    filled = filled_template(base())
    cell = _value_cell_of(filled, "Nông thôn mới", "NTM_MUC_DAT")

    def typo(ws: object) -> None:
        ws[cell] = "Đạt chuẩn lắm"  # type: ignore[index]

    r = _judge(_edit(filled, "Nông thôn mới", typo)).receipt
    assert r.summary_vi.startswith("Báo cáo bị từ chối: 1 lỗi. Việc cần làm trước tiên: ")
    assert f"(Nông thôn mới, {cell})" in r.summary_vi
    assert r.summary_en.startswith("Report rejected: 1 error(s). First thing to do: ")
    md = render_markdown(r)
    first_lines = [line for line in md.splitlines() if line][:2]
    assert first_lines[1] == r.summary_vi
    assert "category_known" not in md  # rule ids only in the machine receipt
    assert "category_known" in r.model_dump_json()


def test_an_unknown_indicator_points_at_the_code_cell() -> None:
    filled = filled_template(base())
    value_cell = _value_cell_of(filled, "Đóng góp", "QUA_TANG")
    code_cell = "A" + re.sub(r"\D", "", value_cell)

    def typo(ws: object) -> None:
        ws[code_cell] = "QUA_TANGG"  # type: ignore[index]

    j = _judge(_edit(filled, "Đóng góp", typo))
    [p] = [p for p in j.receipt.problems if p.rule == "indicator_known"]
    assert (p.sheet, p.cell) == ("Đóng góp", code_cell)
