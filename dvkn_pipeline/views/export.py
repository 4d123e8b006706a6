"""The upper-level report: a roll-up as an Excel workbook and as a CSV file.

What the city (or a district) hands on is a workbook people open, print and
copy figures from, so it speaks Vietnamese first (English beside every label),
keeps numbers as numbers with thousands grouping, and puts the completeness
the figures rest on ("28/30 quận/huyện, 501/526 xã/phường") on the cover: a
total from half the communes must never look like a total from all of them.

Security: unit names come from data files and every other text may one day
come from a user, so no text cell may start a formula when opened in Excel or
LibreOffice (CSV/formula injection, OWASP). Text is written with
``write_string`` only (never ``write``, which turns ``=...`` into a formula),
the workbook is opened with every string-to-formula/number/URL conversion off,
and any text that a spreadsheet could read as a formula is prefixed with a
single quote ``'`` (:func:`safe_text`), in the workbook and in the CSV alike.

Pure functions: frames in, bytes out; no object store, no Prefect.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
import xlsxwriter

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy, Unit
from dvkn_pipeline.reference.levels import LevelError, canonical_level, level_labels
from dvkn_pipeline.reference.periods import Period
from schemas.catalogue import Aggregation, Indicator, ValueType

__all__ = [
    "COVER_SHEET",
    "CSV_COLUMNS",
    "export_csv",
    "export_xlsx",
    "safe_text",
]

COVER_SHEET = "Tổng quan"

CSV_COLUMNS = (
    "unit_code",
    "unit_name",
    "indicator",
    "name_vi",
    "name_en",
    "category",
    "value",
    "numerator",
    "denominator",
)


# Characters that make a spreadsheet read a cell as a formula (OWASP CSV
# injection), plus the full-width forms some spreadsheets also accept and the
# line feed that can hide a payload on a second line.
_FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")

_COMPLETENESS_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("expected", "Phải báo cáo", "Expected"),
    ("received", "Đã nhận", "Received"),
    ("accepted", "Hợp lệ", "Accepted"),
    ("rejected", "Bị từ chối", "Rejected"),
    ("on_time", "Đúng hạn", "On time"),
    ("late", "Trễ hạn", "Late"),
    ("missing", "Chưa báo cáo", "Missing"),
)

_INT_FORMAT = "#,##0"
_DEC_FORMAT = "#,##0.00"
_PCT_FORMAT = "0.00"


class ExportError(DvknError, ValueError):
    """An export that cannot be made as asked (level, period or hierarchy mismatch)."""


def safe_text(text: str) -> str:
    """``text`` as a spreadsheet will show it, never as a formula it would run.

    Text whose first character (or first after leading spaces) could start a
    formula (``= + - @``, tab, CR, LF, or their full-width forms) gets a
    leading single quote, as OWASP recommends for CSV injection; everything
    else is unchanged, so ordinary Vietnamese names are never altered.
    """
    stripped = text.lstrip(" ")
    if text and (text[0] in _FORMULA_START or (stripped and stripped[0] in _FORMULA_START)):
        return "'" + text
    return text


# -- what the report holds ------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One figure column of a section sheet, and one row per unit of the CSV."""

    indicator: Indicator
    category: str | None
    part: Literal["value", "numerator", "denominator"]
    vi: str
    en: str
    key: str
    num_format: str


@dataclass(frozen=True)
class _Row:
    code: str
    name: str
    is_total: bool


@dataclass(frozen=True)
class _Report:
    level: str
    root: Unit | None
    rows: tuple[_Row, ...]
    sections: tuple[tuple[str, tuple[_Column, ...]], ...]
    values: Mapping[tuple[str, str], float | None]


def _canonical_level(level: str, hierarchy: Hierarchy) -> str:
    try:
        lvl = canonical_level(level)
    except LevelError as exc:
        raise ExportError(str(exc)) from exc
    if lvl not in hierarchy.levels:
        raise ExportError(
            f"cấp {level!r} không có trong danh mục {hierarchy.version_id} / "
            f"level {level!r} is not in hierarchy {hierarchy.version_id} "
            f"(levels: {', '.join(hierarchy.levels)}; 'city' means province)"
        )
    return lvl


def _root(hierarchy: Hierarchy) -> Unit | None:
    """The single unit at the top, when there is one (a scoped hierarchy)."""
    tops = hierarchy.units_at(hierarchy.levels[0])
    return tops[0] if len(tops) == 1 else None


def _columns(catalogue: Catalogue) -> tuple[tuple[str, tuple[_Column, ...]], ...]:
    """Figure columns per section, in catalogue order.

    Sums show their total over all breakdowns; a status shows the number of
    units in each category; a ratio shows its value beside the numerator and
    denominator it was divided from, so a reader can check it.
    """
    out: list[tuple[str, tuple[_Column, ...]]] = []
    for section in catalogue.model.sections:
        cols: list[_Column] = []
        for ind in catalogue.indicators:
            if ind.section != section:
                continue
            unit_vi, unit_en = ind.unit.vi, ind.unit.en
            if ind.aggregation is Aggregation.SUM:
                fmt = _DEC_FORMAT if ind.value_type is ValueType.DECIMAL else _INT_FORMAT
                cols.append(
                    _Column(
                        ind,
                        None,
                        "value",
                        f"{ind.vi} ({unit_vi})",
                        f"{ind.en} ({unit_en})",
                        ind.code,
                        fmt,
                    )
                )
            elif ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
                assert ind.category_dimension is not None  # the catalogue model checks it
                dim = catalogue.model.dimensions[ind.category_dimension]
                for cat, label in dim.values.items():
                    cols.append(
                        _Column(
                            ind,
                            cat,
                            "value",
                            f"{ind.vi}: {label.vi} ({unit_vi})",
                            f"{ind.en}: {label.en} ({unit_en})",
                            f"{ind.code}:{cat}",
                            _INT_FORMAT,
                        )
                    )
            else:
                assert ind.numerator is not None and ind.denominator is not None
                num = catalogue.indicator(ind.numerator)
                den = catalogue.indicator(ind.denominator)
                cols += [
                    _Column(
                        ind,
                        None,
                        "value",
                        f"{ind.vi} ({unit_vi})",
                        f"{ind.en} ({unit_en})",
                        ind.code,
                        _PCT_FORMAT,
                    ),
                    _Column(
                        ind,
                        None,
                        "numerator",
                        f"Tử số: {num.vi}",
                        f"Numerator: {num.en}",
                        f"{ind.code}:numerator",
                        _DEC_FORMAT if num.value_type is ValueType.DECIMAL else _INT_FORMAT,
                    ),
                    _Column(
                        ind,
                        None,
                        "denominator",
                        f"Mẫu số: {den.vi}",
                        f"Denominator: {den.en}",
                        f"{ind.code}:denominator",
                        _DEC_FORMAT if den.value_type is ValueType.DECIMAL else _INT_FORMAT,
                    ),
                ]
        if cols:
            out.append((section, tuple(cols)))
    return tuple(out)


def _build(
    rollup: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    level: str,
    units: list[str] | None,
) -> _Report:
    """Everything both exports show, computed once so the workbook and CSV agree."""
    lvl = _canonical_level(level, hierarchy)
    root = _root(hierarchy)
    # Requested codes are looked up (a typo fails, naming the version), once each.
    chosen = dict.fromkeys(units) if units is not None else None
    listed = hierarchy.units_at(lvl) if chosen is None else [hierarchy.unit(c) for c in chosen]
    rows = [_Row(u.code, u.name, False) for u in listed]
    # The aggregating unit's own total closes the table (taken from the roll-up, not
    # re-added, so ratios stay re-divided), unless the list is a hand-picked subset
    # whose figures would not add up to it.
    if root is not None and units is None and lvl != root.level:
        rows.append(_Row(root.code, root.name, True))

    frame = _checked_rollup(rollup, hierarchy, period)
    codes = [r.code for r in rows]
    frame = frame.filter(pl.col("unit_code").is_in(codes))
    values: dict[tuple[str, str], float | None] = {}
    totals = (
        frame.group_by("unit_code", "indicator", "category")
        .agg(
            pl.col("value").sum().alias("value"),
            pl.col("value").is_not_null().any().alias("has_value"),
            pl.col("numerator").sum().alias("numerator"),
            pl.col("numerator").is_not_null().any().alias("has_numerator"),
            pl.col("denominator").sum().alias("denominator"),
            pl.col("denominator").is_not_null().any().alias("has_denominator"),
        )
        .iter_rows(named=True)
    )
    reported: set[tuple[str, str]] = set()
    for r in totals:
        ind_code = r["indicator"]
        if ind_code not in catalogue.by_code:
            continue  # an indicator retired from the catalogue has no column
        ind = catalogue.indicator(ind_code)
        unit = r["unit_code"]
        reported.add((unit, ind_code))
        if ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
            values[(unit, f"{ind_code}:{r['category']}")] = float(r["value"] or 0)
            continue
        # Sums (breakdowns added up) and ratios (one row, re-divided by the roll-up).
        values[(unit, ind_code)] = float(r["value"]) if r["has_value"] else None
        if ind.aggregation is Aggregation.RATIO:
            for part in ("numerator", "denominator"):
                has = r[f"has_{part}"]
                values[(unit, f"{ind_code}:{part}")] = float(r[part]) if has else None
    # A unit that reported a status has zero units in the other categories; a unit
    # without any figure for it keeps blank cells, so "no data" never reads as 0.
    sections = _columns(catalogue)
    for _, cols in sections:
        for col in cols:
            if col.category is not None:
                for unit in codes:
                    if (unit, col.indicator.code) in reported:
                        values.setdefault((unit, col.key), 0.0)
    return _Report(lvl, root, tuple(rows), sections, values)


def _checked_rollup(rollup: pl.DataFrame, hierarchy: Hierarchy, period: Period) -> pl.DataFrame:
    """The roll-up rows, refusing a frame of another period or hierarchy version.

    Unit codes mean different units in different hierarchy versions (the 2025
    reform reused them), so names from one version must not label figures of
    another.
    """
    needed = ["period", "unit_code", "indicator", "category", "value", "numerator", "denominator"]
    if rollup.is_empty():
        return pl.DataFrame(
            schema={c: pl.Float64 if c in needed[4:] else pl.String for c in needed}
        )
    periods = set(rollup["period"].unique().to_list())
    if periods != {period.code}:
        raise ExportError(
            f"the roll-up holds periods {sorted(map(str, periods))}, not {period.code}"
        )
    if "hierarchy_version" in rollup.columns:
        versions = set(rollup["hierarchy_version"].unique().to_list())
        if versions != {hierarchy.version_id}:
            raise ExportError(
                f"the roll-up was made with hierarchy {sorted(map(str, versions))}, "
                f"not {hierarchy.version_id}: unit codes would name the wrong units"
            )
    return rollup.select(needed)


# -- completeness -------------------------------------------------------------------


def _completeness_rows(
    completeness: pl.DataFrame, unit_code: str, hierarchy: Hierarchy
) -> list[dict[str, Any]]:
    """A unit's completeness rows, by period then from the top reporting level down."""
    if completeness.is_empty():
        return []
    order = {lvl: i for i, lvl in enumerate(hierarchy.levels)}
    rows = completeness.filter(pl.col("unit_code") == unit_code).to_dicts()
    return sorted(rows, key=lambda r: (r["period"], order.get(r["reporter_level"], 99)))


def _completeness_text(rows: list[dict[str, Any]], own_level: str | None) -> tuple[str, str]:
    """``28/30 quận/huyện, 501/526 xã/phường`` (accepted of expected), and in English.

    The aggregating unit's own report is left out of the sentence (it is in the
    table): the sentence answers "how many units below us have reported".
    Several periods (the months of a quarter) are listed one after the other.
    """
    if not rows:
        return "chưa có dữ liệu", "no data"
    by_period: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_period.setdefault(r["period"], []).append(r)
    vi_parts, en_parts = [], []
    for code, items in by_period.items():
        shown = [r for r in items if r["reporter_level"] != own_level] or items
        vi = ", ".join(
            f"{r['accepted']}/{r['expected']} {_labels(r['reporter_level'])[1]}" for r in shown
        )
        en = ", ".join(
            f"{r['accepted']}/{r['expected']} {_labels(r['reporter_level'])[3]}" for r in shown
        )
        prefix = f"{code}: " if len(by_period) > 1 else ""
        vi_parts.append(prefix + vi)
        en_parts.append(prefix + en)
    return (
        "; ".join(vi_parts) + " đã báo cáo hợp lệ",
        "; ".join(en_parts) + " reported (accepted of expected)",
    )


def _labels(level: str) -> tuple[str, str, str, str]:
    """(Vietnamese, Vietnamese after a number, English, English after a number)."""
    try:
        lv = level_labels(level)
    except LevelError:
        return (level, level, level, level)
    return (lv.vi, lv.vi_counted, lv.en, lv.en_counted)


# -- the workbook -----------------------------------------------------------------


def export_xlsx(
    rollup: pl.DataFrame,
    completeness: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    level: str,
    units: list[str] | None = None,
) -> bytes:
    """The upper-level report of ``period`` as an .xlsx workbook.

    ``rollup`` and ``completeness`` are the frames of :mod:`dvkn_pipeline.rollup.spatial`
    (or :func:`dvkn_pipeline.rollup.temporal.temporal_rollup`) for ``period``, made
    with ``hierarchy``; ``completeness`` may hold several periods (the months
    a quarter was built from), each of which is shown on the cover. ``level``
    is a hierarchy level or an alias (``city`` = province); one row per unit
    of that level, or of ``units``, then the aggregating unit's total.

    Sheets: the cover (:data:`COVER_SHEET`: title, period, hierarchy version,
    completeness) and one per catalogue section, named by its ``sheet``.
    """
    report = _build(rollup, hierarchy, catalogue, period, level, units)
    if not completeness.is_empty() and "hierarchy_version" in completeness.columns:
        versions = set(completeness["hierarchy_version"].unique().to_list())
        if versions != {hierarchy.version_id}:
            raise ExportError(
                f"the completeness was computed with hierarchy {sorted(map(str, versions))}, "
                f"not {hierarchy.version_id}"
            )
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties(
        {
            "title": f"Báo cáo Dân vận khéo {period.code}",
            "subject": "Dân vận khéo / Skilled Mass Mobilization",
            "comments": f"hierarchy {hierarchy.version_id}, catalogue {catalogue.version}",
        }
    )
    fmts = _Formats(wb)
    _write_cover(wb, fmts, report, completeness, hierarchy, catalogue, period)
    for section, cols in report.sections:
        _write_section(wb, fmts, report, catalogue, section, cols, hierarchy, period)
    wb.close()
    return buf.getvalue()


class _Formats:
    """The handful of cell formats the report uses, created once per workbook."""

    def __init__(self, wb: Any) -> None:
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.subtitle = wb.add_format({"italic": True, "font_color": "#555555"})
        self.label = wb.add_format({"bold": True})
        self.text = wb.add_format({"text_wrap": False})
        self.head_vi = wb.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1}
        )
        self.head_en = wb.add_format(
            {
                "italic": True,
                "text_wrap": True,
                "valign": "top",
                "font_color": "#444444",
                "bg_color": "#F2F2F2",
                "border": 1,
            }
        )
        self.code_row = wb.add_format({"font_size": 8, "font_color": "#808080", "border": 1})
        self.cell = wb.add_format({"border": 1})
        self.total = wb.add_format({"border": 1, "bold": True})
        self.numbers: dict[tuple[str, bool], Any] = {}
        for fmt in (_INT_FORMAT, _DEC_FORMAT, _PCT_FORMAT):
            for bold in (False, True):
                self.numbers[(fmt, bold)] = wb.add_format(
                    {"num_format": fmt, "border": 1, "bold": bold}
                )


def _text(ws: Any, row: int, col: int, value: str, fmt: Any = None) -> None:
    """The only way text reaches a cell: as a string, guarded against formulas."""
    ws.write_string(row, col, safe_text(value), fmt)


def _number(ws: Any, row: int, col: int, value: float | None, fmt: Any = None) -> None:
    """A number as a number; no figure (or no defined ratio) stays a blank cell."""
    if value is None or not math.isfinite(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, value, fmt)


def _write_cover(
    wb: Any,
    fmts: _Formats,
    report: _Report,
    completeness: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
) -> None:
    ws = wb.add_worksheet(COVER_SHEET)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 44)
    ws.set_column(2, 10, 14)
    _text(ws, 0, 0, 'BÁO CÁO KẾT QUẢ PHONG TRÀO THI ĐUA "DÂN VẬN KHÉO"', fmts.title)
    _text(ws, 1, 0, 'Report on the "Skilled Mass Mobilization" emulation movement', fmts.subtitle)

    root = report.root
    vi_lvl, _, en_lvl, _ = _labels(report.level)
    comp_rows = _completeness_rows(completeness, root.code, hierarchy) if root else []
    comp_vi, comp_en = _completeness_text(comp_rows, root.level if root else None)
    facts = [
        ("Đơn vị tổng hợp / Aggregating unit", f"{root.name} ({root.code})" if root else "—"),
        ("Kỳ báo cáo / Period", f"{period.label_vi} ({period.label_en}, {period.code})"),
        ("Cấp chi tiết / Level shown", f"{vi_lvl} / {en_lvl}"),
        ("Danh mục đơn vị hành chính / Hierarchy version", hierarchy.version_id),
        ("Danh mục chỉ tiêu / Indicator catalogue", catalogue.version),
        ("Tình hình báo cáo", comp_vi),
        ("Completeness", comp_en),
    ]
    for i, (label, value) in enumerate(facts, start=3):
        _text(ws, i, 0, label, fmts.label)
        _text(ws, i, 1, value, fmts.text)

    row = 3 + len(facts) + 1
    _text(ws, row, 0, "Tình hình báo cáo theo cấp / Completeness by reporting level", fmts.label)
    row += 1
    row = _completeness_table(ws, fmts, row, comp_rows, with_unit=None)

    # Each listed unit's own completeness, so a row of figures can be read against it.
    listed = [r for r in report.rows if not r.is_total]
    if root is None or report.level != root.level:
        per_unit = [(r, _completeness_rows(completeness, r.code, hierarchy)) for r in listed]
        if any(rows for _, rows in per_unit):
            row += 1
            _text(ws, row, 0, "Tình hình báo cáo theo đơn vị / Completeness by unit", fmts.label)
            row += 1
            _completeness_table(ws, fmts, row, [], with_unit=per_unit)


def _completeness_table(
    ws: Any,
    fmts: _Formats,
    row: int,
    rows: list[dict[str, Any]],
    with_unit: list[tuple[_Row, list[dict[str, Any]]]] | None,
) -> int:
    """Write a completeness table at ``row``; returns the first row after it."""
    lead_vi = ["Kỳ", "Cấp báo cáo"]
    lead_en = ["Period", "Reporting level"]
    if with_unit is not None:
        lead_vi = ["Mã đơn vị", "Tên đơn vị", *lead_vi]
        lead_en = ["Unit code", "Unit name", *lead_en]
    heads_vi = [*lead_vi, *(f[1] for f in _COMPLETENESS_FIELDS), "Tỷ lệ hợp lệ (%)"]
    heads_en = [*lead_en, *(f[2] for f in _COMPLETENESS_FIELDS), "Accepted (%)"]
    for c, (vi, en) in enumerate(zip(heads_vi, heads_en, strict=True)):
        _text(ws, row, c, vi, fmts.head_vi)
        _text(ws, row + 1, c, en, fmts.head_en)
    row += 2
    items: list[tuple[_Row | None, dict[str, Any]]] = (
        [(None, r) for r in rows]
        if with_unit is None
        else [(u, r) for u, unit_rows in with_unit for r in unit_rows]
    )
    if not items:
        _text(ws, row, 0, "Chưa có dữ liệu / no data", fmts.cell)
        return row + 1
    for unit, r in items:
        c = 0
        if unit is not None:
            _text(ws, row, 0, unit.code, fmts.cell)
            _text(ws, row, 1, unit.name, fmts.cell)
            c = 2
        vi, _, en, _ = _labels(r["reporter_level"])
        _text(ws, row, c, str(r["period"]), fmts.cell)
        _text(ws, row, c + 1, f"{vi} / {en}", fmts.cell)
        c += 2
        for field, _, _ in _COMPLETENESS_FIELDS:
            _number(ws, row, c, float(r[field]), fmts.numbers[(_INT_FORMAT, False)])
            c += 1
        share = 100 * r["accepted"] / r["expected"] if r["expected"] else None
        _number(ws, row, c, share, fmts.numbers[(_PCT_FORMAT, False)])
        row += 1
    return row


#: Where a section sheet's parts sit (0-based rows), for readers and tests alike.
HEADER_VI_ROW, HEADER_EN_ROW, CODE_ROW, FIRST_DATA_ROW = 4, 5, 6, 7


def _write_section(
    wb: Any,
    fmts: _Formats,
    report: _Report,
    catalogue: Catalogue,
    section: str,
    cols: tuple[_Column, ...],
    hierarchy: Hierarchy,
    period: Period,
) -> None:
    meta = catalogue.model.sections[section]
    ws = wb.add_worksheet(meta.sheet)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 32)
    ws.set_column(2, 1 + len(cols), 18)
    _text(ws, 0, 0, f"{meta.vi} — {period.label_vi}", fmts.title)
    _text(ws, 1, 0, f"{meta.en} — {period.label_en}", fmts.subtitle)
    root = report.root
    vi_lvl, _, en_lvl, _ = _labels(report.level)
    where = f"{root.name} ({root.code}) · " if root else ""
    _text(
        ws,
        2,
        0,
        f"{where}Cấp / Level: {vi_lvl} / {en_lvl} · "
        f"Danh mục đơn vị / Hierarchy: {hierarchy.version_id}",
        fmts.subtitle,
    )
    heads = [("Mã đơn vị", "Unit code", ""), ("Tên đơn vị", "Unit name", "")]
    heads += [(c.vi, c.en, c.key) for c in cols]
    for c, (vi, en, key) in enumerate(heads):
        _text(ws, HEADER_VI_ROW, c, vi, fmts.head_vi)
        _text(ws, HEADER_EN_ROW, c, en, fmts.head_en)
        _text(ws, CODE_ROW, c, key, fmts.code_row)
    ws.set_row(HEADER_VI_ROW, 60)
    ws.set_row(HEADER_EN_ROW, 45)
    for i, unit in enumerate(report.rows):
        r = FIRST_DATA_ROW + i
        style = fmts.total if unit.is_total else fmts.cell
        name = f"Tổng cộng / Total: {unit.name}" if unit.is_total else unit.name
        _text(ws, r, 0, unit.code, style)
        _text(ws, r, 1, name, style)
        for j, col in enumerate(cols, start=2):
            fmt = fmts.numbers[(col.num_format, unit.is_total)]
            _number(ws, r, j, report.values.get((unit.code, col.key)), fmt)
    ws.freeze_panes(FIRST_DATA_ROW, 2)


# -- the CSV ----------------------------------------------------------------------


def export_csv(
    rollup: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    level: str,
    units: list[str] | None = None,
) -> bytes:
    """The figures of the workbook's section sheets in long form, as UTF-8 CSV with a BOM.

    Columns :data:`CSV_COLUMNS`; one row per unit and figure (a status gives one
    row per category, a ratio one row with its numerator and denominator).
    The BOM makes Excel read Vietnamese correctly; numbers use ``.`` for
    decimals and no grouping so that programs read them back unambiguously;
    an empty value means nobody reported the figure. Text is guarded against
    formula injection like the workbook's.
    """
    report = _build(rollup, hierarchy, catalogue, period, level, units)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for unit in report.rows:
        for _, cols in report.sections:
            for col in cols:
                if col.part != "value":
                    continue  # numerator and denominator ride on the ratio's row
                ind = col.indicator
                num = den = ""
                if ind.aggregation is Aggregation.RATIO:
                    num = _csv_number(report.values.get((unit.code, f"{ind.code}:numerator")))
                    den = _csv_number(report.values.get((unit.code, f"{ind.code}:denominator")))
                writer.writerow(
                    [
                        safe_text(unit.code),
                        safe_text(unit.name),
                        safe_text(ind.code),
                        safe_text(ind.vi),
                        safe_text(ind.en),
                        safe_text(col.category or ""),
                        _csv_number(report.values.get((unit.code, col.key))),
                        num,
                        den,
                    ]
                )
    return buf.getvalue().encode("utf-8-sig")


def _csv_number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
