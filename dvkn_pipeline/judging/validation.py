"""Judge one parsed report: header, cells (pandera, lazily), completeness, rules.

Every failure becomes a :class:`Problem` row, never an exception, so the
receipt lists all problems of a file in one run.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from dvkn_pipeline.judging.report_format import ParsedReport, load_format
from dvkn_pipeline.judging.rules import evaluate_rule_records
from dvkn_pipeline.reference.catalogue import CATEGORY_COLUMN, Catalogue
from dvkn_pipeline.reference.cells import cell_name, clean_text, label_key, parse_number
from dvkn_pipeline.reference.hierarchy import (
    COUNTRY,
    Hierarchy,
    HierarchyCatalog,
    NoHierarchyError,
    Unit,
)
from dvkn_pipeline.reference.keys import IncomingKey
from dvkn_pipeline.reference.messages import Both, render
from dvkn_pipeline.reference.periods import Period, PeriodError
from schemas.catalogue import REPORTER_DIMENSION, Aggregation, BlankPolicy
from schemas.messages import MessageKey
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


def _problem(key: MessageKey, rule: str, fields: dict[str, object], **where: Any) -> Problem:
    return render(key, **fields).problem(rule, **where)


def validate_report(parsed: ParsedReport, ctx: ReportContext) -> ValidatedReport:
    return validate_reports([(parsed, ctx)])[0]


def validate_reports(items: list[tuple[ParsedReport, ReportContext]]) -> list[ValidatedReport]:
    """Validate many files at once: each polars query runs once over all their rows.

    At a deadline thousands of small files arrive together. The pandera schema and
    the facts-to-be filter run over the whole batch; each file's other checks read
    its own slice of it once, as records. Twelve small queries per file (~60 us of
    fixed cost each, measured) had been a third of validation's time. Each failure
    still lands on its own file, sheet and row.
    """
    if not items:
        return []
    catalogue = items[0][1].catalogue
    typed = [
        _typed_rows(parsed.rows, ctx.catalogue).with_columns(pl.lit(i, dtype=pl.Int32).alias(_FILE))
        for i, (parsed, ctx) in enumerate(items)
    ]
    starts = list(itertools.accumulate((t.height for t in typed), initial=0))
    batch = pl.concat(typed)
    del typed
    schema_problems = _schema_problems(batch, len(items), catalogue)
    headers = [_header_problems(parsed, ctx) for parsed, ctx in items]
    details = _usable_details(batch, [h.unit for h in headers], catalogue)
    return [
        _validate_one(
            ctx,
            header,
            _file_rows(batch.slice(starts[i], starts[i + 1] - starts[i])),
            found,
            details[i],
        )
        for i, ((_, ctx), header, found) in enumerate(
            zip(items, headers, schema_problems, strict=True)
        )
    ]


#: The column that tells a batch's files apart while they are validated together.
_FILE = "_file"


@dataclass
class _Header:
    """What the header block says, and what is wrong with it (before the cells)."""

    unit: Unit | None
    period: Period | None
    version: int | None
    hierarchy: Hierarchy | None
    problems: list[Problem]


@dataclass
class _FileRows:
    """One file's rows, as the per-file checks read them (plain records: a few dozen)."""

    blanks: list[dict[str, Any]] = field(default_factory=list)
    known: list[dict[str, Any]] = field(default_factory=list)
    rule_cells: list[dict[str, Any]] = field(default_factory=list)
    rule_totals: list[dict[str, Any]] = field(default_factory=list)


def _header_problems(parsed: ParsedReport, ctx: ReportContext) -> _Header:
    problems = list(parsed.problems)
    unit, period, version, hierarchy = _validate_header(parsed, ctx, problems)
    return _Header(unit, period, version, hierarchy, problems)


def _file_rows(rows: pl.DataFrame) -> _FileRows:
    """One file's blanks, known rows and rule inputs, from one pass over its rows.

    ``rows`` is the file's slice of the batch (no copy). Records are made per file,
    not for the whole batch at once: a 1,000-file batch's records held together
    came to ~150 MiB.
    """
    out = _FileRows()
    for rec in rows.iter_rows(named=True):
        if rec["value_text"] is None and not rec["is_total"]:
            out.blanks.append(rec)
        if rec["value_type"] is None:
            continue
        out.known.append(rec)
        if rec["is_total"]:
            out.rule_totals.append(rec)
            continue
        value = rec["value"]
        # A rule sums what can be summed: a negative (or NaN) cell counts as missing.
        out.rule_cells.append(rec if value is None or value >= 0 else {**rec, "value": None})
    return out


def _usable_details(
    batch: pl.DataFrame, units: list[Unit | None], catalogue: Catalogue
) -> list[pl.DataFrame]:
    """Each file's facts-to-be, in file order: breakdown cells with a readable,
    non-negative value (an empty frame for a file with none).

    ``level`` is the reporting unit's model level for indicators broken down by it.
    """
    levels = pl.DataFrame(
        {
            _FILE: list(range(len(units))),
            "_level": [catalogue.model_level_for(u.level) if u else None for u in units],
        },
        schema={_FILE: pl.Int32, "_level": pl.Utf8},
    )
    has_level = [i.code for i in catalogue.reported if REPORTER_DIMENSION in i.dimensions]
    usable = (
        batch.filter(
            ~pl.col("is_total")
            & pl.col("value").is_not_null()
            & pl.col("value_type").is_not_null()
            & (pl.col("value") >= 0)
        )
        .join(levels, on=_FILE, how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("indicator").is_in(has_level))
            .then(pl.col("_level"))
            .otherwise(pl.lit(None, dtype=pl.Utf8))
            .alias(REPORTER_DIMENSION)
        )
    )
    parts = {
        int(key[0]): frame.drop(_FILE, "_level")
        for key, frame in usable.partition_by(_FILE, as_dict=True, maintain_order=True).items()
    }
    empty = usable.clear().drop(_FILE, "_level")
    return [parts.get(i, empty) for i in range(len(units))]


def _validate_one(
    ctx: ReportContext,
    header: _Header,
    rows: _FileRows,
    schema_problems: list[Problem],
    details: pl.DataFrame,
) -> ValidatedReport:
    problems = header.problems
    problems.extend(schema_problems)
    problems.extend(_blank_problems(rows.blanks, ctx.catalogue))
    if header.unit is not None:
        problems.extend(_structure_problems(rows.known, header.unit, ctx.catalogue))
    problems.extend(evaluate_rule_records(rows.rule_cells, rows.rule_totals, ctx.catalogue))
    return ValidatedReport(
        header.unit, header.period, header.version, header.hierarchy, details, _ordered(problems)
    )


def _blank_problems(blanks: list[dict[str, Any]], catalogue: Catalogue) -> list[Problem]:
    """Empty input cells: one problem per sheet and policy, listing the cells.

    A clerk who left 14 cells empty reads one line naming them (not 14 lines),
    and whether that rejects is the indicator's ``blank`` setting in the
    catalogue. A blank is never turned into 0: its row has no value and is left
    out of the facts.
    """
    groups: dict[tuple[str, BlankPolicy], list[dict[str, Any]]] = {}
    for rec in blanks:
        ind = catalogue.by_code.get(rec["indicator"] or "")
        policy = ind.blank if ind is not None else BlankPolicy.REJECT
        groups.setdefault((rec["sheet"], policy), []).append(rec)
    fmt = load_format()
    out: list[Problem] = []
    for (sheet, policy), recs in groups.items():
        cells = ", ".join(cell_name(r["row"], r["value_col"]) or f"#{r['row']}" for r in recs)
        reject = policy is BlankPolicy.REJECT
        key: MessageKey = (
            "value_present.blank_cells" if reject else "value_not_reported.blank_cells"
        )
        out.append(
            _problem(
                key,
                "value_present" if reject else "value_not_reported",
                {"count": len(recs), "cells": cells},
                severity=Severity.ERROR if reject else Severity.WARNING,
                sheet=sheet,
                row=recs[0]["row"],
                column=fmt.column_label("value", catalogue),
                cell=cells,
            )
        )
    return out


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
            "cell": cell_name(cell.row, cell.col) if cell else None,
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
                    "period_valid",
                    {"period": period_text},
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
                    "hierarchy_for_period",
                    {"period": period},
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
                    "unit_known",
                    {"unit": unit_text, "period": period},
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
                    "unit_in_scope",
                    {"code": unit.code, "name": unit.name, "root": ctx.root_unit},
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
                    "report_version_valid",
                    {"version": version_text},
                    **where("report_version"),
                )
            )
        else:
            version = int(number)

    if ctx.key is not None:
        if unit is not None and ctx.key.unit_code != unit.code:
            problems.append(
                _problem(
                    "key_matches_header.unit",
                    "key_matches_header",
                    {"folder": ctx.key.unit_code, "unit": unit.code},
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
                        "key_matches_header.period",
                        "key_matches_header",
                        {"folder": ctx.key.period_text, "period": period},
                        **where("period"),
                    )
                )
    if ctx.uploader_unit is not None and unit is not None and ctx.uploader_unit != unit.code:
        problems.append(
            _problem(
                "uploader_is_unit",
                "uploader_is_unit",
                {"uploader": ctx.uploader_unit, "unit": unit.code},
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


@functools.lru_cache(maxsize=8)
def _alias_map(catalogue: Catalogue) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Folded label -> code, for indicators and each dimension's values.

    Cached per catalogue (a process holds one or two): it was rebuilt for every file.
    """
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
    """Resolve codes or names, parse numbers, move categorical answers into ``category``.

    A plain loop over a few dozen rows per file, run for every file of a burst: what
    does not change from row to row (column names, lookups) is taken out of it.
    """
    indicator_aliases, dim_aliases = _alias_map(catalogue)
    dim_cols = [d for d in catalogue.dimension_columns if d != CATEGORY_COLUMN]
    cell_cols = [c for c in rows.columns if c.endswith("_col")]
    by_code = catalogue.by_code
    count_by_category = Aggregation.COUNT_BY_CATEGORY
    out: list[dict[str, Any]] = []
    for rec in rows.iter_rows(named=True):
        raw_ind = rec["indicator"]
        code = indicator_aliases.get(label_key(raw_ind), raw_ind) if raw_ind else None
        ind = by_code.get(code) if code else None
        category = clean_text(rec.get(CATEGORY_COLUMN))
        typed: dict[str, Any] = {"sheet": rec["sheet"], "row": rec["row"], "indicator": code}
        for c in cell_cols:
            typed[c] = rec[c]
        typed["category_from"] = CATEGORY_COLUMN if category else "value"
        for dim in dim_cols:
            raw = rec.get(dim)
            typed[dim] = dim_aliases[dim].get(label_key(raw), raw) if raw else None
        value_text = clean_text(rec["value_text"])
        value: float | None
        if ind is not None and ind.aggregation is count_by_category:
            answer = category or value_text
            aliases = dim_aliases[ind.category_dimension or ""]
            category = aliases.get(label_key(answer), answer) if answer else None
            if typed["category_from"] == "value":  # typed in the value cell (the template's)
                typed["category_col"] = typed["value_col"]
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
    schema: dict[str, Any] = {
        "sheet": pl.Utf8,
        "row": pl.Int64,
        "indicator": pl.Utf8,
        **{c: pl.Int64 for c in cell_cols},
        "category_from": pl.Utf8,
    }
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


#: The message (and rule) of each pandera check, by the check's name.
_CHECK_MESSAGE: dict[str, MessageKey] = {
    "known_indicator": "indicator_known",
    "known_category": "category_known",
    "known": "dimension_value_known",
    "non_negative": "value_non_negative",
    "value_is_number": "value_is_number",
    "integer_value": "value_is_integer",
    "value_present": "value_present",
}


def _schema_problems(batch: pl.DataFrame, files: int, catalogue: Catalogue) -> list[list[Problem]]:
    """The pandera report schema over all files' rows at once, failures sorted back per file."""
    out: list[list[Problem]] = [[] for _ in range(files)]
    try:
        _rows_schema(catalogue).validate(batch, lazy=True)
    except SchemaErrors as exc:
        for file_index, problem in _failures_to_problems(exc.failure_cases, batch, catalogue):
            for i in range(files) if file_index is None else [file_index]:
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
        if check == "value_present":
            continue  # blanks are grouped per sheet by _blank_problems
        message: MessageKey
        rule: str
        if check == "not_nullable" and column == "indicator":
            rule = message = "indicator_present"
        elif name in _CHECK_MESSAGE:
            rule = message = _CHECK_MESSAGE[name]
        elif name.startswith("greater_than_or_equal_to"):
            rule = message = _CHECK_MESSAGE["non_negative"]
        else:
            rule, message = f"schema:{check}", "schema_check"
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
        file_index = row[_FILE] if row else None
        key = (file_index, rule, row["sheet"] if row else None, row["row"] if row else None, column)
        if key in seen:
            continue
        seen.add(key)
        # The cell the clerk typed: a category answer usually sits in the value cell.
        cell = None
        if row and column == CATEGORY_COLUMN:
            column = row["category_from"]
            cell = cell_name(row["row"], row["category_col"])
        elif row and column:
            cell = cell_name(row["row"], row.get(f"{column}_col"))
        label = fmt.column_label(column, catalogue) if column else None
        problems.append(
            (
                file_index,
                render(message, value=shown, column=label, check=check).problem(
                    rule,
                    sheet=row["sheet"] if row else None,
                    row=row["row"] if row else None,
                    column=label,
                    value=None if shown is None else str(shown),
                    cell=cell,
                ),
            )
        )
    return problems


def _structure_problems(
    known: list[dict[str, Any]], unit: Unit, catalogue: Catalogue
) -> list[Problem]:
    """Breakdowns that do not apply, indicators not for this level, duplicates, gaps.

    ``known``: the file's rows whose indicator is in the catalogue.
    """
    fmt = load_format()
    problems: list[Problem] = []
    expected_inds = {i.code for i in catalogue.reported_by(unit.level)}
    seen: dict[tuple[Any, ...], int] = {}
    present: set[tuple[Any, ...]] = set()
    dim_cols = [d for d in catalogue.file_dimension_columns if d != CATEGORY_COLUMN]
    for rec in known:
        ind = catalogue.indicator(rec["indicator"])
        if ind.code not in expected_inds:
            problems.append(
                _problem(
                    "indicator_for_level",
                    "indicator_for_level",
                    {"indicator": Both(ind.vi, ind.en), "level": unit.level},
                    column=fmt.column_label("indicator", catalogue),
                    value=ind.code,
                    **_where(rec),
                )
            )
            continue
        given = ind.reported_dimensions
        for dim in dim_cols:
            if rec[dim] is not None and dim not in given:
                problems.append(
                    _problem(
                        "dimension_not_applicable",
                        "dimension_not_applicable",
                        {
                            "indicator": Both(ind.vi, ind.en),
                            "dimension": Both(fmt.column_label(dim, catalogue), dim),
                        },
                        column=fmt.column_label(dim, catalogue),
                        value=rec[dim],
                        **(_where(rec) | {"cell": cell_name(rec["row"], rec.get(f"{dim}_col"))}),
                    )
                )
        if rec["is_total"]:
            continue
        ident = (ind.code, *(rec[d] for d in given))
        present.add(ident)
        if ident in seen:
            problems.append(
                _problem(
                    "row_unique",
                    "row_unique",
                    {
                        "indicator": Both(ind.vi, ind.en),
                        "breakdown": Both(
                            _dims_text(ident[1:], ind.reported_dimensions, catalogue),
                            ident[1:] or "",
                        ),
                        "first": seen[ident],
                        "second": rec["row"],
                    },
                    column=fmt.column_label("indicator", catalogue),
                    value=ind.code,
                    **_where(rec),
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


def _where(rec: dict[str, Any]) -> dict[str, Any]:
    """Where a row's problem points: its indicator cell (built only for a row at fault)."""
    return {
        "sheet": rec["sheet"],
        "row": rec["row"],
        "cell": cell_name(rec["row"], rec.get("indicator_col")),
    }


def _missing(vi: str, en: str, dims_vi: str, dims_en: str, catalogue: Catalogue) -> Problem:
    fmt = load_format()
    return _problem(
        "value_present.row_missing",
        "value_present",
        {
            "indicator": Both(vi, en),
            # no breakdown: no space before the full stop
            "breakdown": Both((" " + dims_vi).rstrip(), (" " + dims_en).rstrip()),
        },
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
