"""Steward commands: ``status``, ``submissions``, ``explain``, ``chart``.

Thin over :mod:`dvkn_pipeline.views.status` and :mod:`dvkn_pipeline.views.chart`:
each command reads the Delta tables of one period and prints the records
those functions return, as a table or (``--json``) as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    console,
    fmt,
    load_settings,
    parse_period,
    print_json,
    use_prefect,
)
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.views.status import (
    StatusError,
    explain_figure,
    records,
    state_text_both,
    status_report,
    submission_history,
)
from schemas.approval import ApprovalState, load_approval_config
from schemas.steward import load_steward_text

UnitOpt = Annotated[str, typer.Option("--unit", "-u", help="Unit code (GSO), e.g. 00004.")]
_STATE_STYLE = {
    "on_time": "green",
    "late": "yellow",
    "corrected": "cyan",
    "correction_rejected": "magenta",
    "rejected": "red",
    "missing": "bold red",
}


def _open(period_text: str) -> tuple[Intake, Period, Hierarchy]:
    from dvkn_pipeline.services.wiring import build_intake

    settings = load_settings()
    period = parse_period(period_text)
    intake = build_intake(settings)
    hierarchy = intake.hierarchies.for_date(period.reference_date).scope(settings.root_unit)
    return intake, period, hierarchy


def status(
    period: PeriodOpt,
    level: Annotated[
        str | None,
        typer.Option(
            help="city (province), district or commune: whose lines to show "
            "(default: districts, or the province after the 2025 reform)."
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", "-u", help="Only this unit and the units below it.")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            help="List the units in this state city-wide, with their district and the "
            "rejection reason: missing, late, rejected, correction_rejected, attention, ..."
        ),
    ] = None,
    district: Annotated[
        str | None, typer.Option("--district", "-d", help="With --state: only this district.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Who has reported for a period: expected, received, accepted, rejected, missing, on time, late.

    ``--state missing|late|rejected|attention`` lists the units in that state
    city-wide (or in ``--district``), each with its district and, for a
    rejection, the first problem of its receipt.

    At commune level, one line per commune with its state (missing, rejected
    only, accepted on time, accepted late by N days, corrected). Only units of
    the period's hierarchy are expected, each counts once; uploads from other
    units are listed apart as unexpected.
    """
    intake, p, hierarchy = _open(period)
    if state is not None:
        _print_unit_list(intake, p, state, district, json_out)
        return
    from dvkn_pipeline.rollup.approval import approval_board

    ledger = intake.tables.read_ledger(p.code)
    board = approval_board(
        intake.tables.read_approvals(p.code), ledger, hierarchy, load_approval_config(), p.code
    )
    try:
        payload = status_report(
            ledger,
            hierarchy,
            intake.catalogue,
            p,
            level,
            unit,
            intake.settings.incoming_prefix,
            board,
        )
    except StatusError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if json_out:
        print_json(payload)
        return
    console.print(
        f"[bold]{payload['period']}[/] ({payload['period_vi']}), hierarchy "
        f"{payload['hierarchy_version']}; deadlines: "
        + ", ".join(f"{lvl} {d}" for lvl, d in payload["deadlines"].items())
    )
    if "units" in payload:
        _print_unit_lines(payload)
    else:
        _print_counts(payload)
    if payload["unexpected"]:
        table = Table("unit", "key", "status", "received", title="Unexpected uploads (not counted)")
        for u in payload["unexpected"]:
            table.add_row(
                u["unit_code"] or u["claimed_unit"] or "?", u["key"], u["status"], u["received_at"]
            )
        console.print(table)


def _print_unit_list(
    intake: Intake,
    p: Period,
    state: str,
    district: str | None,
    json_out: bool,
) -> None:
    from dvkn_pipeline.services.steward import OutOfScopeError
    from dvkn_pipeline.services.wiring import build_steward

    try:
        found = build_steward(intake.settings, intake).state_list(
            p, state, intake.settings.root_unit, district
        )
    except (StatusError, OutOfScopeError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    listed = found.listed
    if json_out:
        print_json(listed.to_json())
        return
    cols = load_steward_text().columns
    with_contacts = any(line.contact for line in found.lines)
    table = Table(
        cols["district"],
        cols["unit"],
        cols["name"],
        "trạng thái / state",
        cols["reason"],
        *(["liên hệ / contact"] if with_contacts else []),
        title=f"{listed.period} ({listed.period_vi}): {state}, {len(listed.units)}",
    )
    for line in found.lines:
        u, c = line.unit, line.contact
        table.add_row(
            f"{u.district_code or ''} {u.district_name or ''}".strip(),
            u.unit_code,
            u.name,
            f"[{_STATE_STYLE.get(u.state, '')}]{u.state_text}[/]",
            u.reason or "",
            *([f"{c.person} {c.phone}" if c else ""] if with_contacts else []),
        )
    console.print(table)


def _print_unit_lines(payload: dict[str, Any]) -> None:
    table = Table(
        "unit", "name", "state", "approval", "days late", "uploads", "live file", "version"
    )
    words = load_approval_config().states
    for u in payload["units"]:
        style = _STATE_STYLE[u["state"]]
        approval = u.get("approval")
        table.add_row(
            u["unit_code"],
            u["name"],
            f"[{style}]{state_text_both(u)}[/]",
            words[ApprovalState(approval)].vi if approval else "",
            "" if u["days_late"] is None else str(u["days_late"]),
            str(u["n_uploads"]),
            u["live_key"] or "",
            "" if u["live_version"] is None else str(u["live_version"]),
        )
    console.print(table)
    t = payload["totals"]
    attention = load_steward_text().attention.both
    console.print(
        f"{t['expected']} expected: {t['on_time']} on time, {t['late']} late, "
        f"{t['corrected']} corrected, {t['correction_rejected']} correction rejected, "
        f"{t['rejected']} rejected only, {t['missing']} missing; "
        f"[bold red]{attention}: {t['attention']}[/]"
    )


def _print_counts(payload: dict[str, Any]) -> None:
    cols = (
        "expected",
        "received",
        "accepted",
        "approved",
        "rejected",
        "missing",
        "on_time",
        "late",
    )
    table = Table("unit", "name", "reports of", *cols, "% accepted")
    for r in payload["rows"]:
        table.add_row(
            r["unit_code"],
            r["name"],
            r["reporter_level"],
            *(str(r.get(c, "")) for c in cols),
            f"{r['pct_accepted']:.1f}",
        )
    console.print(table)


def submissions(unit: UnitOpt, period: PeriodOpt, json_out: JsonOpt = False) -> None:
    """A unit's uploads for a period, oldest first: status, receipt, and which one is live."""
    intake, p, _ = _open(period)
    # The whole ledger: a file nobody could read has no period of its own, only its folder's.
    hist = submission_history(intake.tables.read_ledger(), p, unit, intake.settings.incoming_prefix)
    rows = records(hist)
    if json_out:
        print_json({"period": p.code, "unit_code": unit, "uploads": rows})
        return
    if not rows:
        console.print(f"no uploads from {unit} for {p.code}")
        return
    table = Table(
        "live",
        "key",
        "version id / etag",
        "received",
        "status",
        "claims unit",
        "report v.",
        "E",
        "W",
        "receipt",
    )
    for r in rows:
        table.add_row(
            "[bold green]●[/]" if r["live"] else "",
            r["key"],
            r["version_id"] or r["etag"],
            r["received_at"],
            r["status"],
            r["claimed_unit"] or "?",
            "" if r["report_version"] is None else str(r["report_version"]),
            str(r["n_errors"]),
            str(r["n_warnings"]),
            r["receipt_key"],
        )
    console.print(table)


def explain(
    period: PeriodOpt,
    unit: UnitOpt,
    indicator: Annotated[str, typer.Option(help="Indicator code, e.g. MH_DANG_KY.")],
    dim: Annotated[
        list[str] | None,
        typer.Option(
            "--dim", "-d", help="Breakdown filter NAME=VALUE (repeatable), e.g. field=KT."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Where a roll-up figure comes from: the live submissions behind it, and a check that they add up.

    Breakdowns not filtered are summed over; a ratio is re-divided from its
    numerator and denominator. Exit code 2 when the stored figure disagrees.
    """
    filters: dict[str, str] = {}
    for item in dim or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"--dim wants NAME=VALUE, got {item!r}")
        filters[name.strip()] = value.strip()
    intake, p, hierarchy = _open(period)
    ledger = intake.tables.read_ledger(p.code)
    from dvkn_pipeline.rollup.spatial import live_submissions

    live = live_submissions(ledger, p.code)["submission_id"].to_list()
    try:
        payload = explain_figure(
            ledger,
            intake.tables.read_facts(p.code, live),
            intake.tables.read_rollup(p.code),
            hierarchy,
            intake.catalogue,
            p,
            unit,
            indicator,
            filters,
        )
    except StatusError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if json_out:
        print_json(payload)
    else:
        _print_explanation(payload)
    if not payload["matches"]:
        raise typer.Exit(2)


def _print_explanation(payload: dict[str, Any]) -> None:
    parts = [k for k in payload["submissions"][0] if k.isupper()] if payload["submissions"] else []
    where = ", ".join(f"{k}={v}" for k, v in payload["filters"].items())
    console.print(
        f"[bold]{payload['indicator']}[/] {payload['name_vi']} / {payload['name_en']}"
        f"{' [' + where + ']' if where else ''}, {payload['unit_name']} "
        f"({payload['unit_code']}), {payload['period']}"
    )
    table = Table("unit", "name", "file", "version", "received", *parts)
    for s in payload["submissions"]:
        table.add_row(
            s["unit_code"],
            s["name"],
            s["key"],
            str(s["report_version"]),
            s["received_at"],
            *("" if s[c] is None else f"{s[c]:g}" for c in parts),
        )
    console.print(table)
    ok = "[green]matches[/]" if payload["matches"] else "[bold red]DOES NOT MATCH[/]"
    console.print(
        f"recomputed {payload['recomputed']}, stored {payload['stored']}: {ok} "
        f"({len(payload['submissions'])} live submissions)"
    )


def chart(
    period: PeriodOpt,
    out: Annotated[Path, typer.Option(help="Directory for the PNG and HTML.")] = Path("."),
    level: Annotated[
        str | None,
        typer.Option(help="Rows of the heat map (default: districts, or the province after 2025)."),
    ] = None,
    publish: Annotated[
        bool, typer.Option(help="Also publish it to Prefect as markdown and image artifacts.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Completeness heat map (units × report state) as PNG and HTML, optionally a Prefect artifact."""
    from dvkn_pipeline.views.chart import completeness_chart

    intake, p, hierarchy = _open(period)
    try:
        made = completeness_chart(
            intake.tables.read_ledger(p.code), hierarchy, intake.catalogue, p, level
        )
    except StatusError as exc:
        raise typer.BadParameter(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    png, page = out / f"completeness-{p.code}.png", out / f"completeness-{p.code}.html"
    png.write_bytes(made.png)
    page.write_text(made.html, encoding="utf-8")
    if publish:
        from dvkn_pipeline.services.orchestration import load_flow
        from schemas.deployments import PUBLISH_COMPLETENESS_ENTRYPOINT

        use_prefect(intake.settings)
        load_flow(PUBLISH_COMPLETENESS_ENTRYPOINT)([p.code], bucket=intake.settings.bucket)
    if json_out:
        print_json(
            {
                "period": p.code,
                "png": str(png),
                "html": str(page),
                "summary": made.summary,
                "rows": records(made.grid),
            }
        )
        return
    console.print(f"wrote {png} and {page}")
    for k, v in made.summary.items():
        console.print(f"  {k}: {v}")


def trend(
    unit: UnitOpt,
    start: Annotated[str, typer.Option("--from", help="First period, e.g. 2024-Q1.")],
    end: Annotated[str, typer.Option("--to", help="Last period, of the same kind.")],
    indicator: Annotated[
        str | None, typer.Option(help="An indicator to follow too, e.g. MH_DANG_KY.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the PNG chart.")] = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """A unit across periods: completeness (% accepted, % on time) and an indicator, with a PNG chart."""
    from dvkn_pipeline.services.steward import OutOfScopeError
    from dvkn_pipeline.services.wiring import build_steward
    from dvkn_pipeline.views.trend import TrendError, period_range, trend_png

    settings = load_settings()
    steward = build_steward(settings)
    try:
        periods = period_range(parse_period(start), parse_period(end))
        made = steward.trend(unit, periods[0], periods[-1], settings.root_unit, indicator).unit
    except (TrendError, OutOfScopeError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    hierarchy = steward.hierarchies.for_date(periods[-1].reference_date)
    name = hierarchy.unit(unit).name if unit in hierarchy else ""
    words = load_steward_text().trend
    title = words.title.format(unit=unit, name=name, first=periods[0], last=periods[-1])
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"trend-{unit}-{periods[0]}-{periods[-1]}.png"
    png.write_bytes(trend_png(made, title))
    if json_out:
        print_json(made.to_json() | {"png": str(png)})
        return
    table = Table(
        "kỳ / period",
        "phải nộp / expected",
        "đã nhận / accepted",
        words.pct_accepted,
        words.pct_on_time,
        "chưa nộp / missing",
        *([f"{made.indicator_vi} / {made.indicator_en}"] if made.indicator else []),
        title=title,
    )
    for pt in made.points:
        table.add_row(
            f"{pt.period} ({pt.period_vi})",
            str(pt.expected),
            str(pt.accepted),
            "" if pt.pct_accepted is None else f"{pt.pct_accepted:.1f}",
            "" if pt.pct_on_time is None else f"{pt.pct_on_time:.1f}",
            str(pt.missing),
            *([fmt(pt.value)] if made.indicator else []),
        )
    console.print(table)
    console.print(f"wrote {png}")
