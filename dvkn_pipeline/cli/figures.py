"""``dvkn rollup``, ``completeness``, ``export``: the figures of a period, read or exported.

Reads go through :mod:`dvkn_pipeline.services.queries` and
:mod:`dvkn_pipeline.services.exports`; this module parses options and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    console,
    load_settings,
    parse_as_of_option,
    parse_period,
    print_figures,
    print_json,
)
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.services.queries import figures


def rollup(
    period: PeriodOpt,
    level: Annotated[str, typer.Option(help="province (city), district or commune.")] = "province",
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="As the tables stood then, e.g. 2025-04-20T10:00 (local time)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Roll-up figures of a period at one level, with the completeness they rest on."""
    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.services.wiring import build_intake

    settings = load_settings()
    p = parse_period(period)
    intake = build_intake(settings)
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    try:
        payload = figures(
            intake.tables,
            hierarchy,
            p,
            level,
            [unit] if unit else None,
            settings.root_unit,
            as_of=parse_as_of_option(as_of),
        )
    except DvknError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if json_out:
        print_json(payload)
    else:
        print_figures(payload)


def completeness(period: PeriodOpt, json_out: JsonOpt = False) -> None:
    """Who has reported for a period, per level (expected, received, accepted, late)."""
    from dvkn_pipeline.services.wiring import build_intake
    from dvkn_pipeline.views.summaries import completeness_summary

    settings = load_settings()
    p = parse_period(period)
    comp = build_intake(settings).tables.read_completeness(p.code)
    summary = completeness_summary(comp, None, settings.root_unit)
    if json_out:
        print_json(summary)
    else:
        console.print(summary["text"])


def export(
    period: PeriodOpt,
    level: Annotated[str, typer.Option(help="city (province), district or commune.")] = "city",
    unit: Annotated[list[str] | None, typer.Option(help="Only these units (repeatable).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output .xlsx; the .csv is written beside it.")
    ] = None,
) -> None:
    """Write the upper-level report of a period (.xlsx and .csv), completeness on the cover.

    A period nobody reported directly (a quarter of monthly reports, a year of
    quarters) is built from the finer periods that tile it.
    """
    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.services.exports import export_report
    from dvkn_pipeline.services.wiring import build_intake

    settings, p, catalogue = load_settings(), parse_period(period), load_catalogue()
    tables = build_intake(settings).tables
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    try:
        files = export_report(tables, hierarchy, catalogue, p, level, unit or None)
    except DvknError as exc:
        raise typer.BadParameter(str(exc)) from exc
    path = out or Path(f"dvkn-{p.code}-{level}.xlsx")
    path.write_bytes(files.xlsx)
    path.with_suffix(".csv").write_bytes(files.csv)
    console.print(f"wrote {path} and {path.with_suffix('.csv')}")
