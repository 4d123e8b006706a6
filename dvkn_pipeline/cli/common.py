"""What every command group of ``dvkn`` shares: options, settings, parsing, output.

Command modules import from here and never from :mod:`dvkn_pipeline.cli.app`,
which only assembles them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dvkn_pipeline.ops import local_env
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.periods import Period, PeriodError
from schemas.approval import Basis
from schemas.settings import Settings

# Wide enough for the roll-up tables when output goes to a file or CI log.
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

PeriodOpt = Annotated[
    str, typer.Option("--period", "-p", help="Reporting period, e.g. 2025-Q1, 2025-M03, 2025-Y.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
BasisOpt = Annotated[
    str,
    typer.Option(
        "--basis", help="approved: approved figures only; accepted: every accepted report."
    ),
]


def parse_basis(text: str) -> Basis:
    """A ``--basis`` value: ``approved`` or ``accepted``, else a usage error."""
    if text == "approved":
        return "approved"
    if text == "accepted":
        return "accepted"
    raise typer.BadParameter(f"--basis is approved or accepted, not {text!r}")


def load_settings() -> Settings:
    """The settings of this process (environment, ``DVKN_*`` variables)."""
    return Settings()


def parse_period(text: str) -> Period:
    """A ``--period`` value, or a usage error naming what is wrong with it."""
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc)) from exc


def parse_as_of_option(text: str | None) -> datetime | None:
    """An ``--as-of`` value as a moment, or a usage error."""
    from dvkn_pipeline.storage.tables import parse_as_of

    if text is None:
        return None
    try:
        return parse_as_of(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from exc


def quiet_prefect() -> None:
    """Before Prefect is imported: no telemetry notice, and the configured API instead of a
    temporary server.

    Prefect reads its settings once, at import; a command that imported it
    before :func:`use_prefect` ran got no API URL, started a temporary server on
    127.0.0.1:8770 (about 10 s) and printed a telemetry notice. Values already in
    the environment win.
    """
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if "PREFECT_API_URL" in os.environ:
        return
    try:
        defaults = local_env.prefect_env(load_settings())
    except Exception:  # invalid settings: the command itself will say what is wrong
        return
    for name, value in defaults.items():
        if name != "PREFECT_HOME":  # the state directory may not exist yet for a read
            os.environ.setdefault(name, value)


def use_prefect(settings: Settings) -> None:
    """Point this process's Prefect client at the project's server."""
    os.environ.update(local_env.prefect_env(settings))


def print_json(payload: Any) -> None:
    """``--json`` output: UTF-8 as is, indented, dates and the like as strings."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def fmt(value: Any) -> str:
    """A figure the Vietnamese way: 1.234.567 and 12,50; empty for no value."""
    if value is None:
        return ""
    v = float(value)
    return (
        f"{int(v):,}".replace(",", ".")
        if v.is_integer()
        else f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    )


def print_figures(payload: dict[str, Any]) -> None:
    """A roll-up (see :func:`dvkn_pipeline.services.queries.figures`) as tables."""
    console.print(
        f"[bold]{payload['period']}[/] ({payload['period_vi']}), "
        f"hierarchy {payload['hierarchy_version']}, level {payload['level']}"
        + (f", as of {payload['as_of']}" if payload.get("as_of") else "")
    )
    if payload.get("basis"):
        console.print(f"[bold]{payload['basis']['vi']} / {payload['basis']['en']}[/]")
    console.print(f"Completeness: [bold]{payload['completeness']['text']}[/]")
    units = payload["units"]
    if len(units) <= 3:
        for u in units:
            table = Table("indicator", "chỉ tiêu / name", "category", "value", "unit")
            table.title = f"{u['name']} ({u['unit_code']})"
            for f in u["figures"]:
                name = f"{f['name_vi']} / {f['name_en']}"
                table.add_row(f["indicator"], name, f["category"] or "", fmt(f["value"]), f["unit"])
            console.print(table)
        return
    cols = {i.code: i.headline.en for i in load_catalogue().headline if i.headline}
    table = Table("unit", "name", "reported", *cols.values(), title=f"{payload['level']} roll-up")
    for u in units:
        vals = {f["indicator"]: f["value"] for f in u["figures"] if f["category"] is None}
        rep = " ".join(
            f"{v['accepted']}/{v['expected']}" for _, v in sorted(u["completeness"].items())
        )
        table.add_row(u["unit_code"], u["name"], rep, *[fmt(vals.get(c)) for c in cols])
    console.print(table)


@contextmanager
def bars(out: Console | None = None) -> Iterator[Callable[[str, int, int], None]]:
    """Rich progress bars for long work: yields ``update(stage, done, total)``.

    One bar per stage ("upload", "process", "generate"), created on first use,
    showing done / total and what is still pending.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[dim]{task.fields[pending]} chờ / pending[/]"),
        TimeElapsedColumn(),
        console=out or err,
        transient=False,
    )
    labels = {
        "upload": "tải lên / upload",
        "process": "đã xử lý / processed",
        "generate": "tạo tệp / generate",
    }
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(labels.get(stage, stage), total=total, pending=total)
        progress.update(tasks[stage], completed=done, total=total, pending=max(0, total - done))

    with progress:
        yield update
