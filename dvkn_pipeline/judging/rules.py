"""Evaluate the cross-field rules of ``schemas/rules.yaml`` on one report.

Reports are small (a few hundred cells), so the engine favours clear messages
over vectorization: every failure names both numbers it compared.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

import schemas
from dvkn_pipeline.judging.report_format import load_format
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.cells import cell_name
from dvkn_pipeline.reference.messages import Both, number, render
from schemas.messages import MessageKey
from schemas.records import Problem
from schemas.rules import MissingValueStrategy, Rule, RuleSet, Term
from schemas.strict_yaml import load_strict_file

DEFAULT_PATH = Path(schemas.__file__).parent / "rules.yaml"

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    "==": lambda a, b: abs(a - b) < 1e-9,
    "!=": lambda a, b: abs(a - b) >= 1e-9,
    ">=": operator.ge,
    ">": operator.gt,
}
_NEGATED = {"<=": ">", "<": ">=", "==": "≠", "!=": "=", ">=": "<", ">": "<="}


@lru_cache(maxsize=4)
def load_rules(path: Path = DEFAULT_PATH) -> RuleSet:
    return RuleSet.model_validate(load_strict_file(path))


@dataclass(frozen=True)
class Side:
    total: float
    rows: tuple[int, ...]
    sheet: str | None
    #: A cell of this side has no usable value (blank or not a number).
    missing: bool = False
    #: (sheet, cell name) of each detail cell summed, and its value.
    cells: tuple[tuple[str, str | None], ...] = ()
    values: tuple[float | None, ...] = ()


def _cell_of(rec: dict[str, Any]) -> str | None:
    return cell_name(int(rec["row"]), rec.get("value_col"))


def _cells_text(cells: list[tuple[str, str | None]], sheet: str | None) -> str | None:
    """``F10, F11``; a cell of another sheet than the problem's is named with its sheet."""
    names = [c if s == sheet else f"'{s}'!{c}" for s, c in cells if c]
    return ", ".join(names) or None


def _sum_text(values: tuple[float | None, ...], total: float) -> str:
    """What the cells hold: ``3`` for one cell, ``3 + 2 = 5`` for several."""
    known = [v for v in values if v is not None]
    if len(known) <= 1:
        return _num(total)
    return " + ".join(_num(v) for v in known) + f" = {_num(total)}"


def evaluate_rules(
    details: pl.DataFrame,
    declared: pl.DataFrame,
    catalogue: Catalogue,
    rules: RuleSet | None = None,
) -> list[Problem]:
    """Problems from every rule; ``details`` are breakdown cells, ``declared`` total rows."""
    return evaluate_rule_records(details.to_dicts(), declared.to_dicts(), catalogue, rules)


def evaluate_rule_records(
    cells: list[dict[str, Any]],
    totals: list[dict[str, Any]],
    catalogue: Catalogue,
    rules: RuleSet | None = None,
) -> list[Problem]:
    """``evaluate_rules`` over one file's rows as records (a few dozen: plain loops).

    Validation splits a whole batch into records with one query, then calls this
    per file.
    """
    problems: list[Problem] = []
    for rule in (rules or load_rules()).rules:
        if rule.kind == "declared_totals":
            problems.extend(_declared_totals(rule, cells, totals, catalogue))
        elif rule.kind == "compare":
            problems.extend(_compare(rule, cells, catalogue))
    return problems


def history_problems(
    totals: dict[str, float],
    history: pl.DataFrame,
    catalogue: Catalogue,
    rules: RuleSet | None = None,
) -> list[Problem]:
    """Warnings for indicator totals far outside the unit's own earlier periods.

    ``history`` holds the unit's accepted totals of earlier periods (columns
    ``period``, ``indicator``, ``value``). A modified z-score (median and MAD)
    is robust to the one odd period a history may already hold; with too few
    periods for it, a generous min-max band catches a digit typed too many.
    """
    out: list[Problem] = []
    for rule in (rules or load_rules()).rules:
        if rule.kind != "history_outlier":
            continue
        for code, value in sorted(totals.items()):
            past = history.filter(pl.col("indicator") == code)["value"].to_list()[
                : rule.history_periods
            ]
            if not past:
                continue
            verdict = _outlier(value, [float(v) for v in past], rule)
            if verdict is None:
                continue
            ind = catalogue.indicator(code)
            shown = ", ".join(str(number(v).vi) for v in past)
            text = render(
                "rule.history_outlier",
                rule=Both(rule.vi, rule.en),
                indicator=Both(ind.vi, ind.en),
                value=value,
                past=Both(shown, ", ".join(str(number(v).en) for v in past)),
                verdict=verdict,
            )
            out.append(
                text.problem(
                    rule.id,
                    severity=rule.severity,
                    column=load_format().column_label("value", catalogue),
                    value=_num(value),
                    hint_vi=rule.hint_vi,
                    hint_en=rule.hint_en,
                )
            )
    return out


def _outlier(value: float, past: list[float], rule: Rule) -> Both | None:
    """Why a value is an outlier, in both languages; None when it is not one."""
    if len(past) >= rule.min_history:
        ordered = sorted(past)
        median = _median(ordered)
        mad = _median(sorted(abs(v - median) for v in ordered))
        if mad == 0:
            return (
                None if value == median else _both("rule.history_outlier.no_spread", median=median)
            )
        z = 0.6745 * (value - median) / mad
        return (
            _both("rule.history_outlier.z_score", z=round(z, 1))
            if abs(z) > rule.z_threshold
            else None
        )
    low, high = min(past) / rule.range_factor, max(past) * rule.range_factor
    if low <= value <= high or (max(past) == 0 and value <= rule.range_factor):
        return None
    return _both("rule.history_outlier.range", low=round(low, 2), high=round(high, 2))


def _both(key: MessageKey, **fields: object) -> Both:
    text = render(key, **fields)
    return Both(text.vi, text.en)


def _median(ordered: list[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def lateness_problems(days_late: int, rules: RuleSet | None = None) -> list[Problem]:
    """A warning when a report arrives long after its deadline (it is still accepted)."""
    return [
        render("rule.late_report", rule=Both(rule.vi, rule.en), days=days_late).problem(
            rule.id,
            severity=rule.severity,
            value=str(days_late),
            hint_vi=rule.hint_vi,
            hint_en=rule.hint_en,
        )
        for rule in (rules or load_rules()).rules
        if rule.kind == "late_report" and days_late > rule.days_after_deadline
    ]


def _compare(rule: Rule, details: list[dict[str, Any]], catalogue: Catalogue) -> Iterable[Problem]:
    left = _side(rule.left, rule.by, details)
    right = _side(rule.right, rule.by, details)
    check = _OPS[rule.operator]
    for group in sorted(set(left) | set(right), key=str):
        lhs, rhs = left.get(group), right.get(group)
        strategy = rule.missing_value_strategy
        absent = [s is None or s.missing for s in (lhs, rhs)]
        if strategy is MissingValueStrategy.SKIP_IF_ANY_VALUE_MISSING and any(absent):
            continue
        if strategy is MissingValueStrategy.SKIP_IF_ALL_VALUES_MISSING and all(absent):
            continue
        lv = lhs.total if lhs else 0.0
        rv = rhs.total if rhs else 0.0
        if check(lv, rv):
            continue
        where = _group_label(rule.by, group, catalogue)
        where_vi = f" ({where[0]})" if where[0] else ""
        where_en = f" ({where[1]})" if where[1] else ""
        sign = _NEGATED[rule.operator]
        shown = Both(
            f"{number(lv).vi} {sign} {number(rv).vi}", f"{number(lv).en} {sign} {number(rv).en}"
        )
        lname = " + ".join(catalogue.indicator(t.indicator).vi for t in rule.left)
        rname = " + ".join(catalogue.indicator(t.indicator).vi for t in rule.right)
        lname_en = " + ".join(catalogue.indicator(t.indicator).en for t in rule.left)
        rname_en = " + ".join(catalogue.indicator(t.indicator).en for t in rule.right)
        anchor = lhs or rhs
        text = render(
            "rule.compare",
            rule=Both(rule.vi, rule.en),
            where=Both(where_vi, where_en),
            left=Both(lname, lname_en),
            right=Both(rname, rname_en),
            left_value=lv,
            right_value=rv,
            shown=shown,
        )
        # Point at the cells the clerk typed (the left side's details, then the right's),
        # never at a subtotal row: a subtotal holds no number the clerk can correct.
        cells = [*(lhs.cells if lhs else ()), *(rhs.cells if rhs else ())]
        yield text.problem(
            rule.id,
            severity=rule.severity,
            sheet=anchor.sheet if anchor else None,
            row=anchor.rows[0] if anchor and anchor.rows else None,
            column=load_format().column_label("value", catalogue),
            value=_sum_text(lhs.values if lhs else (), lv),
            cell=_cells_text(cells, anchor.sheet if anchor else None),
            hint_vi=rule.hint_vi,
            hint_en=rule.hint_en,
        )


def _side(
    terms: tuple[Term, ...], by: tuple[str, ...], details: list[dict[str, Any]]
) -> dict[tuple[str | None, ...], Side]:
    out: dict[tuple[str | None, ...], Side] = {}
    for term in terms:
        for rec in details:
            if rec["indicator"] != term.indicator or any(
                rec[d] != v for d, v in term.where.items()
            ):
                continue
            group = tuple(rec[d] for d in by)
            prev = out.get(group)
            value = rec["value"]
            out[group] = Side(
                total=(prev.total if prev else 0.0) + (float(value) if value is not None else 0.0),
                rows=(*(prev.rows if prev else ()), int(rec["row"])),
                cells=(*(prev.cells if prev else ()), (rec["sheet"], _cell_of(rec))),
                values=(*(prev.values if prev else ()), value),
                sheet=prev.sheet if prev else rec["sheet"],
                missing=(prev.missing if prev else False) or value is None,
            )
    return out


def _declared_totals(
    rule: Rule, details: list[dict[str, Any]], declared: list[dict[str, Any]], catalogue: Catalogue
) -> Iterable[Problem]:
    for rec in declared:
        if rec["value"] is None:
            continue
        ind = catalogue.indicator(rec["indicator"])
        given = {d: rec[d] for d in ind.reported_dimensions if rec[d] is not None}
        part_recs = [
            p
            for p in details
            if p["indicator"] == ind.code and all(p[d] == v for d, v in given.items())
        ]
        parts = [p["value"] for p in part_recs]
        if not parts or any(v is None for v in parts):
            continue  # a blank or unreadable part is reported by its own rule
        total = float(sum(parts))
        declared_value = float(rec["value"])
        if abs(total - declared_value) < 1e-9:
            continue
        scope_vi, scope_en = _group_label(tuple(given), tuple(given.values()), catalogue)
        scope_vi = f" ({scope_vi})" if scope_vi else ""
        scope_en = f" ({scope_en})" if scope_en else ""
        text = render(
            "rule.declared_totals",
            rule=Both(rule.vi, rule.en),
            indicator=Both(ind.vi, ind.en),
            scope=Both(scope_vi, scope_en),
            declared=declared_value,
            total=total,
        )
        yield text.problem(
            rule.id,
            severity=rule.severity,
            # The parts the clerk typed, not the total (in the template, a formula).
            sheet=part_recs[0]["sheet"],
            row=int(part_recs[0]["row"]),
            column=load_format().column_label("value", catalogue),
            value=_sum_text(tuple(parts), total),
            cell=_cells_text([(p["sheet"], _cell_of(p)) for p in part_recs], part_recs[0]["sheet"]),
            hint_vi=rule.hint_vi,
            hint_en=rule.hint_en,
        )


def _group_label(
    dims: tuple[str, ...], values: tuple[str | None, ...], catalogue: Catalogue
) -> tuple[str, str]:
    vi: list[str] = []
    en: list[str] = []
    for dim, value in zip(dims, values, strict=True):
        if value is None:
            continue
        spec = catalogue.model.dimensions[dim]
        label = spec.values.get(value)
        vi.append(f"{spec.vi}: {label.vi if label else value}")
        en.append(f"{spec.en}: {label.en if label else value}")
    return ", ".join(vi), ", ".join(en)


def _num(value: float) -> str:
    """Vietnamese-readable number: thousands with '.', decimals with ','."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    whole, frac = f"{value:,.2f}".split(".")
    return f"{whole.replace(',', '.')},{frac}"
