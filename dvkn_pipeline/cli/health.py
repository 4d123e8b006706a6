"""``dvkn health``: is the pipeline processing uploads right now? (see dvkn_pipeline/services/health.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import JsonOpt, console, load_settings, print_json, use_prefect
from dvkn_pipeline.services.health import Thresholds, Verdict, gather, overall

STYLE = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red"}


def health(
    backlog_minutes: Annotated[
        float, typer.Option(help="An upload waiting longer than this is stuck.")
    ] = 10.0,
    worker_silence: Annotated[
        float, typer.Option(help="Seconds without a heartbeat after which a worker is gone.")
    ] = 90.0,
    json_out: JsonOpt = False,
) -> None:
    """Check workers polling, the reconcile sweep's schedule, stuck uploads, stale roll-ups.

    Exit status 1 when a check fails (for cron or a monitoring probe), 0 otherwise.
    """
    from prefect import get_client

    from dvkn_pipeline.services.wiring import build_intake

    settings = load_settings()
    use_prefect(settings)
    limits = Thresholds(
        worker_silence=timedelta(seconds=worker_silence),
        backlog_age=timedelta(minutes=backlog_minutes),
    )
    with get_client(sync_client=True) as client:
        checks = gather(
            build_intake(settings), client, settings.work_pool, datetime.now(UTC), limits
        )
    verdict = overall(checks)
    if json_out:
        print_json({"verdict": verdict, "checks": [c.model_dump(mode="json") for c in checks]})
    else:
        table = Table("check", "verdict", "detail")
        for c in checks:
            table.add_row(c.name, f"[{STYLE[c.verdict]}]{c.verdict}[/]", c.detail)
        console.print(table)
        console.print(f"overall: [{STYLE[verdict]}]{verdict}[/]")
    if verdict is Verdict.FAIL:
        raise typer.Exit(1)
