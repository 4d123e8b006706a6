"""Judge one parsed report: header, cells (pandera, lazily), completeness, rules.

Every failure becomes a :class:`Problem` row, never an exception, so the
receipt lists all problems of a file in one run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from dvkn_pipeline.judging.report_format import ParsedReport, load_format
from dvkn_pipeline.judging.rules import evaluate_rules
from dvkn_pipeline.reference.catalogue import CATEGORY_COLUMN, Catalogue
from dvkn_pipeline.reference.cells import clean_text, label_key, parse_number
from dvkn_pipeline.reference.hierarchy import (
    COUNTRY,
    Hierarchy,
    HierarchyCatalog,
    NoHierarchyError,
    Unit,
)
from dvkn_pipeline.reference.keys import IncomingKey
from dvkn_pipeline.reference.periods import Period, PeriodError
from schemas.catalogue import REPORTER_DIMENSION, Aggregation
from schemas.records import Problem, Severity
from schemas.tables import report_rows_schema


@dataclass(frozen=True)
class ReportContext:
    catalogue: Catalogue
    hierarchies: HierarchyCatalog
    key: IncomingKey | None = None
    #: Unit code the upload credential belongs to, when the event carries one.
    uploader_unit: str | None = None
    #: Only units under this one may report to this installation.
    root_unit: str | None = None


@dataclass
class ValidatedReport:
    unit: Unit | None
    period: Period | None
    report_version: int | None
    hierarchy: Hierarchy | None
    #: Breakdown cells with typed values and ``level`` added (the facts-to-be).
    details: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


def _problem(rule: str, vi: str, en: str, **kw: Any) -> Problem:
    return Problem(
        severity=kw.pop("severity", Severity.ERROR), rule=rule, message_vi=vi, message_en=en, **kw
    )


def validate_report(parsed: ParsedReport, ctx: ReportContext) -> ValidatedReport:
    return validate_reports([(parsed, ctx)])[0]


def validate_reports(items: list[tuple[ParsedReport, ReportContext]]) -> list[ValidatedReport]:
    """Validate many files at once: the pandera schema runs once over all their rows.

    At a deadline thousands of small files arrive together; one vectorized
    schema pass over the batch costs about what one file's pass costs, and
    each failure still lands on its own file, sheet and row.
    """
    if not items:
        return []
    catalogue = items[0][1].catalogue
    typed = [_typed_rows(parsed.rows, ctx.catalogue) for parsed, ctx in items]
    schema_problems = _schema_problems(typed, catalogue)
    return [
        _validate_one(parsed, ctx, rows, found)
        for (parsed, ctx), rows, found in zip(items, typed, schema_problems, strict=True)
    ]


def _validate_one(
    parsed: ParsedReport, ctx: ReportContext, typed: pl.DataFrame, schema_problems: list[Problem]
) -> ValidatedReport:
    problems = list(parsed.problems)
    unit, period, version, hierarchy = _validate_header(parsed, ctx, problems)
    problems.extend(schema_problems)
    details = typed.filter(~pl.col("is_total"))
    declared = typed.filter(pl.col("is_total"))
    if unit is not None:
        problems.extend(_structure_problems(typed, unit, ctx.catalogue))
    usable = details.filter(
        pl.col("value").is_not_null() & pl.col("value_type").is_not_null() & (pl.col("value") >= 0)
    )
    known = details.filter(pl.col("value_type").is_not_null()).with_columns(
        pl.when(pl.col("value") >= 0).then(pl.col("value")).otherwise(None).alias("value")
    )
    problems.extend(
        evaluate_rules(known, declared.filter(pl.col("value_type").is_not_null()), ctx.catalogue)
    )
    model_level = ctx.catalogue.model_level_for(unit.level) if unit else None
    level_col = REPORTER_DIMENSION
    has_level = [i.code for i in ctx.catalogue.reported if level_col in i.dimensions]
    details = usable.with_columns(
        pl.when(pl.col("indicator").is_in(has_level))
        .then(pl.lit(model_level, dtype=pl.Utf8))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
        .alias(level_col)
    )
    return ValidatedReport(unit, period, version, hierarchy, details, _ordered(problems))


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Errors first, then by sheet and row, so a receipt reads top to bottom."""
    return sorted(
        problems,
        key=lambda p: (p.severity is not Severity.ERROR, p.sheet or "", p.row or 0, p.rule),
    )


def _validate_header(
    parsed: ParsedReport, ctx: ReportContext, problems: list[Problem]
) -> tuple[Unit | None, Period | None, int | None, Hierarchy | None]:
    fmt = load_format()

    def where(name: str) -> dict[str, Any]:
        cell = parsed.header.get(name)
        return {
            "sheet": cell.sheet if cell else None,
            "row": cell.row if cell else None,
            "column": fmt.header_label(name),
            "value": cell.value if cell else None,
        }

    period: Period | None = None
    period_text = parsed.header_value("period")
    if period_text is not None:
        try:
            period = Period.parse(period_text)
        except PeriodError:
            problems.append(
                _problem(
                    "period_valid",
                    f"Kỳ báo cáo «{period_text}» không hợp lệ.",
                    f"Reporting period '{period_text}' is not valid.",
                    hint_vi="Ghi kỳ dạng 2025-Q1, 2025-M03, 2025-H1, 2025-9M, 2025-Y hoặc «Quý I/2025».",
                    hint_en="Write the period as 2025-Q1, 2025-M03, 2025-H1, 2025-9M, 2025-Y.",
                    **where("period"),
                )
            )

    hierarchy: Hierarchy | None = None
    if period is not None:
        try:
            hierarchy = ctx.hierarchies.for_date(period.reference_date)
        except NoHierarchyError:
            problems.append(
                _problem(
                    "hierarchy_for_period",
                    f"Chưa có danh mục đơn vị hành chính cho kỳ {period}.",
                    f"No administrative unit list is known for period {period}.",
                    hint_vi="Liên hệ cán bộ quản lý dữ liệu.",
                    hint_en="Contact the data steward.",
                    **where("period"),
                )
            )

    unit: Unit | None = None
    unit_text = parsed.header_value("unit_code")
    if unit_text is not None and hierarchy is not None:
        unit = _resolve_unit(unit_text, hierarchy, ctx.key.unit_code if ctx.key else None)
        if unit is None:
            problems.append(
                _problem(
                    "unit_known",
                    f"Đơn vị «{unit_text}» không có trong danh mục hành chính hiệu lực cho kỳ {period}.",
                    f"Unit '{unit_text}' is not in the administrative list valid for {period}.",
                    hint_vi="Ghi mã đơn vị 5 chữ số (xã) hoặc 3 chữ số (huyện) theo danh mục của Tổng cục Thống kê.",
                    hint_en="Write the official GSO unit code (5 digits for a commune, 3 for a district).",
                    **where("unit_code"),
                )
            )
        elif (
            ctx.root_unit
            and ctx.root_unit != COUNTRY
            and ctx.root_unit != unit.code
            and ctx.root_unit not in {a.code for a in hierarchy.ancestors(unit.code)}
        ):
            problems.append(
                _problem(
                    "unit_in_scope",
                    f"Đơn vị {unit.code} ({unit.name}) không thuộc địa bàn của hệ thống này ({ctx.root_unit}).",
                    f"Unit {unit.code} ({unit.name}) is outside this installation's area ({ctx.root_unit}).",
                    hint_vi="Gửi báo cáo đến đúng tỉnh, thành phố.",
                    hint_en="Send the report to your own province or city.",
                    **where("unit_code"),
                )
            )
            unit = None

    version: int | None = None
    version_text = parsed.header_value("report_version")
    if version_text is not None:
        number = parse_number(version_text)
        if number is None or not number.is_integer() or number < 1:
            problems.append(
                _problem(
                    "report_version_valid",
                    f"Lần gửi «{version_text}» phải là số nguyên từ 1 trở lên.",
                    f"Report version '{version_text}' must be a whole number from 1.",
                    hint_vi="Lần đầu ghi 1; mỗi lần gửi lại báo cáo đã sửa thì tăng thêm 1.",
                    hint_en="Write 1 the first time; add 1 each time a corrected report is sent.",
                    **where("report_version"),
                )
            )
        else:
            version = int(number)

    if ctx.key is not None:
        if unit is not None and ctx.key.unit_code != unit.code:
            problems.append(
                _problem(
                    "key_matches_header",
                    f"Tệp nằm trong thư mục của đơn vị {ctx.key.unit_code} nhưng ghi đơn vị {unit.code}.",
                    f"The file is in unit {ctx.key.unit_code}'s folder but names unit {unit.code}.",
                    hint_vi="Tải tệp lên đúng thư mục của đơn vị mình.",
                    hint_en="Upload the file into your own unit's folder.",
                    **where("unit_code"),
                )
            )
        if period is not None:
            try:
                key_period = Period.parse(ctx.key.period_text)
            except PeriodError:
                key_period = None
            if key_period != period:
                problems.append(
                    _problem(
                        "key_matches_header",
                        f"Tệp nằm trong thư mục kỳ «{ctx.key.period_text}» nhưng ghi kỳ {period}.",
                        f"The file is in period folder '{ctx.key.period_text}' but names period {period}.",
                        hint_vi="Tải tệp lên thư mục đúng kỳ báo cáo.",
                        hint_en="Upload the file into the folder of its reporting period.",
                        **where("period"),
                    )
                )
    if ctx.uploader_unit is not None and unit is not None and ctx.uploader_unit != unit.code:
        problems.append(
            _problem(
                "uploader_is_unit",
                f"Tài khoản của đơn vị {ctx.uploader_unit} không được gửi báo cáo thay đơn vị {unit.code}.",
                f"Unit {ctx.uploader_unit}'s account may not report for unit {unit.code}.",
                hint_vi="Mỗi đơn vị chỉ gửi báo cáo của chính mình.",
                hint_en="Each unit sends only its own report.",
                **where("unit_code"),
            )
        )
    return unit, period, version, hierarchy


def _resolve_unit(text: str, hierarchy: Hierarchy, hint: str | None) -> Unit | None:
    """A unit from its code or its name.

    A code typed into a number cell loses its leading zeros ("00004" becomes 4),
    so a short code is padded to each code width; when that is ambiguous, the
    unit of the upload folder decides.
    """
    code = text.strip()
    if code in hierarchy:
        return hierarchy.unit(code)
    if code.isdigit():
        candidates = [
            hierarchy.unit(c) for c in {code.zfill(w) for w in (2, 3, 5)} if c in hierarchy
        ]
        if hint is not None and any(u.code == hint for u in candidates):
            return hierarchy.unit(hint)
        return candidates[0] if len(candidates) == 1 else None
    matches = hierarchy.find_by_name(text)
    if hint is not None and any(u.code == hint for u in matches):
        return hierarchy.unit(hint)
    return matches[0] if len(matches) == 1 else None


def _alias_map(catalogue: Catalogue) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    indicators: dict[str, str] = {}
    for ind in catalogue.reported:
        for label in (ind.code, ind.vi, ind.en):
            indicators[label_key(label)] = ind.code
    dims: dict[str, dict[str, str]] = {}
    for name, dim in catalogue.model.dimensions.items():
        dims[name] = {}
        for code, lab in dim.values.items():
            for label in (code, lab.vi, lab.en):
                dims[name][label_key(label)] = code
    return indicators, dims


def _typed_rows(rows: pl.DataFrame, catalogue: Catalogue) -> pl.DataFrame:
    """Resolve codes or names, parse numbers, move categorical answers into ``category``."""
    indicator_aliases, dim_aliases = _alias_map(catalogue)
    dim_cols = [d for d in catalogue.dimension_columns if d != CATEGORY_COLUMN]
    out: list[dict[str, Any]] = []
    for rec in rows.iter_rows(named=True):
        raw_ind = rec["indicator"]
        code = indicator_aliases.get(label_key(raw_ind), raw_ind) if raw_ind else None
        ind = catalogue.by_code.get(code) if code else None
        typed: dict[str, Any] = {"sheet": rec["sheet"], "row": rec["row"], "indicator": code}
        for dim in dim_cols:
            raw = rec.get(dim)
            typed[dim] = dim_aliases[dim].get(label_key(raw), raw) if raw else None
        value_text = clean_text(rec["value_text"])
        category = clean_text(rec.get(CATEGORY_COLUMN))
        value: float | None
        if ind is not None and ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
            answer = category or value_text
            aliases = dim_aliases[ind.category_dimension or ""]
            category = aliases.get(label_key(answer), answer) if answer else None
            value = 1.0 if category else None
            value_text = category
        else:
            value = parse_number(value_text)
        typed[CATEGORY_COLUMN] = category
        typed["value_text"] = value_text
        typed["value"] = value
        typed["value_type"] = ind.value_type.value if ind else None
        typed["is_total"] = bool(
            ind is not None and any(typed.get(d) is None for d in ind.reported_dimensions)
        )
        out.append(typed)
    schema: dict[str, Any] = {"sheet": pl.Utf8, "row": pl.Int64, "indicator": pl.Utf8}
    schema |= {d: pl.Utf8 for d in dim_cols}
    schema |= {
        CATEGORY_COLUMN: pl.Utf8,
        "value_text": pl.Utf8,
        "value": pl.Float64,
        "value_type": pl.Utf8,
        "is_total": pl.Boolean,
    }
    return pl.DataFrame(out, schema=schema)


def _rows_schema(catalogue: Catalogue) -> pa.DataFrameSchema:
    values = {
        d: set(catalogue.allowed_values(d))
        for d in catalogue.dimension_columns
        if d not in {CATEGORY_COLUMN, REPORTER_DIMENSION}
    }
    values[CATEGORY_COLUMN] = {
        v
        for ind in catalogue.reported
        if ind.category_dimension
        for v in catalogue.allowed_values(ind.category_dimension)
    }
    return report_rows_schema(set(catalogue.by_code), values)


_CHECK_TEXT: dict[str, tuple[str, str, str, str, str]] = {
    "known_indicator": (
        "indicator_known",
        "Mã chỉ tiêu «{value}» không có trong danh mục chỉ tiêu.",
        "Indicator '{value}' is not in the indicator catalogue.",
        "Dùng mã hoặc tên chỉ tiêu đúng như trong mẫu báo cáo.",
        "Use the indicator code or name exactly as in the template.",
    ),
    "known_category": (
        "category_known",
        "Phân loại «{value}» không hợp lệ.",
        "Category '{value}' is not valid.",
        "Chọn một giá trị trong danh sách của mẫu báo cáo.",
        "Pick one of the values listed in the template.",
    ),
    "known": (
        "dimension_value_known",
        "Giá trị «{value}» ở cột {column} không hợp lệ.",
        "Value '{value}' in column {column} is not valid.",
        "Dùng mã hoặc tên đúng như trong mẫu báo cáo (ví dụ KT, VHXH, QPAN, XDHTCT; TT, CN).",
        "Use a code or name from the template (e.g. KT, VHXH, QPAN, XDHTCT; TT, CN).",
    ),
    "non_negative": (
        "value_non_negative",
        "Giá trị {value} bị âm.",
        "Value {value} is negative.",
        "Số liệu báo cáo không được âm.",
        "Reported figures cannot be negative.",
    ),
    "value_is_number": (
        "value_is_number",
        "«{value}» không phải là số.",
        "'{value}' is not a number.",
        "Chỉ ghi số, ví dụ 3.864.463 hoặc 76,5; không ghi chữ hay đơn vị.",
        "Write a number only, e.g. 3.864.463 or 76,5; no words or units.",
    ),
    "integer_value": (
        "value_is_integer",
        "Giá trị {value} phải là số nguyên.",
        "Value {value} must be a whole number.",
        "Chỉ tiêu này đếm số lượng, không có phần thập phân.",
        "This indicator is a count and has no decimals.",
    ),
    "value_present": (
        "value_present",
        "Ô giá trị bị bỏ trống.",
        "The value cell is empty.",
        "Ghi 0 nếu không có.",
        "Write 0 if there is none.",
    ),
}


def _schema_problems(typed: list[pl.DataFrame], catalogue: Catalogue) -> list[list[Problem]]:
    """The pandera report schema over all files' rows at once, failures sorted back per file."""
    out: list[list[Problem]] = [[] for _ in typed]
    frame = pl.concat(
        [t.with_columns(pl.lit(i, dtype=pl.Int32).alias("_file")) for i, t in enumerate(typed)]
    )
    try:
        _rows_schema(catalogue).validate(frame, lazy=True)
    except SchemaErrors as exc:
        for file_index, problem in _failures_to_problems(exc.failure_cases, frame, catalogue):
            for i in range(len(typed)) if file_index is None else [file_index]:
                out[i].append(problem)
    return out


def _failures_to_problems(
    failures: pl.DataFrame, typed: pl.DataFrame, catalogue: Catalogue
) -> list[tuple[int | None, Problem]]:
    """Problems with the index of the file they belong to (None: every file)."""
    fmt = load_format()
    problems: list[tuple[int | None, Problem]] = []
    seen: set[tuple[Any, ...]] = set()
    for f in failures.iter_rows(named=True):
        check = str(f["check"] or "")
        column = f["column"]
        idx = f["index"]
        row = typed.row(idx, named=True) if idx is not None and idx < typed.height else None
        name = check
        if check.startswith(("isin", "known")):  # pandera reports built-in checks by their own name
            name = {"indicator": "known_indicator", CATEGORY_COLUMN: "known_category"}.get(
                column or "", "known"
            )
        if check == "not_nullable" and column == "indicator":
            rule, vi, en, hvi, hen = (
                "indicator_present",
                "Thiếu mã chỉ tiêu ở dòng có giá trị.",
                "A row with a value has no indicator.",
                "Ghi mã hoặc tên chỉ tiêu cho dòng này, hoặc xóa dòng.",
                "Name the indicator of this row, or delete the row.",
            )
        elif name in _CHECK_TEXT:
            rule, vi, en, hvi, hen = _CHECK_TEXT[name]
        elif name.startswith("greater_than_or_equal_to"):
            rule, vi, en, hvi, hen = _CHECK_TEXT["non_negative"]
        else:
            rule, vi, en, hvi, hen = (
                f"schema:{check}",
                "Dữ liệu không đúng cấu trúc ({check}).",
                "The data does not have the expected structure ({check}).",
                "Dùng mẫu báo cáo.",
                "Use the report template.",
            )
        if name in {"value_is_number", "integer_value", "value_present"} or column in {
            "value",
            "value_text",
        }:
            column = "value"
        shown = (
            row.get("value_text")
            if row and column == "value"
            else (row.get(column) if row and column else f["failure_case"])
        )
        file_index = row["_file"] if row else None
        key = (file_index, rule, row["sheet"] if row else None, row["row"] if row else None, column)
        if key in seen:
            continue
        seen.add(key)
        label = fmt.column_label(column, catalogue) if column else None
        problems.append(
            (
                file_index,
                Problem(
                    severity=Severity.ERROR,
                    rule=rule,
                    sheet=row["sheet"] if row else None,
                    row=row["row"] if row else None,
                    column=label,
                    value=None if shown is None else str(shown),
                    message_vi=vi.format(value=shown, column=label, check=check),
                    message_en=en.format(value=shown, column=label, check=check),
                    hint_vi=hvi,
                    hint_en=hen,
                ),
            )
        )
    return problems


def _structure_problems(typed: pl.DataFrame, unit: Unit, catalogue: Catalogue) -> list[Problem]:
    """Breakdowns that do not apply, indicators not for this level, duplicates, gaps."""
    fmt = load_format()
    problems: list[Problem] = []
    known = typed.filter(pl.col("value_type").is_not_null())
    expected_inds = {i.code for i in catalogue.reported_by(unit.level)}
    seen: dict[tuple[Any, ...], int] = {}
    present: set[tuple[Any, ...]] = set()
    dim_cols = [d for d in catalogue.file_dimension_columns if d != CATEGORY_COLUMN]
    for rec in known.iter_rows(named=True):
        ind = catalogue.indicator(rec["indicator"])
        where = {"sheet": rec["sheet"], "row": rec["row"]}
        if ind.code not in expected_inds:
            problems.append(
                _problem(
                    "indicator_for_level",
                    f"Chỉ tiêu «{ind.vi}» không thuộc báo cáo của cấp {unit.level}.",
                    f"Indicator '{ind.en}' is not part of a {unit.level}-level report.",
                    hint_vi="Xóa dòng này; chỉ tiêu do cấp khác báo cáo.",
                    hint_en="Delete this row; another level reports this indicator.",
                    column=fmt.column_label("indicator", catalogue),
                    value=ind.code,
                    **where,
                )
            )
            continue
        for dim in dim_cols:
            if rec[dim] is not None and dim not in ind.reported_dimensions:
                problems.append(
                    _problem(
                        "dimension_not_applicable",
                        f"Chỉ tiêu «{ind.vi}» không chia theo cột {fmt.column_label(dim, catalogue)}.",
                        f"Indicator '{ind.en}' is not broken down by {dim}.",
                        hint_vi="Để trống ô này.",
                        hint_en="Leave this cell empty.",
                        column=fmt.column_label(dim, catalogue),
                        value=rec[dim],
                        **where,
                    )
                )
        if rec["is_total"]:
            continue
        ident = (ind.code, *(rec[d] for d in ind.reported_dimensions))
        present.add(ident)
        if ident in seen:
            problems.append(
                _problem(
                    "row_unique",
                    f"Số liệu «{ind.vi}» {_dims_text(ident[1:], ind.reported_dimensions, catalogue)} "
                    f"bị ghi hai lần (dòng {seen[ident]} và dòng {rec['row']}).",
                    f"'{ind.en}' {ident[1:] or ''} is given twice (rows {seen[ident]} and {rec['row']}).",
                    hint_vi="Giữ một dòng, xóa dòng thừa.",
                    hint_en="Keep one row and delete the other.",
                    column=fmt.column_label("indicator", catalogue),
                    value=ind.code,
                    **where,
                )
            )
        else:
            seen[ident] = rec["row"]
    for ind in catalogue.reported_by(unit.level):
        if ind.aggregation is Aggregation.COUNT_BY_CATEGORY:
            combos: list[tuple[Any, ...]] = [(ind.code,)]
            if not any(p[0] == ind.code for p in present):
                problems.append(_missing(ind.vi, ind.en, "", "", catalogue))
            continue
        dims = ind.reported_dimensions
        value_lists = [sorted(catalogue.allowed_values(d)) for d in dims]
        combos = [(ind.code, *c) for c in itertools.product(*value_lists)]
        for combo in combos:
            if combo not in present:
                problems.append(
                    _missing(
                        ind.vi,
                        ind.en,
                        _dims_text(combo[1:], dims, catalogue),
                        _dims_text(combo[1:], dims, catalogue, lang="en"),
                        catalogue,
                    )
                )
    return problems


def _missing(vi: str, en: str, dims_vi: str, dims_en: str, catalogue: Catalogue) -> Problem:
    fmt = load_format()
    return _problem(
        "value_present",
        f"Thiếu số liệu «{vi}» {dims_vi}".strip() + ".",
        f"Missing figure '{en}' {dims_en}".strip() + ".",
        hint_vi="Thêm dòng này (dùng mẫu báo cáo); ghi 0 nếu không có.",
        hint_en="Add this row (use the template); write 0 if there is none.",
        column=fmt.column_label("indicator", catalogue),
    )


def _dims_text(
    values: tuple[Any, ...], dims: tuple[str, ...], catalogue: Catalogue, lang: str = "vi"
) -> str:
    parts = []
    for dim, value in zip(dims, values, strict=True):
        spec = catalogue.model.dimensions[dim]
        label = spec.values.get(value)
        dim_label = spec.vi if lang == "vi" else spec.en
        val_label = (label.vi if lang == "vi" else label.en) if label else value
        parts.append(f"{dim_label}: {val_label}")
    return f"({', '.join(parts)})" if parts else ""
