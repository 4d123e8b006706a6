"""Summaries people read: completeness lines, roll-up tables, run artifacts.

The same dictionaries feed the terminal tables, ``--json`` output and the
Prefect artifacts, so the three never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue, load_catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, HierarchyCatalog
from dvkn_pipeline.reference.keys import parse_incoming_key
from dvkn_pipeline.reference.levels import LevelError, canonical_level, level_labels, load_levels
from dvkn_pipeline.reference.periods import Period
from schemas.records import FileOutcome, Status
from schemas.steward import load_steward_text


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


@dataclass(frozen=True)
class RunSummary:
    """What one intake run did, as its name, final state and artifacts say it.

    A run that rejected files must look different in the Prefect UI from a
    clean one (a steward scanning the run list sees "Completed (28 rejected)"),
    and its name says the period and counts instead of a random pair of words.
    """

    accepted: int
    rejected: int
    duplicate: int
    periods: tuple[str, ...]

    @property
    def done(self) -> int:
        return self.accepted + self.rejected + self.duplicate

    @property
    def name(self) -> str:
        text = load_steward_text().run
        if not self.done:
            return text.name_idle
        fields = {"accepted": self.accepted, "rejected": self.rejected}
        if self.periods:
            return text.name.format(period=", ".join(self.periods), **fields)
        return text.name_no_period.format(**fields)

    @property
    def state_name(self) -> str:
        text = load_steward_text().run
        return (
            text.state_rejected.format(rejected=self.rejected)
            if self.rejected
            else text.state_clean
        )

    @property
    def message(self) -> str:
        return load_steward_text().run.message.format(
            accepted=self.accepted, rejected=self.rejected, duplicate=self.duplicate
        )


def run_summary(outcomes: Iterable[FileOutcome]) -> RunSummary:
    """Counts and periods of a run's outcomes (periods from the reports; unreadable files have none)."""
    outs = list(outcomes)
    return RunSummary(
        accepted=sum(o.status is Status.ACCEPTED for o in outs),
        rejected=sum(o.status is Status.REJECTED for o in outs),
        duplicate=sum(o.status is Status.DUPLICATE for o in outs),
        periods=tuple(sorted({o.period for o in outs if o.period})),
    )


def folder_unit(key: str, incoming_prefix: str = "incoming/") -> str | None:
    """The unit whose folder an upload was sent to (the uploader), whatever the file claims."""
    parsed = parse_incoming_key(key, incoming_prefix)
    return parsed.unit_code if parsed else None


def _problem_both(o: FileOutcome) -> str:
    parts = [p for p in (o.first_problem_vi, o.first_problem) if p]
    return " / ".join(dict.fromkeys(parts))


_OUTCOME_ORDER = {Status.REJECTED: 0, Status.ACCEPTED: 1, Status.DUPLICATE: 2}


def outcome_rows(
    outcomes: Iterable[FileOutcome], incoming_prefix: str = "incoming/"
) -> list[dict[str, str | int]]:
    """One row per file for the run's table artifact: rejected first, then by folder and key.

    Column names are the steward's ("số lỗi / errors", not ``n_errors``), and
    the first problem reads in both languages.
    """
    cols = load_steward_text().columns
    words = load_steward_text().outcomes
    ordered = sorted(
        outcomes,
        key=lambda o: (
            _OUTCOME_ORDER.get(o.status, 3),
            folder_unit(o.key, incoming_prefix) or "",
            o.key,
        ),
    )
    return [
        {
            cols["status"]: words.get(o.status.value, o.status.value),
            cols["folder_unit"]: folder_unit(o.key, incoming_prefix) or "?",
            cols["unit_code"]: o.unit_code or "",
            cols["period"]: o.period or "",
            cols["n_errors"]: o.n_errors,
            cols["n_warnings"]: o.n_warnings,
            cols["first_problem"]: _problem_both(o),
            cols["key"]: o.key,
            cols["receipt_key"]: o.receipt_key,
        }
        for o in ordered
    ]


def outcomes_markdown(outcomes: list[FileOutcome], summaries: dict[str, Any]) -> str:
    """The run summary artifact: counts and completeness first, then the files to look at."""
    run = run_summary(outcomes)
    text = load_steward_text()
    cols, words = text.columns, text.outcomes
    lines = [
        f"# {text.run.summary_title}: {run.name}",
        "",
        f"**{run.state_name}**: {run.message}",
        "",
        f"- {words['accepted']}: **{run.accepted}**",
        f"- {words['rejected']}: **{run.rejected}**",
        f"- {words['duplicate']}: **{run.duplicate}**",
        "",
    ]
    for period, s in sorted(summaries.items()):
        lines.append(f"**{period}**: {s.get('text', '')}")
    rejected = [o for o in outcomes if o.status is Status.REJECTED]
    if rejected:
        head = [
            cols[c]
            for c in ("key", "folder_unit", "unit_code", "n_errors", "first_problem", "receipt_key")
        ]
        lines += [
            "",
            f"## {words['rejected']}",
            "",
            "| " + " | ".join(head) + " |",
            "|---" * len(head) + "|",
        ]
        for o in sorted(rejected, key=lambda o: o.key):
            problem = _problem_both(o).replace("|", "\\|")
            lines.append(
                f"| `{o.key}` | {folder_unit(o.key) or '?'} | {o.unit_code or '?'} | {o.n_errors} "
                f"| {problem} | `{o.receipt_key}` |"
            )
    warned = [o for o in outcomes if o.status is not Status.REJECTED and o.n_warnings]
    if warned:
        head = [cols[c] for c in ("key", "folder_unit", "n_warnings", "receipt_key")]
        lines += [
            "",
            f"## {cols['n_warnings']}",
            "",
            "| " + " | ".join(head) + " |",
            "|---" * len(head) + "|",
        ]
        for o in sorted(warned, key=lambda o: o.key):
            lines.append(
                f"| `{o.key}` | {folder_unit(o.key) or '?'} | {o.n_warnings} | `{o.receipt_key}` |"
            )
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
