"""``dvkn``: a thin command line over the library (every command is a library call).

Figures print as tables for people and, with ``--json``, as JSON built from
the same records, for scripts and upper-level systems.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.periods import Period, PeriodError
from dvkn_pipeline.services.queries import figures
from schemas.settings import Settings

app = typer.Typer(
    help="DVKN pipeline: intake, validation and roll-up of 'Dân vận khéo' reports.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
# Wide enough for the roll-up tables when output goes to a file or CI log.
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

PeriodOpt = Annotated[
    str, typer.Option("--period", "-p", help="Reporting period, e.g. 2025-Q1, 2025-M03, 2025-Y.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _settings() -> Settings:
    return Settings()


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _use_prefect(settings: Settings) -> None:
    """Point this process's Prefect client at the project's server."""
    os.environ.update(local_stack.prefect_env(settings))


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


@app.command()
def up(
    workers: Annotated[int, typer.Option(help="Prefect worker processes to start.")] = 1,
    sensor: Annotated[bool, typer.Option(help="Start the polling event source.")] = True,
) -> None:
    """Start the embedded object store, Prefect server, worker(s) and sensor; register deployments."""
    settings = _settings().model_copy(update={"intake_concurrency": workers})
    info = local_stack.up(settings, workers=workers, with_sensor=False)
    _use_prefect(settings)
    from dvkn_pipeline.services.orchestration import register

    register(settings)
    if sensor:
        local_stack.start_sensor(settings)
    console.print(f"S3 endpoint:  {info.s3_endpoint}  (bucket [bold]{settings.bucket}[/])")
    console.print(f"Prefect UI:   [bold]{info.prefect_ui_url}[/]")
    console.print("Services keep running in the background; stop them with [bold]dvkn down[/].")


@app.command()
def down() -> None:
    """Stop every service started by ``dvkn up`` or ``dvkn demo --keep-running``."""
    local_stack.down(_settings())
    console.print("stopped")


@app.command()
def ps(json_out: JsonOpt = False) -> None:
    """Show the embedded services and whether they are running."""
    states = local_stack.service_status(_settings())
    if json_out:
        _print_json([s.__dict__ for s in states])
        return
    table = Table("service", "pid", "running", "restarts", "log")
    for s in states:
        restarts = "" if s.restarts is None else str(s.restarts)
        running = "yes" if s.alive else "no"
        table.add_row(s.name, str(s.pid or ""), running, restarts, str(s.log_path))
    console.print(table)


@app.command()
def deploy() -> None:
    """Create or update the Prefect deployments (event trigger, reconciliation schedule)."""
    settings = _settings()
    _use_prefect(settings)
    from dvkn_pipeline.services.orchestration import register

    ids = register(settings)
    console.print(f"registered {len(ids)} deployments")


@app.command()
def generate(
    period: PeriodOpt,
    out: Annotated[Path, typer.Option(help="Directory to write the CSV files into.")] = Path(
        "reports"
    ),
    unit: Annotated[
        list[str] | None, typer.Option(help="Unit code(s); default every reporting unit.")
    ] = None,
    seed: int = 2025,
) -> None:
    """Write realistic synthetic reports (canonical CSV) to a directory."""
    from dvkn_pipeline.ops.generator import generate_report
    from dvkn_pipeline.reference.hierarchy import load_hierarchies

    settings = _settings()
    p = _period(period)
    catalogue = load_catalogue()
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    units = (
        [hierarchy.unit(u) for u in unit]
        if unit
        else [
            u
            for lvl in hierarchy.levels
            if catalogue.reported_by(lvl)
            for u in hierarchy.units_at(lvl)
        ]
    )
    out.mkdir(parents=True, exist_ok=True)
    for u in units:
        report = generate_report(u, p, catalogue, seed=seed)
        (out / f"bao-cao-{u.code}-{p.code}.csv").write_bytes(report.to_csv(catalogue))
    console.print(f"wrote {len(units)} reports to {out}")


@app.command()
def template(
    unit: Annotated[str, typer.Option(help="Unit code (GSO), e.g. 00004.")],
    period: PeriodOpt,
    out: Annotated[
        Path | None, typer.Option(help="Output file; default bao-cao-<unit>-<period>.xlsx.")
    ] = None,
) -> None:
    """Write the Excel report workbook for a unit and period, ready to fill in."""
    from dvkn_pipeline.judging.excel import write_template
    from dvkn_pipeline.reference.hierarchy import load_hierarchies

    p = _period(period)
    hierarchy = load_hierarchies().for_date(p.reference_date)
    found = hierarchy.get(unit)
    if found is None:
        raise typer.BadParameter(
            f"unit {unit} is not in the hierarchy valid for {p} ({hierarchy.version_id})"
        )
    target = out or Path(f"bao-cao-{found.code}-{p.code}.xlsx")
    target.write_bytes(write_template(found, p, load_catalogue()))
    console.print(f"wrote {target}: {found.name}, {p.label_vi}")


@app.command()
def upload(
    files: Annotated[
        list[Path], typer.Argument(help="Report files to upload.", exists=True, dir_okay=False)
    ],
    unit: Annotated[str, typer.Option(help="Your unit code (the upload folder).")],
    period: PeriodOpt,
) -> None:
    """Upload report files to ``incoming/<unit>/<period>/`` as a commune does."""
    from dvkn_pipeline.reference.keys import incoming_key, receipt_key
    from dvkn_pipeline.storage.bucket import Bucket
    from dvkn_pipeline.storage.s3_client import make_s3_client

    settings = _settings()
    p = _period(period)
    bucket = Bucket(make_s3_client(settings), settings.bucket)
    for f in files:
        key = incoming_key(unit, p.code, f.name, settings.incoming_prefix)
        bucket.put_bytes(key, f.read_bytes())
        console.print(
            f"uploaded {key}; receipt will be at {receipt_key(key, settings.incoming_prefix, settings.receipts_prefix)}"
        )


@app.command()
def receipt(
    key: Annotated[str, typer.Argument(help="The uploaded object's key.")],
    json_out: JsonOpt = False,
) -> None:
    """Show the receipt of an upload."""
    from dvkn_pipeline.reference.keys import receipt_key
    from dvkn_pipeline.storage.bucket import Bucket
    from dvkn_pipeline.storage.s3_client import make_s3_client
    from schemas.records import Receipt

    settings = _settings()
    bucket = Bucket(make_s3_client(settings), settings.bucket)
    data = bucket.get_json(receipt_key(key, settings.incoming_prefix, settings.receipts_prefix))
    if data is None:
        err.print("no receipt yet: the file is still waiting to be processed, or the key is wrong")
        raise typer.Exit(1)
    if json_out:
        _print_json(data)
        return
    _print_receipt(Receipt.model_validate(data))


def _print_receipt(r: Any) -> None:
    colour = {"accepted": "green", "duplicate": "yellow", "rejected": "red"}[r.status.value]
    console.print(f"[bold {colour}]{r.status.value.upper()}[/] {r.key}")
    console.print(r.summary_vi)
    console.print(r.summary_en)
    if r.problems:
        table = Table(
            "",
            "sheet",
            "row",
            "column",
            "value",
            "rule",
            "vấn đề / problem",
            "cách sửa / what to do",
        )
        for p in r.problems:
            table.add_row(
                "E" if p.severity.value == "error" else "W",
                p.sheet or "",
                str(p.row or ""),
                p.column or "",
                p.value or "",
                p.rule,
                f"{p.message_vi}\n{p.message_en}",
                f"{p.hint_vi}\n{p.hint_en}",
            )
        console.print(table)


@app.command()
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
    from dvkn_pipeline.cli.reform import parse_as_of_option
    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.services.wiring import build_intake

    settings = _settings()
    p = _period(period)
    intake = build_intake(settings)
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    payload = figures(
        intake.tables,
        hierarchy,
        p,
        level,
        [unit] if unit else None,
        settings.root_unit,
        as_of=parse_as_of_option(as_of),
    )
    if json_out:
        _print_json(payload)
    else:
        print_figures(payload)


def print_figures(payload: dict[str, Any]) -> None:
    console.print(
        f"[bold]{payload['period']}[/] ({payload['period_vi']}), "
        f"hierarchy {payload['hierarchy_version']}, level {payload['level']}"
        + (f", as of {payload['as_of']}" if payload.get("as_of") else "")
    )
    console.print(f"Completeness: [bold]{payload['completeness']['text']}[/]")
    units = payload["units"]
    if len(units) <= 3:
        for u in units:
            table = Table("indicator", "chỉ tiêu / name", "category", "value", "unit")
            table.title = f"{u['name']} ({u['unit_code']})"
            for f in u["figures"]:
                name = f"{f['name_vi']} / {f['name_en']}"
                table.add_row(
                    f["indicator"], name, f["category"] or "", _fmt(f["value"]), f["unit"]
                )
            console.print(table)
        return
    cols = {
        "MH_DANG_KY": "models reg.",
        "MH_CONG_NHAN": "recognized",
        "MH_NHAN_RONG": "replicated",
        "TIEN_VAN_DONG": "money (VND)",
        "Y_KIEN_TIEP_NHAN": "opinions",
    }
    table = Table("unit", "name", "reported", *cols.values(), title=f"{payload['level']} roll-up")
    for u in units:
        vals = {f["indicator"]: f["value"] for f in u["figures"] if f["category"] is None}
        rep = " ".join(
            f"{v['accepted']}/{v['expected']}" for _, v in sorted(u["completeness"].items())
        )
        table.add_row(u["unit_code"], u["name"], rep, *[_fmt(vals.get(c)) for c in cols])
    console.print(table)


def print_receipt_brief(r: Any) -> None:
    """One line per problem: what a steward reads in a terminal."""
    console.print(f"[bold red]{r.status.value.upper()}[/] {r.key}: {r.summary_vi} / {r.summary_en}")
    for p in r.problems:
        where = ", ".join(x for x in (p.sheet, f"row {p.row}" if p.row else None, p.column) if x)
        console.print(
            f"  - [{where}] {p.message_vi}\n    {p.message_en}\n    → {p.hint_vi} / {p.hint_en}"
        )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    v = float(value)
    return (
        f"{int(v):,}".replace(",", ".")
        if v.is_integer()
        else f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    )


@app.command()
def completeness(period: PeriodOpt, json_out: JsonOpt = False) -> None:
    """Who has reported for a period, per level (expected, received, accepted, late)."""
    from dvkn_pipeline.services.wiring import build_intake
    from dvkn_pipeline.views.summaries import completeness_summary

    settings = _settings()
    p = _period(period)
    comp = build_intake(settings).tables.read_completeness(p.code)
    summary = completeness_summary(comp, None, settings.root_unit)
    if json_out:
        _print_json(summary)
    else:
        console.print(summary["text"])


@app.command()
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
    from dvkn_pipeline.rollup.temporal import source_periods, temporal_rollup
    from dvkn_pipeline.services.wiring import build_intake
    from dvkn_pipeline.views.export import export_csv, export_xlsx

    settings, p, catalogue = _settings(), _period(period), load_catalogue()
    tables = build_intake(settings).tables
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    table, comp = tables.read_rollup(p.code), tables.read_completeness(p.code)
    try:
        if table.is_empty():
            have = [
                q for q in map(Period.parse, tables.rollup_periods()) if q != p and p.contains(q)
            ]
            sources = source_periods(p, have)
            table = temporal_rollup(
                {q.code: tables.read_rollup(q.code) for q in sources}, p, catalogue
            )
            comp = pl.concat([tables.read_completeness(q.code) for q in sources])
        xlsx = export_xlsx(table, comp, hierarchy, catalogue, p, level, unit or None)
        csv_bytes = export_csv(table, hierarchy, catalogue, p, level, unit or None)
    except DvknError as exc:
        raise typer.BadParameter(str(exc)) from exc
    path = out or Path(f"dvkn-{p.code}-{level}.xlsx")
    path.write_bytes(xlsx)
    path.with_suffix(".csv").write_bytes(csv_bytes)
    console.print(f"wrote {path} and {path.with_suffix('.csv')}")


@app.command()
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
    from dvkn_pipeline.ops.demo import demo_uploads, upload_all, wait_for_ledger, wait_for_rollup
    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.reference.keys import receipt_key
    from dvkn_pipeline.services.wiring import build_intake
    from schemas.records import Receipt

    settings = _settings().model_copy(update={"intake_concurrency": workers})
    p = _period(period)
    say = err.print if json_out else console.print
    say("[bold]1/5[/] starting SeaweedFS (S3), Prefect server and worker ...")
    info = local_stack.up(settings, workers=workers, with_sensor=False)
    try:
        _use_prefect(settings)
        from dvkn_pipeline.services.orchestration import register

        register(settings)
        local_stack.start_sensor(settings)
        say(f"      Prefect UI: [bold]{info.prefect_ui_url}[/]   S3: {info.s3_endpoint}")
        intake = build_intake(settings)
        catalogue = intake.catalogue
        hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
        uploads = demo_uploads(hierarchy, p, catalogue, settings)
        target = f"s3://{settings.bucket}/{settings.incoming_prefix}"
        say(f"[bold]2/5[/] uploading {len(uploads)} reports for {p} ({p.label_vi}) to {target} ...")
        started = time.perf_counter()
        upload_ids = upload_all(intake.bucket, uploads)
        took = time.perf_counter() - started
        say(
            f"      uploaded in {took:.1f}s; the sensor announces each as a dvkn.report.uploaded event"
        )
        say("[bold]3/5[/] waiting for the event-triggered deployment to process them ...")
        ledger = wait_for_ledger(intake.tables, upload_ids, timeout)
        n_units = sum(
            len(hierarchy.units_at(lvl)) for lvl in hierarchy.levels if catalogue.reported_by(lvl)
        )
        say("[bold]4/5[/] waiting for the roll-up ...")
        wait_for_rollup(intake.tables, p.code, settings.root_unit, n_units, timeout)
        rejected = ledger.filter(pl.col("status") == "rejected")
        say("[bold]5/5[/] results")
        city = figures(intake.tables, hierarchy, p, hierarchy.levels[0], None, settings.root_unit)
        districts = (
            figures(intake.tables, hierarchy, p, hierarchy.levels[1], None, settings.root_unit)
            if len(hierarchy.levels) > 2
            else None
        )
        if json_out:
            _print_json(
                {
                    "period": p.code,
                    "uploads": len(uploads),
                    "ledger": {
                        s: int(ledger.filter(pl.col("status") == s).height)
                        for s in ("accepted", "rejected", "duplicate")
                    },
                    "rejected_receipts": rejected["receipt_key"].to_list(),
                    "city": city,
                    "districts": districts,
                    "prefect_ui": info.prefect_ui_url,
                }
            )
        else:
            if districts:
                print_figures(districts)
            print_figures(city)
            _explain_lateness(p, city)
            for key in rejected["key"].to_list():
                console.print("\nA rejected upload and its receipt (what the commune sees):")
                data = intake.bucket.get_json(
                    receipt_key(key, settings.incoming_prefix, settings.receipts_prefix)
                )
                print_receipt_brief(Receipt.model_validate(data))
        say(f"\nPrefect UI (flow runs, artifacts, events): [bold]{info.prefect_ui_url}[/]")
        if not keep_running:
            from dvkn_pipeline.services.orchestration import wait_until_idle

            wait_until_idle(timeout=120)  # let the run finish and write its artifacts
    finally:
        if keep_running:
            say("Services are still running: stop them with [bold]uv run dvkn down[/].")
        else:
            local_stack.down(settings)
            say(
                "Services stopped. To keep them for the Prefect UI: [bold]uv run dvkn demo --keep-running[/]"
            )
            say("(or [bold]uv run dvkn up[/] later; [bold]uv run dvkn down[/] stops them).")


def _explain_lateness(p: Period, city: dict[str, Any]) -> None:
    late = sum(v.get("late", 0) for v in city["completeness"].get("levels", {}).values())
    if late:
        console.print(
            f"(The demo uploads today, after the {p} deadlines of {p.deadline('commune')} for communes; "
            "so every report counts as late, as it would in real life.)"
        )


# Command groups kept in their own modules (registered last: they use the helpers above).
from dvkn_pipeline.cli import health, infra, reform, rehearse, status, steer  # noqa: E402

for _module in (status, steer, reform, infra, health, rehearse):
    _module.register(app)

if __name__ == "__main__":
    app()
