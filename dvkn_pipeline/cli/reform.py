"""``dvkn compare``: figures across the 2025 reform, and as they stood at a moment.

A thin layer over :func:`dvkn_pipeline.rollup.compare.compare_periods`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import (
    JsonOpt,
    console,
    fmt,
    load_settings,
    parse_as_of_option,
    parse_period,
    print_json,
)

FromOpt = Annotated[
    str, typer.Option("--from", help="Earlier period, e.g. 2025-Q1 (rolled up with its hierarchy).")
]
ToOpt = Annotated[
    str, typer.Option("--to", help="Later period, e.g. 2025-Q3 (rolled up with its hierarchy).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Read the roll-ups as they stood at this moment, e.g. 2025-04-20T10:00 "
        "(local time) or 2025-04-20T10:00+07:00; a bare date means the end of that day.",
    ),
]


def compare_command(
    from_period: FromOpt,
    to_period: ToOpt,
    level: Annotated[str, typer.Option(help="commune or province (city).")] = "commune",
    unit: Annotated[
        list[str] | None, typer.Option(help="Only these units of the later period (repeatable).")
    ] = None,
    indicator: Annotated[
        list[str] | None, typer.Option(help="Only these indicator codes (repeatable).")
    ] = None,
    by_dimension: Annotated[
        bool, typer.Option(help="Keep every breakdown (field, level, holder) instead of totals.")
    ] = False,
    as_of: AsOfOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Each unit of the later period beside the sum of the units it was formed from.

    Across the 1 July 2025 reform, new communes are paired with the old communes
    they were formed from (schemas/hierarchy/mapping-2025-07.csv). The sum is
    'exact' when all went in whole; old communes split between several new ones
    are never apportioned: they are counted in 'with parts' only.
    """
    from dvkn_pipeline.reference.catalogue import load_catalogue
    from dvkn_pipeline.reference.hierarchy import NoHierarchyError, load_hierarchies
    from dvkn_pipeline.reference.reform import NoMappingError
    from dvkn_pipeline.rollup.compare import compare_periods
    from dvkn_pipeline.services.wiring import build_intake

    settings = load_settings()
    pf, pt = parse_period(from_period), parse_period(to_period)
    when = parse_as_of_option(as_of)
    try:
        result = compare_periods(
            build_intake(settings).tables,
            load_hierarchies(),
            pf,
            pt,
            load_catalogue(),
            level=level,
            root_unit=settings.root_unit,
            as_of=when,
            units=unit or None,
            indicators=indicator or None,
            by_dimension=by_dimension,
        )
    except (ValueError, KeyError, NoHierarchyError, NoMappingError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    payload = result.records() | {"as_of": when.isoformat() if when else None}
    if json_out:
        print_json(payload)
        return
    _print_comparison(payload, indicator[0] if indicator else load_catalogue().headline[0].code)


def _print_comparison(payload: dict[str, Any], headline: str) -> None:
    console.print(
        f"[bold]{payload['to_period']}[/] ({payload['to_hierarchy']}) vs "
        f"[bold]{payload['from_period']}[/] ({payload['from_hierarchy']}), "
        f"level {payload['level']}" + (f", as of {payload['as_of']}" if payload["as_of"] else "")
    )
    units = payload["units"]
    if len(units) <= 3:
        for u in units:
            table = Table("indicator", "category", "now", "before", "before with parts", "change")
            table.title = (
                f"{u['new_name']} ({u['new_code']}): {u['comparable']}; formed from "
                f"{', '.join(u['old_whole']) or '-'} whole, "
                f"{', '.join(u['old_partial']) or '-'} in part "
                f"({u['old_reporting']} of them reported)"
            )
            for f in u["figures"]:
                table.add_row(
                    f["indicator"],
                    f.get("category") or "",
                    fmt(f["to_value"]),
                    fmt(f["from_value"]),
                    fmt(f["from_value_with_parts"]),
                    fmt(f["change"]),
                )
            console.print(table)
    else:
        table = Table(
            "unit",
            "name",
            "comparable",
            "old reported",
            "now",
            "before",
            "before with parts",
            "change",
            title=f"{headline} (total over breakdowns)",
        )
        for u in units:
            figs = [f for f in u["figures"] if f["indicator"] == headline]
            total = {
                k: sum(f[k] for f in figs if f[k] is not None) if figs else None
                for k in ("to_value", "from_value", "from_value_with_parts", "change")
            }
            if u["comparable"] != "exact":
                total["change"] = None
            n_old = len(u["old_whole"]) + len(u["old_partial"])
            table.add_row(
                u["new_code"],
                u["new_name"],
                u["comparable"],
                f"{u['old_reporting']}/{n_old}",
                *[fmt(total[k]) for k in total],
            )
        console.print(table)
    if payload["unmapped_old_units"]:
        console.print(
            "Old units with figures but no new unit in the mapping: "
            + ", ".join(payload["unmapped_old_units"])
        )
