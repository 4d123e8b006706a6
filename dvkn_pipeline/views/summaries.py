"""Summaries people read: completeness lines, roll-up tables, run artifacts.

The same dictionaries feed the terminal tables, ``--json`` output and the
Prefect artifacts, so the three never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue, load_catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, HierarchyCatalog
from dvkn_pipeline.reference.levels import LevelError, canonical_level, level_labels, load_levels
from dvkn_pipeline.reference.periods import Period
from schemas.records import FileOutcome, Status


def _counted_en(level: str) -> str:
    """The English form after a number ("12/30 districts"); an unknown level as itself."""
    try:
        return level_labels(level).en_counted
    except LevelError:
        return level


def completeness_summary(
    comp: pl.DataFrame, hierarchies: HierarchyCatalog | None = None, root_unit: str | None = None
) -> dict[str, Any]:
    """Completeness of the root unit per reporting level, with a one-line text."""
    if comp.is_empty():
        return {"levels": {}, "text": "no reports"}
    root = root_unit or comp.sort("unit_level")["unit_code"][0]
    rows = comp.filter(pl.col("unit_code") == root).sort("reporter_level")
    levels: dict[str, dict[str, int]] = {}
    for r in rows.iter_rows(named=True):
        levels[r["reporter_level"]] = {
            k: int(r[k])
            for k in ("expected", "received", "accepted", "rejected", "missing", "on_time", "late")
        }
    order = load_levels().names
    parts = [
        f"{v['accepted']}/{v['expected']} {_counted_en(lvl)}"
        for lvl, v in sorted(
            levels.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)
        )
    ]
    late = sum(v["late"] for v in levels.values())
    rejected = sum(v["rejected"] for v in levels.values())
    text = ", ".join(parts) + " reported"
    text += f" ({late} late, {rejected} rejected without a valid report)"
    return {
        "unit_code": root,
        "period": rows["period"][0] if rows.height else None,
        "levels": levels,
        "text": text,
    }


def rollup_records(
    table: pl.DataFrame, catalogue: Catalogue, unit_codes: list[str] | None = None
) -> list[dict[str, Any]]:
    """Indicator totals per unit (breakdowns summed; category counts kept apart)."""
    if table.is_empty():
        return []
    frame = table if unit_codes is None else table.filter(pl.col("unit_code").is_in(unit_codes))
    out = (
        frame.group_by("unit_code", "unit_level", "indicator", "category")
        .agg(
            pl.col("value").sum(),
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
        )
        .sort("unit_code", "indicator", "category", nulls_last=True)
    )
    records = []
    for r in out.iter_rows(named=True):
        ind = catalogue.indicator(r["indicator"])
        rec = {
            "unit_code": r["unit_code"],
            "unit_level": r["unit_level"],
            "indicator": r["indicator"],
            "name_vi": ind.vi,
            "name_en": ind.en,
            "unit": ind.unit.en,
            "category": r["category"],
            "value": r["value"],
        }
        if ind.numerator:
            rec["numerator"], rec["denominator"] = r["numerator"], r["denominator"]
        records.append(rec)
    return records


def outcomes_markdown(outcomes: list[FileOutcome], summaries: dict[str, Any]) -> str:
    counts = {s: sum(o.status is s for o in outcomes) for s in Status}
    lines = [
        "# Intake run",
        "",
        f"- accepted: **{counts[Status.ACCEPTED]}**",
        f"- rejected: **{counts[Status.REJECTED]}**",
        f"- duplicate (identical bytes, nothing changed): **{counts[Status.DUPLICATE]}**",
        "",
    ]
    for period, s in sorted(summaries.items()):
        lines.append(f"**{period}**: {s.get('text', '')}")
    rejected = [o for o in outcomes if o.status is Status.REJECTED]
    if rejected:
        lines += [
            "",
            "## Rejected files",
            "",
            "| key | unit | errors | first problem | receipt |",
            "|---|---|---|---|---|",
        ]
        for o in rejected:
            problem = (o.first_problem or "").replace("|", "\\|")
            lines.append(
                f"| `{o.key}` | {o.unit_code or '?'} | {o.n_errors} | {problem} | `{o.receipt_key}` |"
            )
    warned = [o for o in outcomes if o.status is not Status.REJECTED and o.n_warnings]
    if warned:
        lines += [
            "",
            "## Accepted with warnings",
            "",
            "| key | unit | warnings | receipt |",
            "|---|---|---|---|",
        ]
        for o in warned:
            lines.append(f"| `{o.key}` | {o.unit_code} | {o.n_warnings} | `{o.receipt_key}` |")
    return "\n".join(lines) + "\n"


def figures(
    table: pl.DataFrame,
    comp: pl.DataFrame,
    hierarchy: Hierarchy,
    p: Period,
    level: str,
    units: list[str] | None,
    root_unit: str,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The roll-up of ``level`` units with completeness: the records behind tables and JSON.

    ``table`` and ``comp`` are the period's roll-up and completeness rows; with
    ``as_of`` they are as the tables stood at that moment (Delta time travel),
    and the payload says so.
    """
    catalogue = load_catalogue()
    level = canonical_level(level)
    codes = units or [u.code for u in hierarchy.units_at(level)]
    names = {u.code: u.name for u in hierarchy.units_at(level)} | {
        c: hierarchy.unit(c).name for c in codes
    }
    unit_comp = (
        {
            r["unit_code"] + "/" + r["reporter_level"]: r
            for r in comp.filter(pl.col("unit_code").is_in(codes)).iter_rows(named=True)
        }
        if comp.height
        else {}
    )
    return {
        "period": p.code,
        "period_vi": p.label_vi,
        "level": level,
        "hierarchy_version": hierarchy.version_id,
        "as_of": as_of.isoformat() if as_of else None,
        "completeness": completeness_summary(comp, None, root_unit),
        "units": [
            {
                "unit_code": c,
                "name": names.get(c, c),
                "completeness": {
                    k.split("/")[1]: {f: v[f] for f in ("expected", "received", "accepted", "late")}
                    for k, v in unit_comp.items()
                    if k.startswith(c + "/")
                },
                "figures": rollup_records(table, catalogue, [c]),
            }
            for c in codes
        ],
    }
