"""Steward commands that change what the pipeline decided: reprocess and overrides.

Each one starts the intake deployment with a ``reprocess`` parameter, so the
work runs where intake runs (a worker), shows in the Prefect UI with its
artifacts, and refreshes the roll-ups the same way an upload does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from dvkn_pipeline.cli.common import (
    JsonOpt,
    console,
    err,
    load_settings,
    parse_period,
    print_json,
    use_prefect,
)
from dvkn_pipeline.judging.overrides import blocking_errors
from dvkn_pipeline.services.steering import NothingToReprocessError, select_uploads
from dvkn_pipeline.services.uploads import find_receipt
from dvkn_pipeline.services.wiring import build_bucket
from schemas.records import Override, OverrideDecision, Receipt, ReprocessRequest
from schemas.settings import Settings

KeyOpt = Annotated[str, typer.Option("--key", help="The uploaded object's key.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (name of the steward).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept with the decision).")]
EtagOpt = Annotated[
    str | None, typer.Option("--etag", help="Which upload of the key (default: its latest).")
]
WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run to finish.")]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds to wait for the run with --wait.")]


def reprocess(
    key: Annotated[
        list[str] | None, typer.Option("--key", help="Key(s) of uploads to judge again.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="A unit code (with --period).")] = None,
    period: Annotated[
        str | None, typer.Option("--period", "-p", help="Every upload of this period.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (shown on the receipts).")] = None,
    wait: WaitOpt = False,
    timeout: TimeoutOpt = 600.0,
    json_out: JsonOpt = False,
) -> None:
    """Judge recorded uploads again with today's rules and catalogue (after a fix).

    Each upload gets a new attempt in the ledger and a new receipt (the earlier
    receipt stays as an earlier version); roll-ups of the units concerned are
    refreshed. Running the same reprocess twice changes no total.
    """
    if unit and not period:
        raise typer.BadParameter("--unit needs --period")
    code = parse_period(period).code if period else None
    try:
        request = ReprocessRequest(upload_keys=key or [], unit=unit, period=code, reason=reason)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _submit(load_settings(), request, wait, timeout, json_out)


def reject(
    key: KeyOpt,
    by: ByOpt,
    reason: ReasonOpt,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 600.0,
    json_out: JsonOpt = False,
) -> None:
    """Set an upload aside: it no longer counts, whatever its checks said (recorded with who and why)."""
    _override(OverrideDecision.REJECT, key, by, reason, etag, wait, timeout, json_out)


def accept_with_warnings(
    key: KeyOpt,
    by: ByOpt,
    reason: ReasonOpt,
    etag: EtagOpt = None,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 600.0,
    json_out: JsonOpt = False,
) -> None:
    """Accept an upload despite errors of cross-field rules (see schemas/overrides.yaml).

    Errors that leave no usable figures (unreadable file, unknown unit, values
    that are not numbers, ...) cannot be overruled: ask for a corrected file.
    """
    _override(OverrideDecision.ACCEPT_WITH_WARNINGS, key, by, reason, etag, wait, timeout, json_out)


def _override(
    decision: OverrideDecision,
    key: str,
    by: str,
    reason: str,
    etag: str | None,
    wait: bool,
    timeout: float,
    json_out: bool,
) -> None:
    settings = load_settings()
    override = Override(decision=decision, by=by, reason=reason, at=datetime.now(UTC))
    request = ReprocessRequest(
        upload_keys=[key], etag=etag, override=override, reason=f"{decision.value} by {by}"
    )
    if decision is OverrideDecision.ACCEPT_WITH_WARNINGS:
        data = find_receipt(build_bucket(settings), settings, key)
        if data is not None:
            blocking = blocking_errors(decision, Receipt.model_validate(data).problems)
            if blocking:
                err.print("[bold red]cannot accept[/]: errors no steward may overrule:")
                for p in blocking:
                    err.print(f"  - {p.rule}: {p.message_vi} / {p.message_en}")
                raise typer.Exit(1)
    _submit(settings, request, wait, timeout, json_out)


def _submit(
    settings: Settings, request: ReprocessRequest, wait: bool, timeout: float, json_out: bool
) -> None:
    from dvkn_pipeline.ops import local_env
    from dvkn_pipeline.services.wiring import build_intake

    intake = build_intake(settings)
    try:
        selected = select_uploads(intake.tables.read_ledger(), request)
    except NothingToReprocessError as exc:
        err.print(str(exc))
        raise typer.Exit(1) from exc
    use_prefect(settings)
    from dvkn_pipeline.services.orchestration import run_reprocess

    run = run_reprocess(request, bucket=settings.bucket, timeout=timeout if wait else 0)
    state = run.state.name if run.state else "?"
    url = f"{local_env.prefect_ui_url(settings)}/runs/flow-run/{run.id}"
    ids = selected["upload_id"].to_list()
    after = intake.tables.read_ledger().filter(pl.col("upload_id").is_in(ids)) if wait else selected
    rows = after.select(
        "key",
        "etag",
        "status",
        "attempt",
        "override",
        "override_by",
        "override_reason",
        "override_at",
        "n_errors",
        "n_warnings",
    ).to_dicts()
    if json_out:
        print_json({"flow_run_id": str(run.id), "state": state, "url": url, "uploads": rows})
    else:
        console.print(f"{len(ids)} upload(s) sent to be judged again: run {run.name} ({state})")
        console.print(f"Prefect UI: [bold]{url}[/]")
        if wait:
            _print_rows(rows)
    # A run that rejected files completes under a name of its own ("Completed (1 rejected)").
    if wait and not (run.state and run.state.is_completed()):
        raise typer.Exit(1)


def _print_rows(rows: list[dict[str, Any]]) -> None:
    table = Table("key", "status", "attempt", "override", "errors", "warnings")
    for r in rows:
        who = (
            f"{r['override']} by {r['override_by']} at {r['override_at']:%Y-%m-%d %H:%M}: "
            f"{r['override_reason']}"
            if r["override"]
            else ""
        )
        table.add_row(
            r["key"], r["status"], str(r["attempt"]), who, str(r["n_errors"]), str(r["n_warnings"])
        )
    console.print(table)


automations_app = typer.Typer(
    help="Prefect automations that notify stewards.", no_args_is_help=True
)
notifications_app = typer.Typer(help="The local notification target.", no_args_is_help=True)


@automations_app.command("apply")
def automations_apply(json_out: JsonOpt = False) -> None:
    """Create or update the automations of schemas/automations.yaml (idempotent).

    Notifications go to the target of DVKN_NOTIFY_TARGET: log (the local
    listener, `dvkn notifications listen`), webhook (DVKN_NOTIFY_WEBHOOK_URL)
    or slack (a Slack incoming-webhook URL in DVKN_NOTIFY_WEBHOOK_URL).
    """
    settings = load_settings()
    use_prefect(settings)
    from dvkn_pipeline.services.automations import apply

    done = apply(settings)
    if json_out:
        print_json([{"name": a.name, "id": str(a.id), "action": a.action} for a in done])
        return
    for a in done:
        console.print(f"{a.action:8} {a.name}  ({a.id})")
    console.print(f"notifications go to: [bold]{settings.notify_target}[/]")


@automations_app.command("list")
def automations_list(json_out: JsonOpt = False) -> None:
    """The project's automations on the Prefect server: trigger events and whether enabled."""
    settings = load_settings()
    use_prefect(settings)
    from dvkn_pipeline.services.automations import listed

    rows: list[dict[str, Any]] = [
        {
            "name": a.name,
            "id": str(a.id),
            "enabled": a.enabled,
            "events": sorted(getattr(a.trigger, "expect", set())),
            "description": a.description,
        }
        for a in listed()
    ]
    if json_out:
        print_json(rows)
        return
    table = Table("name", "enabled", "events", "description")
    for r in rows:
        table.add_row(
            r["name"], "yes" if r["enabled"] else "no", ", ".join(r["events"]), r["description"]
        )
    console.print(table)


@notifications_app.command("listen")
def notifications_listen(
    port: Annotated[int | None, typer.Option(help="Port (default base port + 19).")] = None,
) -> None:
    """Receive the automations' notifications on 127.0.0.1 and log them (Ctrl-C stops)."""
    import json

    from dvkn_pipeline.ops.notify_sink import make_server

    settings = load_settings()
    log_path = settings.state_dir / "logs" / "notifications.log"
    server = make_server(
        port if port is not None else settings.local_port("notify"),
        log_path,
        lambda m: console.print(json.dumps(m, ensure_ascii=False)),
    )
    console.print(
        f"listening on http://127.0.0.1:{server.server_port}/notify, logging to {log_path}"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
