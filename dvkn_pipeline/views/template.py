"""The Excel template a commune clerk fills, generated from the catalogue.

Vietnamese labels with English beside them, the unit and period pre-filled,
one sheet per catalogue section, yellow input cells (the only unlocked ones),
totals computed by formulas. Its reader is :mod:`dvkn_pipeline.judging.excel`;
both follow the layout of ``schemas/report_format.yaml``.

Laid out to be printed and read by a person: each sheet prints on A4
landscape, fit to the page width, with its table header repeated on every
page; a sheet has only the columns its indicators use; an indicator's code and
name are written once per block (merged down its rows, which the reader
counts for every row they span); drop-down choices come from cells of the
visible "Danh mục" sheet (Excel's inline list would split a label at its
comma); "Ngày lập" is a date cell that refuses anything but a date.
"""

from __future__ import annotations

import io
import itertools
from datetime import date
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from dvkn_pipeline.judging.report_format import load_format
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Unit
from dvkn_pipeline.reference.messages import Text, render
from dvkn_pipeline.reference.periods import Period
from schemas.catalogue import Aggregation, Indicator

COVER_SHEET = "Thông tin"
#: The visible sheet holding each drop-down's choices. Excel's inline list source is
#: one comma-separated string, so a label with a comma ("Không áp dụng (phường, thị
#: trấn)") would be offered in pieces; a drop-down reads its choices from cells here.
LISTS_SHEET = "Danh mục"
#: The table header's row (0-based) on a section sheet; rows above: title, subtitle.
HEADER_ROW = 3
#: Breakdown columns a sheet may have, in order; a sheet has those its indicators use.
BREAKDOWNS = ("field", "holder")
#: Column widths in characters, sized so no label or figure is clipped.
_WIDTH = {"indicator": 20, "indicator_name": 44, "field": 28, "holder": 14, "value": 20, "unit": 14}
_INPUT = {"bg_color": "#FFF2CC", "border": 1, "locked": False, "valign": "vcenter"}
_PAPER_A4 = 9
#: The dates "Ngày lập" accepts (a report is prepared in the movement's lifetime).
_FIRST_DATE, _LAST_DATE = date(2009, 1, 1), date(2100, 12, 31)


def _both(text: Text, sep: str = " / ") -> str:
    return f"{text.vi}{sep}{text.en}"


def _print_setup(ws: Any, repeat_to: int | None = None) -> None:
    """A4 landscape, as wide as the page and as many pages long as needed."""
    ws.set_paper(_PAPER_A4)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    ws.center_horizontally()
    ws.set_footer("&L&A&R&P / &N")
    if repeat_to is not None:
        ws.repeat_rows(0, repeat_to)


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
    f = _Formats(wb)

    cover = wb.add_worksheet(COVER_SHEET)
    cover.set_column(0, 0, 30)
    cover.set_column(1, 1, 60)
    cover.merge_range(0, 0, 0, 1, _both(render("template.title"), "\n"), f.title)
    cover.set_row(0, 40)
    cover.merge_range(
        1, 0, 1, 1, f"{unit.name} ({unit.code}) - {period.label_vi} / {period.label_en}", f.note
    )
    cover.set_row(1, 30)
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
        cover.set_row(r, 20)
        cover.write(r, 0, fmt.header_label(name), f.label)
        editable = name in {"report_version", "prepared_on", "prepared_by"}
        style = (f.date if name == "prepared_on" else f.entry) if editable else f.fixed
        if value is None:
            cover.write_blank(r, 1, None, style)
        else:
            cover.write(r, 1, value, style)
    cover.data_validation(6, 1, 6, 1, {"validate": "integer", "criteria": ">=", "value": 1})
    date_error = render("template.date_error", example="15/03/2025")
    cover.data_validation(
        7,
        1,
        7,
        1,
        {
            "validate": "date",
            "criteria": "between",
            "minimum": _FIRST_DATE,
            "maximum": _LAST_DATE,
            "error_title": render("template.number_error_title").vi,
            "error_message": _both(date_error, "\n"),
            "input_title": fmt.header_label("prepared_on")[:32],
            "input_message": _both(date_error, "\n"),
        },
    )
    instructions = render("template.instructions")
    cover.merge_range(10, 0, 10, 1, _both(instructions, "\n"), f.note)
    cover.set_row(10, 80)
    _print_setup(cover)
    cover.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})

    for section_id, section in catalogue.model.sections.items():
        indicators = [i for i in catalogue.reported_by(unit.level) if i.section == section_id]
        if not indicators:
            continue
        used = {d for i in indicators for d in i.reported_dimensions}
        columns = (
            "indicator",
            "indicator_name",
            *(d for d in BREAKDOWNS if d in used),
            "value",
            "unit",
        )
        ws = wb.add_worksheet(section.sheet)
        for c, name in enumerate(columns):
            ws.set_column(c, c, _WIDTH[name])
        longest = max((len(v) for i in indicators for v in _choices(catalogue, i)), default=0)
        if longest:  # a picked label must show whole in the value cell
            ws.set_column(columns.index("value"), columns.index("value"), max(20, longest + 4))
        last = len(columns) - 1
        ws.merge_range(0, 0, 0, last, f"{section.vi} / {section.en}", f.title)
        ws.set_row(0, 30)
        ws.merge_range(
            1, 0, 1, last, f"{unit.name} ({unit.code}) - {period.label_vi}", f.note_center
        )
        ws.set_row(1, 20)
        for c, name in enumerate(columns):
            text = (
                _both(render("template.unit_column"))
                if name == "unit"
                else fmt.column_label(name, catalogue)
            )
            ws.write(HEADER_ROW, c, text, f.label)
        ws.set_row(HEADER_ROW, 32)
        row = HEADER_ROW + 1
        for ind in indicators:
            row = _write_indicator(ws, row, ind, catalogue, values or {}, columns, f)
        ws.freeze_panes(HEADER_ROW + 1, 0)
        _print_setup(ws, repeat_to=HEADER_ROW)
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    if any(i.category_dimension for i in catalogue.reported_by(unit.level)):
        _write_lists(wb, catalogue, f)  # only where a drop-down reads from it
    wb.close()
    return buf.getvalue()


class _Formats:
    """The workbook's cell styles, made once."""

    def __init__(self, wb: Any) -> None:
        wrap = {"text_wrap": True, "valign": "vcenter"}
        self.title = wb.add_format(
            {
                "bold": True,
                "font_size": 14,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.label = wb.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", **wrap})
        self.fixed = wb.add_format({"border": 1, **wrap})
        self.code = wb.add_format({"border": 1, "font_color": "#404040", **wrap})
        self.entry = wb.add_format(_INPUT)
        self.date = wb.add_format({**_INPUT, "num_format": "dd/mm/yyyy", "align": "left"})
        self.entry_num = wb.add_format({**_INPUT, "num_format": "#,##0.##"})
        self.total = wb.add_format(
            {"bold": True, "border": 1, "bg_color": "#E7E6E6", "num_format": "#,##0.##"}
        )
        self.total_label = wb.add_format({"bold": True, "border": 1, "bg_color": "#E7E6E6", **wrap})
        self.note = wb.add_format({"italic": True, "font_color": "#595959", **wrap})
        self.note_center = wb.add_format(
            {"italic": True, "font_color": "#595959", "align": "center", **wrap}
        )


def template_cells(indicator: Indicator, catalogue: Catalogue) -> list[tuple[str, ...]]:
    """Breakdown cells of an indicator, keyed (code, *breakdown codes)."""
    dims = indicator.reported_dimensions
    combos = itertools.product(*[list(catalogue.model.dimensions[d].values) for d in dims])
    return [(indicator.code, *c) for c in combos]


def _write_indicator(
    ws: Any,
    first_row: int,
    ind: Indicator,
    catalogue: Catalogue,
    values: dict[tuple[str, ...], Any],
    columns: tuple[str, ...],
    f: _Formats,
) -> int:
    """One indicator's block: its rows, then its code and name merged down the block."""
    dims = ind.reported_dimensions
    value_col = columns.index("value")
    row = first_row

    def put_row(r: int, codes: dict[str, str], style: Any) -> None:
        for d in BREAKDOWNS:
            if d in columns:
                code = codes.get(d)
                text = catalogue.model.dimensions[d].values[code].vi if code else ""
                ws.write(r, columns.index(d), text, style)
        ws.write(r, columns.index("unit"), ind.unit.vi, style)

    if ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
        put_row(row, {}, f.fixed)
        dim = catalogue.model.dimensions[ind.category_dimension or ""]
        answer = values.get((ind.code,))
        if answer is not None:
            ws.write(row, value_col, dim.values[answer].vi, f.entry)
        else:
            ws.write_blank(row, value_col, None, f.entry)
        choice_error = render("template.choice_error")
        ws.data_validation(
            row,
            value_col,
            row,
            value_col,
            {
                "validate": "list",
                "source": _choice_range(catalogue, ind.category_dimension or ""),
                "error_title": render("template.number_error_title").vi,
                "error_message": _both(choice_error, "\n"),
            },
        )
        ws.set_row(row, 30)
        _name_block(ws, first_row, row, ind, f)
        return row + 1

    if not dims:
        put_row(row, {}, f.fixed)
        v = values.get((ind.code,))
        if v is not None:
            ws.write(row, value_col, v, f.entry_num)
        else:
            ws.write_blank(row, value_col, None, f.entry_num)
        ws.data_validation(row, value_col, row, value_col, _number_rule(ind))
        ws.set_row(row, 30)
        _name_block(ws, first_row, row, ind, f)
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
            put_row(row, codes, f.fixed)
            v = values.get((ind.code, code, *combo))
            if v is not None:
                ws.write(row, value_col, v, f.entry_num)
                group_sum += float(v)
            else:
                ws.write_blank(row, value_col, None, f.entry_num)
            ws.data_validation(row, value_col, row, value_col, _number_rule(ind))
            detail_rows.append(row)
            row += 1
        if rest:
            put_row(row, {first: code}, f.total_label)
            ws.write_formula(row, value_col, _sum(detail_rows, value_col), f.total, group_sum)
            group_totals.append((row, group_sum))
            row += 1
        else:
            group_totals.append((detail_rows[0], group_sum))
    _name_block(ws, first_row, row - 1, ind, f, code_bottom=row)
    put_row(row, {}, f.total_label)
    ws.write(row, 1, _both(render("template.total")), f.total_label)
    ws.write_formula(
        row,
        value_col,
        _sum([r for r, _ in group_totals], value_col),
        f.total,
        sum(v for _, v in group_totals),
    )
    return row + 1


def _name_block(
    ws: Any, top: int, bottom: int, ind: Indicator, f: _Formats, code_bottom: int | None = None
) -> None:
    """The indicator's name once for rows ``top``..``bottom``, its code down to ``code_bottom``
    (the total row too: the reader needs the code there, the total row has its own label)."""
    name = f"{ind.vi} / {ind.en}"
    last = bottom if code_bottom is None else code_bottom
    if last > top:
        ws.merge_range(top, 0, last, 0, ind.code, f.code)
    else:
        ws.write(top, 0, ind.code, f.code)
    if bottom > top:
        ws.merge_range(top, 1, bottom, 1, name, f.fixed)
    else:
        ws.write(top, 1, name, f.fixed)


def _choice_range(catalogue: Catalogue, dimension: str) -> str:
    """The absolute range of ``dimension``'s choices on the lists sheet (see ``_write_lists``)."""
    col = list(_category_dimensions(catalogue)).index(dimension)
    n = len(catalogue.model.dimensions[dimension].values)
    first = xl_rowcol_to_cell(2, col, row_abs=True, col_abs=True)
    last = xl_rowcol_to_cell(n + 1, col, row_abs=True, col_abs=True)
    return f"='{LISTS_SHEET}'!{first}:{last}"


def _choices(catalogue: Catalogue, ind: Indicator) -> list[str]:
    """The labels a drop-down offers for ``ind`` (none for a figure)."""
    if ind.category_dimension is None:
        return []
    return [v.vi for v in catalogue.model.dimensions[ind.category_dimension].values.values()]


def _category_dimensions(catalogue: Catalogue) -> dict[str, None]:
    return {i.category_dimension: None for i in catalogue.indicators if i.category_dimension}


def _write_lists(wb: Any, catalogue: Catalogue, f: _Formats) -> None:
    """A title, then one column per categorical dimension: its heading, its Vietnamese labels."""
    ws = wb.add_worksheet(LISTS_SHEET)
    dims = list(_category_dimensions(catalogue))
    ws.write(0, 0, _both(render("template.lists_title"), "\n"), f.note)
    ws.set_row(0, 48)
    ws.set_row(1, 32)
    for col, dim in enumerate(dims):
        spec = catalogue.model.dimensions[dim]
        ws.write(1, col, f"{spec.vi} / {spec.en}", f.label)
        for r, label in enumerate(spec.values.values(), 2):
            ws.write(r, col, label.vi, f.fixed)
        ws.set_column(col, col, 60)
    _print_setup(ws)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})


def _sum(rows: list[int], col: int) -> str:
    return "=" + "+".join(xl_rowcol_to_cell(r, col) for r in rows)


def _number_rule(ind: Indicator) -> dict[str, Any]:
    kind = "integer" if ind.value_type.value == "integer" else "decimal"
    whole = render("template.whole_number") if kind == "integer" else None
    text = render(
        "template.number_error",
        whole=whole.vi if whole else "",
    )
    text_en = render("template.number_error", whole=whole.en if whole else "")
    return {
        "validate": kind,
        "criteria": ">=",
        "value": 0,
        "error_title": render("template.number_error_title").vi,
        "error_message": f"{text.vi}\n{text_en.en}",
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
