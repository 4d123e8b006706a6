"""``dvkn webhook serve`` and ``dvkn infra users``: the production event source and access."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    console,
    err,
    load_settings,
    parse_period,
    print_json,
)

webhook_app = typer.Typer(help="The MinIO bucket-notification receiver.", no_args_is_help=True)
infra_app = typer.Typer(
    help="Production infrastructure helpers (MinIO access).", no_args_is_help=True
)


@webhook_app.command("serve")
def webhook_serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind; default DVKN_WEBHOOK_HOST.")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port; default DVKN_WEBHOOK_PORT.")] = None,
) -> None:
    """Receive MinIO notifications at /minio/events and emit dvkn.report.uploaded events.

    Needs DVKN_WEBHOOK_TOKEN (MinIO's auth_token) and a reachable Prefect API
    (PREFECT_API_URL or DVKN_PREFECT_API_URL).
    """
    from dvkn_pipeline.events.webhook import EVENTS_PATH, serve

    settings = load_settings()
    updates: dict[str, object] = {}
    if host is not None:
        updates["webhook_host"] = host
    if port is not None:
        updates["webhook_port"] = port
    settings = settings.model_copy(update=updates)
    if not settings.webhook_token.get_secret_value():
        err.print("DVKN_WEBHOOK_TOKEN is not set: refusing to serve an open endpoint.")
        raise typer.Exit(2)
    console.print(
        f"listening on http://{settings.webhook_host}:{settings.webhook_port}{EVENTS_PATH}"
    )
    serve(settings)


@infra_app.command("users")
def infra_users(
    out: Annotated[Path, typer.Option(help="Directory for policies/*.json and apply.sh.")] = Path(
        "build/minio-access"
    ),
    on: Annotated[
        str | None,
        typer.Option(help="Date (YYYY-MM-DD) whose hierarchy lists the units; default today."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Generate MinIO policies and the mc script creating one write-only user per unit.

    Run the script with an admin alias: MC_ALIAS=dvkn sh build/minio-access/apply.sh
    """
    from dvkn_pipeline.ops.minio_access import plan, write_plan
    from dvkn_pipeline.reference.hierarchy import COUNTRY_LEVEL, load_hierarchies

    settings = load_settings()
    when = date.fromisoformat(on) if on else date.today()
    hierarchy = load_hierarchies().for_date(when).scope(settings.root_unit)
    access = plan((u for u in hierarchy if u.level != COUNTRY_LEVEL), settings)
    script = write_plan(access, out)
    counts: dict[str, int] = {}
    for user, _ in access.unit_users:
        level = user.split("-", 1)[0]
        counts[level] = counts.get(level, 0) + 1
    if json_out:
        print_json(
            {
                "script": str(script),
                "policies": len(access.policies),
                "unit_users": counts,
                "hierarchy_date": when.isoformat(),
            }
        )
        return
    console.print(
        f"{len(access.policies)} policies and {len(access.unit_users)} unit users {counts}"
    )
    console.print(f"apply with: [bold]MC_ALIAS=<admin alias> sh {script}[/]")


@infra_app.command("rerun")
def infra_rerun(period: PeriodOpt, json_out: JsonOpt = False) -> None:
    """Recompute a period's roll-up and completeness from the ledger (after a restore or a fix).

    Takes the same per-period refresh lease as the intake flow, so it never
    races a running refresh. Uploads never processed are the sweep's
    job: prefect deployment run process-uploads/reconcile
    """
    import polars as pl

    from dvkn_pipeline.services.wiring import build_intake
    from dvkn_pipeline.views.summaries import completeness_summary

    settings = load_settings()
    p = parse_period(period)
    intake = build_intake(settings)
    comp = intake.refresh({p.code})
    summary = completeness_summary(
        comp.get(p.code, pl.DataFrame()), intake.hierarchies, settings.root_unit
    )
    if json_out:
        print_json({"period": p.code, "completeness": summary})
        return
    console.print(f"{p.code}: roll-up and completeness rewritten; {summary['text']}")


@infra_app.command("minio-setup")
def infra_minio_setup(
    apply: Annotated[
        bool, typer.Option("--apply", help="Set what is missing (default: only check).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check (and with --apply, set) the bucket's versioning and its upload notification on MinIO.

    Uses MinIO's own API (the minio SDK) with DVKN_S3_* settings; exit 1 when
    something is missing and --apply was not given.
    """
    from dvkn_pipeline.ops.minio_setup import ensure_bucket_setup, minio_client

    settings = load_settings()
    report = ensure_bucket_setup(
        minio_client(settings), settings.bucket, settings.incoming_prefix, apply=apply
    )
    ok = report.versioning_was_on and report.notification_was_present
    if json_out:
        print_json({"bucket": settings.bucket, **report.__dict__})
    else:
        console.print(
            f"bucket {settings.bucket}: versioning {'on' if report.versioning_was_on else 'OFF'}, "
            f"upload notification {'present' if report.notification_was_present else 'MISSING'}"
            + ("; set now" if report.changed else "")
        )
    if not ok and not apply:
        raise typer.Exit(1)
