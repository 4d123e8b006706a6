"""``dvkn up``, ``down``, ``ps``, ``deploy``, ``demo``: the embedded stack on this machine.

The services themselves are :mod:`dvkn_pipeline.ops.local_stack`; the demo is
:func:`dvkn_pipeline.ops.demo.run_demo`, printed here.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    bars,
    console,
    err,
    load_settings,
    parse_period,
    print_figures,
    print_json,
    use_prefect,
)
from dvkn_pipeline.ops import local_stack, processes
from dvkn_pipeline.ops.demo import DemoResult, run_demo
from dvkn_pipeline.reference.periods import Period
from schemas.records import Receipt


def up(
    workers: Annotated[int, typer.Option(help="Prefect worker processes to start.")] = 1,
    sensor: Annotated[bool, typer.Option(help="Start the polling event source.")] = True,
) -> None:
    """Start the embedded object store, Prefect server, worker(s), sensor and web console; register deployments."""
    settings = load_settings().model_copy(update={"intake_concurrency": workers})
    info = local_stack.up(settings, workers=workers, with_sensor=False)
    use_prefect(settings)
    from dvkn_pipeline.services.orchestration import register

    register(settings)
    from dvkn_pipeline.ops.notify_sink import configure_notifications

    target = configure_notifications(settings)
    if sensor:
        local_stack.start_sensor(settings)
    console.print(f"S3 endpoint:  {info.s3_endpoint}  (bucket [bold]{settings.bucket}[/])")
    console.print(f"Notifications (rejected reports, failed runs): [bold]{target}[/]")
    console.print(f"Prefect UI:   [bold]{info.prefect_ui_url}[/]")
    console.print(f"Web console:  [bold]{info.console_url}[/]  (accounts: [bold]dvkn users add[/])")
    console.print("Services keep running in the background; stop them with [bold]dvkn down[/].")


def down() -> None:
    """Stop every service started by ``dvkn up`` or ``dvkn demo --keep-running``."""
    local_stack.down(load_settings())
    console.print("stopped")


def ps(json_out: JsonOpt = False) -> None:
    """Show the embedded services and whether they are running."""
    states = processes.service_status(load_settings())
    if json_out:
        print_json([s.__dict__ for s in states])
        return
    table = Table("service", "pid", "running", "restarts", "log")
    for s in states:
        restarts = "" if s.restarts is None else str(s.restarts)
        running = "yes" if s.alive else "no"
        table.add_row(s.name, str(s.pid or ""), running, restarts, str(s.log_path))
    console.print(table)


def deploy() -> None:
    """Create or update the Prefect deployments (event trigger, reconciliation schedule)."""
    settings = load_settings()
    use_prefect(settings)
    from dvkn_pipeline.services.orchestration import register

    ids = register(settings)
    console.print(f"registered {len(ids)} deployments")


def demo(
    period: PeriodOpt = "2025-Q1",
    keep_running: Annotated[
        bool, typer.Option(help="Leave the services running for the Prefect UI.")
    ] = False,
    workers: Annotated[int, typer.Option(help="Prefect worker processes.")] = 1,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for processing.")] = 900,
    json_out: JsonOpt = False,
) -> None:
    """The whole pipeline on the embedded default: start, upload a period for every Hanoi unit, roll up."""

    def show(result: DemoResult) -> None:
        if json_out:
            print_json(result.to_json())
        else:
            _print_demo(result)

    out = err if json_out else console
    with bars(out) as progress:
        run_demo(
            load_settings(),
            parse_period(period),
            workers=workers,
            timeout=timeout,
            keep_running=keep_running,
            say=out.print,
            show=show,
            progress=progress,
        )


def _print_demo(result: DemoResult) -> None:
    if result.districts:
        print_figures(result.districts)
    print_figures(result.city)
    _explain_lateness(result.period, result.city)
    for receipt in result.rejected_receipts:
        console.print("\nA rejected upload and its receipt (what the commune sees):")
        print_receipt_brief(receipt)
    console.print("\nIntake runs in the Prefect UI (name · state):")
    for name, state, message in result.runs:
        style = "bold yellow" if "(" in state else "green"
        console.print(f"  {name}  [{style}]{state}[/]  [dim]{message}[/]")
    console.print(f"\nNotifications to the steward ({result.notify_target}):")
    for n in result.notifications:
        console.print(f"  [bold]{n.get('subject', '')}[/]\n    {n.get('body', '')}")
    if not result.notifications:
        console.print("  (none arrived in time; see `dvkn automations list`)")


def _explain_lateness(p: Period, city: dict[str, Any]) -> None:
    late = sum(v.get("late", 0) for v in city["completeness"].get("levels", {}).values())
    if late:
        console.print(
            f"(The demo uploads today, after the {p} deadlines of {p.deadline('commune')} for communes; "
            "so every report counts as late, as it would in real life.)"
        )


def print_receipt_brief(r: Receipt) -> None:
    """One line per problem: what a steward reads in a terminal."""
    console.print(f"[bold red]{r.status.value.upper()}[/] {r.key}: {r.summary_vi} / {r.summary_en}")
    for p in r.problems:
        where = ", ".join(x for x in (p.sheet, f"row {p.row}" if p.row else None, p.column) if x)
        console.print(
            f"  - [{where}] {p.message_vi}\n    {p.message_en}\n    → {p.hint_vi} / {p.hint_en}"
        )
