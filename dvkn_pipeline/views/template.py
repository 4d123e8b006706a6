"""The Excel template a commune clerk fills, generated from the catalogue.

Vietnamese labels with English beside them, the unit and period pre-filled,
one sheet per catalogue section, yellow input cells (the only unlocked ones),
totals computed by formulas. Its reader is :mod:`dvkn_pipeline.judging.excel`;
both follow the layout of ``schemas/report_format.yaml``.
"""

from __future__ import annotations

import io
import itertools
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from dvkn_pipeline.judging.report_format import (
    load_format,
)
from dvkn_pipeline.reference.catalogue import CATEGORY_COLUMN, Catalogue
from dvkn_pipeline.reference.hierarchy import Unit
from dvkn_pipeline.reference.periods import Period
from schemas.catalogue import Aggregation, Indicator

COVER_SHEET = "Thông tin"
#: The visible sheet holding each drop-down's choices. Excel's inline list source is
#: one comma-separated string, so a label with a comma ("Không áp dụng (phường, thị
#: trấn)") would be offered in pieces; a drop-down reads its choices from cells here.
LISTS_SHEET = "Danh mục"
TABLE_COLUMNS = ("indicator", "indicator_name", "field", "holder", CATEGORY_COLUMN, "value", "unit")
_INPUT = {"bg_color": "#FFF2CC", "border": 1, "locked": False}


def write_template(
    unit: Unit,
    period: Period,
    catalogue: Catalogue,
    *,
    values: dict[tuple[str, ...], Any] | None = None,
    version: int = 1,
) -> bytes:
    """The report workbook for one unit and period.

    ``values`` (keyed by indicator code and breakdown codes, as in
    :func:`template_cells`) pre-fills input cells; totals then carry cached
    values as Excel would store them.
    """
    fmt = load_format()
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    title = wb.add_format(
        {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter", "text_wrap": True}
    )
    label = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True})
    fixed = wb.add_format({"border": 1})
    entry = wb.add_format(_INPUT)
    entry_num = wb.add_format({**_INPUT, "num_format": "#,##0.##"})
    total = wb.add_format(
        {"bold": True, "border": 1, "bg_color": "#E7E6E6", "num_format": "#,##0.##"}
    )
    total_label = wb.add_format({"bold": True, "border": 1, "bg_color": "#E7E6E6"})
    note = wb.add_format({"italic": True, "font_color": "#595959", "text_wrap": True})

    cover = wb.add_worksheet(COVER_SHEET)
    cover.set_column(0, 0, 34)
    cover.set_column(1, 1, 44)
    cover.merge_range(
        0,
        0,
        0,
        1,
        'BÁO CÁO KẾT QUẢ PHONG TRÀO THI ĐUA "DÂN VẬN KHÉO"\n'
        "Skilled Mass Mobilization movement report",
        title,
    )
    cover.set_row(0, 42)
    cover.merge_range(
        1, 0, 1, 1, f"{unit.name} ({unit.code}) - {period.label_vi} / {period.label_en}", note
    )
    header_values: dict[str, Any] = {
        "unit_code": unit.code,
        "unit_name": unit.name,
        "period": period.code,
        "report_version": version,
        "prepared_on": None,
        "prepared_by": None,
    }
    for i, (name, value) in enumerate(header_values.items()):
        r = 3 + i
        cover.write(r, 0, fmt.header_label(name), label)
        editable = name in {"report_version", "prepared_on", "prepared_by"}
        if value is None:
            cover.write_blank(r, 1, None, entry if editable else fixed)
        else:
            cover.write(r, 1, value, entry if editable else fixed)
    cover.data_validation(6, 1, 6, 1, {"validate": "integer", "criteria": ">=", "value": 1})
    cover.write(
        11,
        0,
        "Hướng dẫn: chỉ điền vào các ô màu vàng; ghi 0 nếu không có. Dòng tổng tự tính.\n"
        "How to fill: enter figures in the yellow cells only; write 0 if none. Totals compute themselves.",
        note,
    )
    cover.set_row(11, 48)
    cover.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})

    for section_id, section in catalogue.model.sections.items():
        indicators = [i for i in catalogue.reported_by(unit.level) if i.section == section_id]
        if not indicators:
            continue
        ws = wb.add_worksheet(section.sheet)
        widths = (16, 46, 26, 14, 30, 18, 14)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.merge_range(0, 0, 0, len(TABLE_COLUMNS) - 1, f"{section.vi} / {section.en}", title)
        ws.set_row(0, 28)
        ws.merge_range(
            1, 0, 1, len(TABLE_COLUMNS) - 1, f"{unit.name} ({unit.code}) - {period.label_vi}", note
        )
        for c, name in enumerate(TABLE_COLUMNS):
            text = "Đơn vị tính / Unit" if name == "unit" else fmt.column_label(name, catalogue)
            ws.write(3, c, text, label)
        row = 4
        for ind in indicators:
            row = _write_indicator(
                ws, row, ind, catalogue, values or {}, entry, entry_num, fixed, total, total_label
            )
        ws.freeze_panes(4, 0)
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    _write_lists(wb, catalogue, label, fixed)
    wb.close()
    return buf.getvalue()


def template_cells(indicator: Indicator, catalogue: Catalogue) -> list[tuple[str, ...]]:
    """Breakdown cells of an indicator, keyed (code, *breakdown codes)."""
    dims = indicator.reported_dimensions
    combos = itertools.product(*[list(catalogue.model.dimensions[d].values) for d in dims])
    return [(indicator.code, *c) for c in combos]


def _write_indicator(
    ws: Any,
    row: int,
    ind: Indicator,
    catalogue: Catalogue,
    values: dict[tuple[str, ...], Any],
    entry: Any,
    entry_num: Any,
    fixed: Any,
    total: Any,
    total_label: Any,
) -> int:
    dims = ind.reported_dimensions
    value_col = TABLE_COLUMNS.index("value")

    def put_row(r: int, codes: dict[str, str], fmt_label: Any) -> None:
        ws.write(r, 0, ind.code, fmt_label)
        ws.write(r, 1, f"{ind.vi} / {ind.en}", fmt_label)
        for d in ("field", "holder", CATEGORY_COLUMN):
            code = codes.get(d)
            text = catalogue.model.dimensions[d].values[code].vi if code else ""
            ws.write(r, TABLE_COLUMNS.index(d), text, fmt_label)
        ws.write(r, TABLE_COLUMNS.index("unit"), ind.unit.vi, fmt_label)

    if ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
        put_row(row, {}, fixed)
        choices = _choice_range(catalogue, ind.category_dimension or "")
        answer = values.get((ind.code,))
        if answer is not None:
            answer = catalogue.model.dimensions[ind.category_dimension or ""].values[answer].vi
        ws.write(row, value_col, answer, entry) if answer else ws.write_blank(
            row, value_col, None, entry
        )
        ws.data_validation(row, value_col, row, value_col, {"validate": "list", "source": choices})
        return row + 1

    if not dims:
        put_row(row, {}, fixed)
        v = values.get((ind.code,))
        ws.write(row, value_col, v, entry_num) if v is not None else ws.write_blank(
            row, value_col, None, entry_num
        )
        ws.data_validation(row, value_col, row, value_col, _number_rule(ind))
        return row + 1

    # Group detail rows by the first dimension, with a subtotal per group when
    # there is a second dimension, and a grand total last.
    first, rest = dims[0], dims[1:]
    group_totals: list[tuple[int, float]] = []
    for code in catalogue.model.dimensions[first].values:
        detail_rows: list[int] = []
        group_sum = 0.0
        combos = (
            itertools.product(*[list(catalogue.model.dimensions[d].values) for d in rest])
            if rest
            else [()]
        )
        for combo in combos:
            codes = {first: code, **dict(zip(rest, combo, strict=True))}
            put_row(row, codes, fixed)
            v = values.get((ind.code, code, *combo))
            if v is not None:
                ws.write(row, value_col, v, entry_num)
                group_sum += float(v)
            else:
                ws.write_blank(row, value_col, None, entry_num)
            ws.data_validation(row, value_col, row, value_col, _number_rule(ind))
            detail_rows.append(row)
            row += 1
        if rest:
            put_row(row, {first: code}, total_label)
            ws.write_formula(row, value_col, _sum(detail_rows, value_col), total, group_sum)
            group_totals.append((row, group_sum))
            row += 1
        else:
            group_totals.append((detail_rows[0], group_sum))
    put_row(row, {}, total_label)
    ws.write(row, 1, f"Tổng cộng: {ind.vi} / Total: {ind.en}", total_label)
    ws.write_formula(
        row,
        value_col,
        _sum([r for r, _ in group_totals], value_col),
        total,
        sum(v for _, v in group_totals),
    )
    return row + 1


def _choice_range(catalogue: Catalogue, dimension: str) -> str:
    """The absolute range of ``dimension``'s choices on the lists sheet (see ``_write_lists``)."""
    col = list(_category_dimensions(catalogue)).index(dimension)
    n = len(catalogue.model.dimensions[dimension].values)
    first = xl_rowcol_to_cell(1, col, row_abs=True, col_abs=True)
    last = xl_rowcol_to_cell(n, col, row_abs=True, col_abs=True)
    return f"='{LISTS_SHEET}'!{first}:{last}"


def _category_dimensions(catalogue: Catalogue) -> dict[str, None]:
    return {i.category_dimension: None for i in catalogue.indicators if i.category_dimension}


def _write_lists(wb: Any, catalogue: Catalogue, head: Any, cell: Any) -> None:
    """One column per categorical dimension: its heading, then its Vietnamese labels."""
    ws = wb.add_worksheet(LISTS_SHEET)
    for col, dim in enumerate(_category_dimensions(catalogue)):
        spec = catalogue.model.dimensions[dim]
        ws.write(0, col, f"{spec.vi} / {spec.en}", head)
        for r, label in enumerate(spec.values.values(), 1):
            ws.write(r, col, label.vi, cell)
        ws.set_column(col, col, max(len(v.vi) for v in spec.values.values()) + 6)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})


def _sum(rows: list[int], col: int) -> str:
    return "=" + "+".join(xl_rowcol_to_cell(r, col) for r in rows)


def _number_rule(ind: Indicator) -> dict[str, Any]:
    kind = "integer" if ind.value_type.value == "integer" else "decimal"
    return {
        "validate": kind,
        "criteria": ">=",
        "value": 0,
        "error_title": "Giá trị không hợp lệ",
        "error_message": "Nhập số không âm / Enter a non-negative number"
        + (" (số nguyên / whole number)" if kind == "integer" else ""),
    }


def report_values(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], Any]:
    """Generator rows as template values: (indicator, *breakdown codes) -> value."""
    out: dict[tuple[str, ...], Any] = {}
    for r in rows:
        if r.get("total"):
            continue
        key = tuple(v for v in (r["indicator"], r.get("field"), r.get("holder")) if v)
        out[key] = r["value"]
    return out
