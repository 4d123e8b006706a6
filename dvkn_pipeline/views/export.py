"""The upper-level report: a roll-up as an official Excel workbook and as a CSV file.

What the city (or a district) hands on is a document people print, sign, send
upward and copy figures from, so it reads as one (Decree 30/2020/NĐ-CP
layout): the issuing body and its number top left, the motto and "place,
date" top right, the title with the period as written in Vietnamese, the
tables of the report form, and the signature block. It speaks Vietnamese;
English is a second line in each heading only. Machine codes (indicator and
category codes, row roles) sit in one hidden row and one hidden column, and
in the CSV, where programs read them.

Every total equals the sum of the rows above it: the aggregating unit's own
report (its own models, which its roll-up includes) is a row of its own
("Báo cáo của cấp thành phố"), and at the commune level each district's
communes and own report close with the district's subtotal. Figures resting
on part of the units carry the completeness caveat on every sheet, not only
on the cover. Sheets print on A4, fit to the page width, headings repeated.

Security: unit names come from data files and every other text may one day
come from a user, so no text cell may start a formula when opened in Excel or
LibreOffice (CSV/formula injection, OWASP). Text is written with
``write_string``/``write_rich_string`` only (never ``write``, which turns
``=...`` into a formula), the workbook is opened with every
string-to-formula/number/URL conversion off, and any text that a spreadsheet
could read as a formula is prefixed with a single quote ``'``
(:func:`safe_text`), in the workbook and in the CSV alike.

Pure functions: frames in, bytes out; no object store, no Prefect.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import polars as pl
import xlsxwriter

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy, Unit
from dvkn_pipeline.reference.levels import LevelError, canonical_level, level_labels
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import own_reports
from schemas.approval import Basis, load_approval_config
from schemas.catalogue import Aggregation, Indicator, ValueType
from schemas.report_header import ReportHeader, load_report_header

__all__ = [
    "COVER_SHEET",
    "CSV_COLUMNS",
    "ROW_ROLE_KEY",
    "ExportError",
    "export_csv",
    "export_xlsx",
    "period_in_words",
    "safe_text",
]

COVER_SHEET = "Tổng quan"

#: The hidden row of every section sheet holds each column's machine key; the
#: hidden last column holds each row's role: ``unit|<parent>``, ``own|<parent>``,
#: ``subtotal|<parent>`` or ``total|``, where ``<parent>`` is the code of the
#: total the row adds into (a total's code is in the code column).
ROW_ROLE_KEY = "row_role"
CODE_KEY = "unit_code"
NAME_KEY = "unit_name"

RowKind = Literal["unit", "own", "subtotal", "total"]

CSV_COLUMNS = (
    "unit_code",
    "unit_name",
    "row_kind",
    "parent_code",
    "indicator",
    "name_vi",
    "name_en",
    "field",
    "model_level",
    "holder",
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
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


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


def period_in_words(period: Period) -> str:
    """The period as a Vietnamese title writes it: ``quý I năm 2025``, ``tháng 3 năm 2025``."""
    kind, i, y = period.type_id, period.index, period.year
    if kind == "month":
        return f"tháng {i} năm {y}"
    if kind == "quarter":
        return f"quý {_ROMAN.get(i, i)} năm {y}"
    if kind == "half":
        return f"6 tháng {'đầu' if i == 1 else 'cuối'} năm {y}"
    if kind == "nine_months":
        return f"9 tháng năm {y}"
    if kind == "year":
        return f"năm {y}"
    return period.label_vi


def date_in_words(place: str, day: date) -> str:
    """``Hà Nội, ngày 20 tháng 4 năm 2025`` (days and months below 10 as written: ``ngày 05``)."""
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


# -- what the report holds ------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """One figure column of a section sheet (one cell of the report form per unit)."""

    indicator: Indicator
    part: Literal["value", "numerator", "denominator"]
    #: Breakdown this column sums over: dimension -> value ({} for the indicator's total).
    where: Mapping[str, str]
    #: Heading path, outermost first: (vi, en) pairs; equal leading parts merge.
    path: tuple[tuple[str, str], ...]
    key: str
    num_format: str

    @property
    def additive(self) -> bool:
        """A ratio's value is re-divided, never added; every other cell adds up."""
        return not (self.indicator.aggregation is Aggregation.RATIO and self.part == "value")


@dataclass(frozen=True)
class _Row:
    key: str  # what values are keyed by: the unit code, or "own:<code>"
    code: str
    name: str
    kind: RowKind
    parent: str  # the code of the total this row adds into ("" for the grand total)

    @property
    def role(self) -> str:
        return f"{self.kind}|{self.parent}"


@dataclass(frozen=True)
class _Report:
    level: str
    root: Unit | None
    rows: tuple[_Row, ...]
    sections: tuple[tuple[str, tuple[_Column, ...]], ...]
    values: Mapping[tuple[str, str], float | None]
    caveat: tuple[str, str] | None = None
    completeness: tuple[str, str] = ("chưa có dữ liệu", "no data")
    comp_rows: list[dict[str, Any]] = field(default_factory=list)
    #: Which figures: approved only, or all accepted (vi, en), printed on every sheet.
    basis: tuple[str, str] = ("", "")


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


def _dim_label(catalogue: Catalogue, dim: str, value: str) -> tuple[str, str]:
    label = catalogue.model.dimensions[dim].values[value]
    return label.vi, label.en


def _by(catalogue: Catalogue, dim: str) -> tuple[str, str]:
    d = catalogue.model.dimensions[dim]
    return f"Chia theo {d.vi.lower()}", f"By {d.en.lower()}"


def _sum_columns(catalogue: Catalogue, ind: Indicator) -> list[_Column]:
    """A sum and its breakdowns as the report form lays them out.

    The total first, then by each dimension; when the holder (collective or
    individual) is one of them, the first dimension (the field) is crossed
    with it and the holder's own totals follow.
    """
    fmt = _DEC_FORMAT if ind.value_type is ValueType.DECIMAL else _INT_FORMAT
    head = (ind.vi + f" ({ind.unit.vi})", ind.en + f" ({ind.unit.en})")
    dims = list(ind.dimensions)
    if not dims:
        return [_Column(ind, "value", {}, (head,), ind.code, fmt)]
    cols = [_Column(ind, "value", {}, (head, ("Tổng số", "Total")), ind.code, fmt)]
    holder = "holder" if "holder" in dims else None
    rest = [d for d in dims if d != holder]
    for i, dim in enumerate(rest):
        values = list(catalogue.model.dimensions[dim].values)
        if holder is not None and i == 0:
            hv = list(catalogue.model.dimensions[holder].values)
            group = (
                f"{_by(catalogue, dim)[0]} và {catalogue.model.dimensions[holder].vi.lower()}",
                f"{_by(catalogue, dim)[1]} and {catalogue.model.dimensions[holder].en.lower()}",
            )
            for v in values:
                for h in hv:
                    cols.append(
                        _Column(
                            ind,
                            "value",
                            {dim: v, holder: h},
                            (
                                head,
                                group,
                                _dim_label(catalogue, dim, v),
                                _dim_label(catalogue, holder, h),
                            ),
                            f"{ind.code}[{dim}={v},{holder}={h}]",
                            fmt,
                        )
                    )
            for h in hv:
                cols.append(
                    _Column(
                        ind,
                        "value",
                        {holder: h},
                        (head, _by(catalogue, holder), _dim_label(catalogue, holder, h)),
                        f"{ind.code}[{holder}={h}]",
                        fmt,
                    )
                )
            continue
        for v in values:
            cols.append(
                _Column(
                    ind,
                    "value",
                    {dim: v},
                    (head, _by(catalogue, dim), _dim_label(catalogue, dim, v)),
                    f"{ind.code}[{dim}={v}]",
                    fmt,
                )
            )
    return cols


def _columns(catalogue: Catalogue) -> tuple[tuple[str, tuple[_Column, ...]], ...]:
    """Figure columns per section, in catalogue order.

    Sums show their total and breakdowns; a status shows the number of units
    in each category; a ratio shows its value beside the numerator and
    denominator it was divided from, so a reader can check it.
    """
    out: list[tuple[str, tuple[_Column, ...]]] = []
    for section in catalogue.model.sections:
        cols: list[_Column] = []
        for ind in catalogue.indicators:
            if ind.section != section:
                continue
            head = (f"{ind.vi} ({ind.unit.vi})", f"{ind.en} ({ind.unit.en})")
            if ind.aggregation is Aggregation.SUM:
                cols += _sum_columns(catalogue, ind)
            elif ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
                assert ind.category_dimension is not None  # the catalogue model checks it
                dim = catalogue.model.dimensions[ind.category_dimension]
                for cat, label in dim.values.items():
                    cols.append(
                        _Column(
                            ind,
                            "value",
                            {"category": cat},
                            (head, (label.vi, label.en)),
                            f"{ind.code}:{cat}",
                            _INT_FORMAT,
                        )
                    )
            else:
                assert ind.numerator is not None and ind.denominator is not None
                num = catalogue.indicator(ind.numerator)
                den = catalogue.indicator(ind.denominator)
                head = (ind.vi, ind.en)
                cols += [
                    _Column(
                        ind,
                        "value",
                        {},
                        (head, (f"Tỷ lệ ({ind.unit.vi})", f"Rate ({ind.unit.en})")),
                        ind.code,
                        _PCT_FORMAT,
                    ),
                    _Column(
                        ind,
                        "numerator",
                        {},
                        (head, (f"Tử số: {num.vi}", f"Numerator: {num.en}")),
                        f"{ind.code}:numerator",
                        _DEC_FORMAT if num.value_type is ValueType.DECIMAL else _INT_FORMAT,
                    ),
                    _Column(
                        ind,
                        "denominator",
                        {},
                        (head, (f"Mẫu số: {den.vi}", f"Denominator: {den.en}")),
                        f"{ind.code}:denominator",
                        _DEC_FORMAT if den.value_type is ValueType.DECIMAL else _INT_FORMAT,
                    ),
                ]
        if cols:
            out.append((section, tuple(cols)))
    return tuple(out)


def _own_name(unit: Unit) -> str:
    kind = unit.division_type.replace(" trung ương", "").replace(" thuộc tỉnh", "").strip()
    return f"Báo cáo của cấp {kind or unit.level}: {unit.name}"


def _rows(hierarchy: Hierarchy, lvl: str, root: Unit | None, units: list[str] | None) -> list[_Row]:
    """The rows of the tables, in print order, each saying which total it adds into."""
    if units is not None:
        # Requested codes are looked up (a typo fails, naming the version), once each;
        # a hand-picked subset has no total, its figures would not add up to one.
        return [
            _Row(u.code, u.code, u.name, "unit", "")
            for u in (hierarchy.unit(c) for c in dict.fromkeys(units))
        ]
    if root is None or lvl == root.level:
        return [_Row(u.code, u.code, u.name, "unit", "") for u in hierarchy.units_at(lvl)]

    def block(unit: Unit, parent: str) -> list[_Row]:
        out: list[_Row] = []
        for child in hierarchy.children(unit.code):
            if child.level == lvl or not hierarchy.children(child.code):
                out.append(_Row(child.code, child.code, child.name, "unit", unit.code))
            else:
                out += block(child, unit.code)
        out.append(_Row(f"own:{unit.code}", unit.code, _own_name(unit), "own", unit.code))
        if parent:
            out.append(_Row(unit.code, unit.code, f"Cộng: {unit.name}", "subtotal", parent))
        else:
            out.append(_Row(unit.code, unit.code, f"Tổng cộng: {unit.name}", "total", ""))
        return out

    return block(root, "")


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
    rows = _rows(hierarchy, lvl, root, units)
    frame = _checked_rollup(rollup, hierarchy, period, catalogue)
    # Totals and listed units from the roll-up (so ratios stay re-divided), own
    # reports as each aggregating unit's total less its children's.
    listed = {r.key for r in rows if r.kind != "own"}
    owners = {r.code for r in rows if r.kind == "own"}
    parts = [frame.filter(pl.col("unit_code").is_in(sorted(listed)))]
    if owners:
        own = own_reports(frame, hierarchy, catalogue).filter(
            pl.col("unit_code").is_in(sorted(owners))
        )
        parts.append(own.with_columns(("own:" + pl.col("unit_code")).alias("unit_code")))
    data = pl.concat([p.select(frame.columns) for p in parts], how="vertical_relaxed")

    sections = _columns(catalogue)
    by_indicator: dict[str, list[_Column]] = {}
    for _, cols in sections:
        for col in cols:
            by_indicator.setdefault(col.indicator.code, []).append(col)
    values: dict[tuple[str, str], float | None] = {}
    reported: set[tuple[str, str]] = set()
    for r in data.iter_rows(named=True):
        ind_code = r["indicator"]
        if ind_code not in by_indicator:
            continue  # an indicator retired from the catalogue has no column
        reported.add((r["unit_code"], ind_code))
        for col in by_indicator[ind_code]:
            if any(r.get(d) != v for d, v in col.where.items()):
                continue
            key = (r["unit_code"], col.key)
            got = r[col.part] if col.part != "value" else r["value"]
            if got is None:
                values.setdefault(key, None)
                continue
            if col.indicator.aggregation is Aggregation.RATIO:
                values[key] = float(got)
            else:
                values[key] = (values.get(key) or 0.0) + float(got)
    # A unit that reported a figure has 0 in the breakdowns and categories it left
    # empty; a unit without any figure for it keeps blank cells, so "no data" never
    # reads as 0.
    for ind_cols in by_indicator.values():
        for col in ind_cols:
            if col.additive:
                for row in rows:
                    if (row.key, col.indicator.code) in reported:
                        values.setdefault((row.key, col.key), 0.0)
    return _Report(lvl, root, tuple(rows), sections, values)


def _checked_rollup(
    rollup: pl.DataFrame, hierarchy: Hierarchy, period: Period, catalogue: Catalogue
) -> pl.DataFrame:
    """The roll-up rows, refusing a frame of another period or hierarchy version.

    Unit codes mean different units in different hierarchy versions (the 2025
    reform reused them), so names from one version must not label figures of
    another.
    """
    dims = list(catalogue.dimension_columns)
    needed = ["unit_code", "indicator", *dims, "value", "numerator", "denominator"]
    if rollup.is_empty():
        return pl.DataFrame(
            schema={c: pl.Float64 if c in needed[-3:] else pl.String for c in needed}
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


def _caveat(rows: list[dict[str, Any]], text: tuple[str, str]) -> tuple[str, str] | None:
    """The warning every sheet carries while not every expected unit has reported."""
    expected = sum(int(r["expected"]) for r in rows)
    accepted = sum(int(r["accepted"]) for r in rows)
    if rows and expected and accepted >= expected:
        return None
    share = f"{100 * accepted / expected:.1f}" if expected else "0"
    return (
        f"Lưu ý: số liệu chưa đầy đủ, tổng hợp từ {text[0].removesuffix(' đã báo cáo hợp lệ')}"
        f" đã báo cáo hợp lệ ({share.replace('.', ',')}% đơn vị phải báo cáo).",
        f"Note: provisional figures, from {text[1].removesuffix(' reported (accepted of expected)')}"
        f" reported ({share}% of the units expected).",
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
    header: ReportHeader | None = None,
    basis: Basis = "accepted",
) -> bytes:
    """The upper-level report of ``period`` as an .xlsx workbook.

    ``rollup`` and ``completeness`` are the frames of :mod:`dvkn_pipeline.rollup.spatial`
    (or :func:`dvkn_pipeline.rollup.temporal.temporal_rollup`) for ``period``, made
    with ``hierarchy``; ``completeness`` may hold several periods (the months
    a quarter was built from), each of which is shown on the cover. ``level``
    is a hierarchy level or an alias (``city`` = province); one row per unit
    of that level (or of ``units``), the aggregating units' own reports and
    their totals. ``header``: letterhead and signature
    (``schemas/report_header.yaml`` when None; its date today when unset).

    Sheets: the cover (:data:`COVER_SHEET`: letterhead, title, period, hierarchy
    version, completeness) and one per catalogue section, named by its ``sheet``.
    ``basis`` says whether ``rollup`` holds approved figures only or every accepted
    report; every sheet says which (words from ``schemas/approval.yaml``).
    """
    head = header or load_report_header()
    words = load_approval_config().basis[basis]
    report = _build(rollup, hierarchy, catalogue, period, level, units)
    if not completeness.is_empty() and "hierarchy_version" in completeness.columns:
        versions = set(completeness["hierarchy_version"].unique().to_list())
        if versions != {hierarchy.version_id}:
            raise ExportError(
                f"the completeness was computed with hierarchy {sorted(map(str, versions))}, "
                f"not {hierarchy.version_id}"
            )
    root = report.root
    comp_rows = _completeness_rows(completeness, root.code, hierarchy) if root else []
    comp_text = _completeness_text(comp_rows, root.level if root else None)
    own_level = root.level if root else None
    below = [r for r in comp_rows if r["reporter_level"] != own_level] or comp_rows
    report = _Report(
        report.level,
        report.root,
        report.rows,
        report.sections,
        report.values,
        _caveat(below, comp_text),
        comp_text,
        comp_rows,
        (words.vi, words.en),
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
            "author": head.body,
            "comments": f"hierarchy {hierarchy.version_id}, catalogue {catalogue.version}",
        }
    )
    fmts = _Formats(wb)
    _write_cover(wb, fmts, report, completeness, hierarchy, catalogue, period, head)
    for sheet in _sheets(report, catalogue):
        _write_section(wb, fmts, report, sheet, hierarchy, period, head)
    wb.close()
    return buf.getvalue()


_FONT = "Times New Roman"


class _Formats:
    """The handful of cell formats the report uses, created once per workbook."""

    def __init__(self, wb: Any) -> None:
        def fmt(**kw: Any) -> Any:
            return wb.add_format({"font_name": _FONT, "font_size": 11, **kw})

        self.fmt = fmt
        self.body_top = fmt(align="center", valign="top", text_wrap=True)
        self.body_name = fmt(bold=True, align="center", valign="top", text_wrap=True)
        self.motto = fmt(bold=True, align="center", valign="top", text_wrap=True)
        self.place = fmt(italic=True, align="center", valign="top")
        self.title = fmt(bold=True, font_size=13, align="center", valign="vcenter", text_wrap=True)
        self.subtitle = fmt(italic=True, align="center", valign="top", text_wrap=True)
        self.basis = fmt(bold=True, align="center", valign="top", text_wrap=True)
        self.caveat = fmt(bold=True, font_color="#C00000", text_wrap=True, valign="top", border=1)
        self.caveat_vi = wb.add_format({"font_name": _FONT, "bold": True, "font_color": "#C00000"})
        self.caveat_en = wb.add_format(
            {"font_name": _FONT, "italic": True, "font_size": 9, "font_color": "#C00000"}
        )
        self.label = fmt(bold=True, valign="top")
        self.text = fmt(valign="top", text_wrap=True)
        self.head = fmt(bold=True, text_wrap=True, align="center", valign="vcenter", border=1)
        self.vi = wb.add_format({"font_name": _FONT, "bold": True, "font_size": 10})
        self.en = wb.add_format(
            {"font_name": _FONT, "italic": True, "font_size": 9, "font_color": "#404040"}
        )
        self.code_row = fmt(font_size=8, font_color="#808080")
        self.cell = fmt(border=1, valign="top")
        self.own = fmt(border=1, italic=True, valign="top")
        self.total = fmt(border=1, bold=True, valign="top")
        self.sign = fmt(bold=True, align="center")
        self.sign_name = fmt(bold=True, align="center")
        self.recipients_head = fmt(bold=True, italic=True, font_size=10)
        self.recipients = fmt(font_size=9)
        self.numbers: dict[tuple[str, str], Any] = {}
        for nf in (_INT_FORMAT, _DEC_FORMAT, _PCT_FORMAT):
            for kind in ("unit", "own", "subtotal", "total"):
                self.numbers[(nf, kind)] = fmt(
                    num_format=nf,
                    border=1,
                    bold=kind in ("subtotal", "total"),
                    italic=kind == "own",
                )


def _text(ws: Any, row: int, col: int, value: str, fmt: Any = None) -> None:
    """The only way text reaches a cell: as a string, guarded against formulas."""
    ws.write_string(row, col, safe_text(value), fmt)


def _merged(ws: Any, row: int, first: int, last: int, value: str, fmt: Any, rows: int = 1) -> None:
    """Text over a merged range (or one cell), guarded like :func:`_text`."""
    if last > first or rows > 1:
        ws.merge_range(row, first, row + rows - 1, last, "", fmt)
    _text(ws, row, first, value, fmt)


def _bilingual(
    ws: Any, fmts: _Formats, row: int, first: int, last: int, vi: str, en: str, rows: int = 1
) -> None:
    """A heading cell: Vietnamese, and English in small italics on a second line."""
    if last > first or rows > 1:
        ws.merge_range(row, first, row + rows - 1, last, "", fmts.head)
    ws.write_rich_string(row, first, fmts.vi, safe_text(vi), fmts.en, "\n" + en, fmts.head)


def _number(ws: Any, row: int, col: int, value: float | None, fmt: Any = None) -> None:
    """A number as a number; no figure (or no defined ratio) stays a blank cell."""
    if value is None or not math.isfinite(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, value, fmt)


def _text_width(text: str) -> float:
    """Columns a line of text needs in an 11-point serif font (upper case is wider)."""
    return sum(1.25 if ch.isupper() else 1.0 for ch in text) + 2


def _lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` wide (word wrap, roughly)."""
    total = 0
    for part in text.split("\n"):
        n, used = 1, 0.0
        for word in part.split(" "):
            w = _text_width(word) - 2 + 1
            if used and used + w > width - 1:
                n, used = n + 1, w
            else:
                used += w
        total += n
    return total


def _letterhead(ws: Any, fmts: _Formats, last_col: int, head: ReportHeader, split: int) -> int:
    """Issuing body, number, motto and "place, date" (Decree 30/2020 layout); next free row."""
    right = split + 1
    _merged(ws, 0, 0, split, head.superior, fmts.body_top)
    _merged(ws, 1, 0, split, head.body, fmts.body_name)
    _merged(ws, 2, 0, split, "*", fmts.body_top)
    _merged(ws, 3, 0, split, f"Số: {head.number}" if head.number else "", fmts.body_top)
    motto = list(head.motto) or [""]
    for i in range(3):
        text = motto[i] if i < len(motto) else ""
        _merged(ws, i, right, last_col, text, fmts.motto)
    day = head.issued_on or date.today()
    _merged(ws, 3, right, last_col, date_in_words(head.place, day), fmts.place)
    return 5


def _signature(ws: Any, fmts: _Formats, row: int, last_col: int, head: ReportHeader) -> int:
    """Recipients bottom left, the signature block bottom right; first free row after it."""
    split = max(1, last_col // 2)
    right = split + 1 if last_col > 1 else 1
    r = row + 1
    lines = [head.on_behalf, head.position]
    for i, text in enumerate(lines):
        if text:
            _merged(ws, r + i, right, last_col, text, fmts.sign)
    _merged(ws, r + 5, right, last_col, head.signer, fmts.sign_name)
    if head.recipients:
        _text(ws, r, 0, "Nơi nhận:", fmts.recipients_head)
        for i, text in enumerate(head.recipients, start=1):
            _merged(ws, r + i, 0, split, f"– {text}", fmts.recipients)
    return r + 6


def _caveat_line(
    ws: Any, fmts: _Formats, row: int, widths: Mapping[int, float], report: _Report
) -> int:
    """The completeness warning across the sheet, when figures rest on part of the units."""
    if report.caveat is None:
        return row
    vi, en = report.caveat
    last_col = max(widths)
    width = sum(widths.values())
    lines = _lines(vi, width) + _lines(en, width)
    ws.merge_range(row, 0, row, last_col, "", fmts.caveat)
    ws.write_rich_string(
        row, 0, fmts.caveat_vi, safe_text(vi), fmts.caveat_en, "\n" + en, fmts.caveat
    )
    ws.set_row(row, 15 * lines + 2)
    return row + 2


def _set_widths(ws: Any, widths: Mapping[int, float]) -> None:
    for c, w in widths.items():
        ws.set_column(c, c, w)


def _print_setup(ws: Any, landscape: bool, repeat: tuple[int, int] | None) -> None:
    """A4, fit to the page width (as many pages down as needed), headings on every page."""
    ws.set_paper(9)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.6, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    if repeat is not None:
        ws.repeat_rows(*repeat)
    ws.set_footer("&C&9Trang &P/&N")
    ws.hide_gridlines(2)


def _write_cover(
    wb: Any,
    fmts: _Formats,
    report: _Report,
    completeness: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    head: ReportHeader,
) -> None:
    ws = wb.add_worksheet(COVER_SHEET)
    root = report.root
    vi_lvl, _, en_lvl, _ = _labels(report.level)
    comp_rows = report.comp_rows
    listed = [r for r in report.rows if r.kind == "unit"]
    per_unit: list[tuple[_Row, list[dict[str, Any]]]] = []
    if root is None or report.level != root.level:
        per_unit = [(r, _completeness_rows(completeness, r.code, hierarchy)) for r in listed]
        per_unit = [(r, rows) for r, rows in per_unit if rows]

    # Widths from content: the completeness tables set the grid (10 or 12 columns).
    n_cols = 12 if per_unit else 10
    widths: dict[int, float] = {c: 9.0 for c in range(n_cols)}
    lead = 2 if per_unit else 0
    if per_unit:
        widths[0] = 8
        widths[1] = max(_text_width(r.name) for r, _ in per_unit)
    widths[lead] = max(9, _text_width(max((str(r["period"]) for r in comp_rows), default="")))
    level_texts = [f"{_labels(r['reporter_level'])[0]}" for r in comp_rows]
    widths[lead + 1] = max([14.0, *(_text_width(t) for t in level_texts)])
    for i, (_, vi, _en) in enumerate(_COMPLETENESS_FIELDS):
        widths[lead + 2 + i] = max(9.0, _text_width(max(vi.split(" "), key=len)) + 1)
    widths[lead + 9] = 10
    _set_widths(ws, widths)
    last = n_cols - 1
    split = max(1, last // 2 - 1)
    row = _letterhead(ws, fmts, last, head, split)

    title = f'BÁO CÁO\nKết quả phong trào thi đua "Dân vận khéo" {period_in_words(period)}'
    _merged(ws, row, 0, last, title, fmts.title)
    ws.set_row(row, 36)
    row += 1
    _merged(
        ws,
        row,
        0,
        last,
        f'Report on the "Skilled Mass Mobilization" emulation movement, {period.label_en}',
        fmts.subtitle,
    )
    row += 2
    row = _caveat_line(ws, fmts, row, widths, report)

    facts = [
        ("Đơn vị tổng hợp", "Aggregating unit", f"{root.name} ({root.code})" if root else "—"),
        ("Kỳ báo cáo", "Period", f"{period.label_vi} ({period.label_en}, {period.code})"),
        ("Cấp chi tiết", "Level shown", f"{vi_lvl} / {en_lvl}"),
        ("Danh mục đơn vị hành chính", "Hierarchy version", hierarchy.version_id),
        ("Danh mục chỉ tiêu", "Indicator catalogue", catalogue.version),
        ("Tình hình báo cáo", "Completeness", report.completeness[0]),
        ("", "", report.completeness[1]),
        ("Số liệu", "Figures", f"{report.basis[0]} / {report.basis[1]}"),
    ]
    label_last = 1 if per_unit else 2
    value_width = sum(widths[c] for c in range(label_last + 1, n_cols))
    for vi, en, value in facts:
        label = f"{vi} / {en}" if vi else ""
        _merged(ws, row, 0, label_last, label, fmts.label)
        _merged(ws, row, label_last + 1, last, value, fmts.text)
        ws.set_row(row, 15 * _lines(value, value_width) + 1)
        row += 1
    row += 1
    _text(ws, row, 0, "Tình hình báo cáo theo cấp / Completeness by reporting level", fmts.label)
    row += 1
    row = _completeness_table(ws, fmts, row, comp_rows, None, lead)
    if per_unit:
        row += 1
        _text(ws, row, 0, "Tình hình báo cáo theo đơn vị / Completeness by unit", fmts.label)
        row += 1
        row = _completeness_table(ws, fmts, row, [], per_unit, 2)
    _signature(ws, fmts, row, last, head)
    _print_setup(ws, landscape=False, repeat=None)


def _completeness_table(
    ws: Any,
    fmts: _Formats,
    row: int,
    rows: list[dict[str, Any]],
    with_unit: list[tuple[_Row, list[dict[str, Any]]]] | None,
    lead: int,
) -> int:
    """Write a completeness table at ``row`` (its first column at ``lead - 2`` when
    units are listed, else at 0); returns the first row after it."""
    heads: list[tuple[str, str]] = []
    if with_unit is not None:
        heads += [("Mã đơn vị", "Unit code"), ("Tên đơn vị", "Unit name")]
    heads += [("Kỳ", "Period"), ("Cấp báo cáo", "Reporting level")]
    heads += [(vi, en) for _, vi, en in _COMPLETENESS_FIELDS]
    heads += [("Tỷ lệ hợp lệ (%)", "Accepted (%)")]
    # Without units the table spans the same grid: its first two cells widen to fill.
    start = 0
    if with_unit is None and lead:
        _bilingual(ws, fmts, row, 0, lead, heads[0][0], heads[0][1])
        start = lead + 1
        heads = heads[1:]
    for c, (vi, en) in enumerate(heads, start=start):
        _bilingual(ws, fmts, row, c, c, vi, en)
    ws.set_row(row, 32)
    row += 1
    items: list[tuple[_Row | None, dict[str, Any]]] = (
        [(None, r) for r in rows]
        if with_unit is None
        else [(u, r) for u, unit_rows in with_unit for r in unit_rows]
    )
    if not items:
        _merged(ws, row, 0, start + len(heads) - 1, "Chưa có dữ liệu / no data", fmts.cell)
        return row + 1
    for unit, r in items:
        c = 0
        if unit is not None:
            _text(ws, row, 0, unit.code, fmts.cell)
            _text(ws, row, 1, unit.name, fmts.cell)
            c = 2
        if with_unit is None and lead:
            _merged(ws, row, 0, lead, str(r["period"]), fmts.cell)
            c = lead + 1
        else:
            _text(ws, row, c, str(r["period"]), fmts.cell)
            c += 1
        _text(ws, row, c, _labels(r["reporter_level"])[0], fmts.cell)
        c += 1
        for fld, _, _ in _COMPLETENESS_FIELDS:
            _number(ws, row, c, float(r[fld]), fmts.numbers[(_INT_FORMAT, "unit")])
            c += 1
        share = 100 * r["accepted"] / r["expected"] if r["expected"] else None
        _number(ws, row, c, share, fmts.numbers[(_PCT_FORMAT, "unit")])
        row += 1
    return row


def _header_depth(cols: Sequence[_Column]) -> int:
    return max(len(c.path) for c in cols)


def _write_headers(
    ws: Any, fmts: _Formats, row: int, cols: Sequence[_Column], widths: Mapping[int, float]
) -> int:
    """The form's column headings, nested and merged; returns the number of heading rows."""
    depth = _header_depth(cols)
    _bilingual(ws, fmts, row, 0, 0, "Mã đơn vị", "Code", rows=depth)
    _bilingual(ws, fmts, row, 1, 1, "Tên đơn vị", "Unit", rows=depth)
    lines_per_row = [2] * depth
    for d in range(depth):
        c = 0
        while c < len(cols):
            path = cols[c].path
            if len(path) <= d:
                c += 1
                continue
            end = c
            while (
                end + 1 < len(cols)
                and len(cols[end + 1].path) > d
                and cols[end + 1].path[: d + 1] == path[: d + 1]
            ):
                end += 1
            down = depth - d if len(path) == d + 1 else 1
            vi, en = path[d]
            _bilingual(ws, fmts, row + d, 2 + c, 2 + end, vi, en, rows=down)
            span = sum(widths[2 + k] for k in range(c, end + 1))
            need = _lines(vi, span) + _lines(en, span)
            if down == 1:
                lines_per_row[d] = max(lines_per_row[d], need)
            c = end + 1
    for d, n in enumerate(lines_per_row):
        ws.set_row(row + d, 13.5 * n + 3)
    return depth


#: A section wider than this many figure columns prints one sheet per indicator, so
#: that a page fitted to A4 width stays legible.
MAX_SHEET_COLUMNS = 12


@dataclass(frozen=True)
class _Sheet:
    name: str
    number: str
    title_vi: str
    title_en: str
    cols: tuple[_Column, ...]


def _sheets(report: _Report, catalogue: Catalogue) -> list[_Sheet]:
    """One sheet per catalogue section (``Biểu 1``), or per indicator of a wide one (``1.2``)."""
    out: list[_Sheet] = []
    for number, (section, cols) in enumerate(report.sections, start=1):
        meta = catalogue.model.sections[section]
        if len(cols) <= MAX_SHEET_COLUMNS:
            out.append(_Sheet(meta.sheet, str(number), meta.vi, meta.en, cols))
            continue
        indicators = list(dict.fromkeys(c.indicator.code for c in cols))
        for k, code in enumerate(indicators, start=1):
            ind = catalogue.indicator(code)
            part = tuple(c for c in cols if c.indicator.code == code)
            out.append(
                _Sheet(
                    f"{meta.sheet} {k}"[:31],
                    f"{number}.{k}",
                    f"{meta.vi}: {ind.vi}",
                    f"{meta.en}: {ind.en}",
                    part,
                )
            )
    return out


def _write_section(
    wb: Any,
    fmts: _Formats,
    report: _Report,
    sheet: _Sheet,
    hierarchy: Hierarchy,
    period: Period,
    head: ReportHeader,
) -> None:
    cols = sheet.cols
    ws = wb.add_worksheet(sheet.name)
    root = report.root
    vi_lvl = _labels(report.level)[0]

    # Widths from content: names and totals, each figure as printed, each heading's words.
    widths: dict[int, float] = {0: max(7.0, *(len(r.code) + 2.0 for r in report.rows))}
    widths[1] = max([16.0, *(_text_width(r.name) for r in report.rows)])
    for j, col in enumerate(cols, start=2):
        longest = 0.0
        for r in report.rows:
            v = report.values.get((r.key, col.key))
            if v is not None and math.isfinite(v):
                text = f"{v:,.2f}" if col.num_format != _INT_FORMAT else f"{v:,.0f}"
                longest = max(longest, len(text) + 2.0)
        vi, en = col.path[-1]
        words = max(_text_width(w) for w in (vi + " " + en).split(" "))
        widths[j] = max(8.0, longest, min(words, 16.0), 2 + min(_text_width(vi), 18.0) / 2)
    last = 1 + len(cols)
    role_col = last + 1
    _set_widths(ws, widths)
    ws.set_column(role_col, role_col, 12, None, {"hidden": True})

    split = max(1, last // 2 - 1)
    row = _letterhead(ws, fmts, last, head, split)
    title = f"Biểu {sheet.number}: {sheet.title_vi} {period_in_words(period)}"
    _merged(ws, row, 0, last, title, fmts.title)
    ws.set_row(row, 18 * _lines(title, sum(widths.values()) * 0.8))
    en = f"Table {sheet.number}: {sheet.title_en}, {period.label_en}"
    _merged(ws, row + 1, 0, last, en, fmts.subtitle)
    where = f"Đơn vị tổng hợp: {root.name} · " if root else ""
    _merged(
        ws,
        row + 2,
        0,
        last,
        f"{where}Cấp chi tiết: {vi_lvl.lower()} · Danh mục đơn vị hành chính {hierarchy.version_id}",
        fmts.subtitle,
    )
    _merged(ws, row + 3, 0, last, f"{report.basis[0]} / {report.basis[1]}", fmts.basis)
    row = _caveat_line(ws, fmts, row + 4, widths, report)

    first_head = row
    depth = _write_headers(ws, fmts, row, cols, widths)
    code_row = row + depth
    # The machine row: each column's key, hidden (programs and tests read it).
    for c, key in enumerate([CODE_KEY, NAME_KEY, *(col.key for col in cols), ROW_ROLE_KEY]):
        _text(ws, code_row, c, key, fmts.code_row)
    ws.set_row(code_row, None, None, {"hidden": True})
    first = code_row + 1
    for i, unit in enumerate(report.rows):
        at = first + i
        style = {"unit": fmts.cell, "own": fmts.own}.get(unit.kind, fmts.total)
        _text(ws, at, 0, unit.code, style)
        _text(ws, at, 1, unit.name, style)
        for j, col in enumerate(cols, start=2):
            fmt = fmts.numbers[(col.num_format, unit.kind)]
            _number(ws, at, j, report.values.get((unit.key, col.key)), fmt)
        _text(ws, at, role_col, unit.role, fmts.code_row)
    end = first + len(report.rows)
    _signature(ws, fmts, end, last, head)
    ws.freeze_panes(first, 2)
    _print_setup(ws, landscape=len(cols) > 4, repeat=(first_head, code_row))
    ws.print_area(0, 0, end + 7, last)


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

    Columns :data:`CSV_COLUMNS`; one row per row of the sheets (``row_kind``
    unit, own, subtotal or total; ``parent_code`` the total it adds into) and
    figure cell: an indicator's total has empty breakdown columns, each
    breakdown cell names its ``field``/``model_level``/``holder``, a status
    gives one row per ``category``, a ratio one row with its numerator and
    denominator. The BOM makes Excel read Vietnamese correctly; numbers use
    ``.`` for decimals and no grouping so that programs read them back
    unambiguously; an empty value means nobody reported the figure. Text is
    guarded against formula injection like the workbook's.
    """
    report = _build(rollup, hierarchy, catalogue, period, level, units)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    dims = ("field", "level", "holder", "category")
    for unit in report.rows:
        for _, cols in report.sections:
            for col in cols:
                if col.part != "value":
                    continue  # numerator and denominator ride on the ratio's row
                ind = col.indicator
                num = den = ""
                if ind.aggregation is Aggregation.RATIO:
                    num = _csv_number(report.values.get((unit.key, f"{ind.code}:numerator")))
                    den = _csv_number(report.values.get((unit.key, f"{ind.code}:denominator")))
                writer.writerow(
                    [
                        safe_text(unit.code),
                        safe_text(unit.name),
                        unit.kind,
                        safe_text(unit.parent),
                        safe_text(ind.code),
                        safe_text(ind.vi),
                        safe_text(ind.en),
                        *(safe_text(col.where.get(d, "")) for d in dims),
                        _csv_number(report.values.get((unit.key, col.key))),
                        num,
                        den,
                    ]
                )
    return buf.getvalue().encode("utf-8-sig")


def _csv_number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
