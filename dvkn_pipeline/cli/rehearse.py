"""``dvkn infra rehearse``: the production topology of infra/compose.yaml, run natively."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import JsonOpt, console, err, print_json


def infra_rehearse(
    workers: Annotated[int, typer.Option(min=1, help="Worker replicas (compose's WORKERS).")] = 2,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the ledger and roll-ups.")
    ] = 240.0,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Directory for data and logs (default: a new one under /tmp)."),
    ] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep the work directory (logs) even when everything passed.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Rehearse infra/compose.yaml without containers: Prefect on PostgreSQL, N workers, webhook.

    Runs the compose services' own commands and environment on 127.0.0.1 (a
    throw-away PostgreSQL cluster, SeaweedFS standing in for MinIO), writes the
    uploads recorded MinIO notifications announce, POSTs those notifications to
    the receiver and checks events, flow runs, ledger, receipts and roll-ups.
    Exit status 1 when a check fails. What it cannot prove: infra/REHEARSAL.md.
    """
    from dvkn_pipeline.ops.rehearsal import rehearse

    say = (lambda m: err.print(m, highlight=False)) if json_out else console.print
    report = rehearse(workers=workers, timeout=timeout, workdir=workdir, keep=keep, say=say)
    if json_out:
        print_json(report.to_json())
    else:
        table = Table("check", "", "s", "detail")
        for c in report.checks:
            mark = "[green]pass[/]" if c.ok else "[red]FAIL[/]"
            table.add_row(c.name, mark, f"{c.seconds:.1f}", c.detail)
        console.print(table)
        if report.deviations:
            console.print("[bold]Changed from compose to run here[/] (besides addresses, paths):")
            for line in report.deviations:
                console.print(f"  - {line}")
        console.print("[bold]Not proved here[/] (infra/REHEARSAL.md):")
        for line in report.not_proved:
            console.print(f"  - {line}")
        verdict = "[green]PASS[/]" if report.ok else "[red]FAIL[/]"
        console.print(f"{verdict} in {report.seconds:.0f}s")
        if report.kept:
            console.print(f"logs: {report.workdir}/logs")
    if not report.ok:
        raise typer.Exit(1)
