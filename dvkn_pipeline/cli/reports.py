"""``dvkn generate``, ``template``, ``upload``, ``receipt``: report files and their receipts.

What a commune does (fill in the template, upload, read the receipt), from a
terminal; the storage side is :mod:`dvkn_pipeline.services.uploads`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    bars,
    console,
    err,
    load_settings,
    parse_period,
    print_json,
)
from dvkn_pipeline.judging.receipt import render_markdown
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.messages import render
from dvkn_pipeline.services.uploads import find_receipt, upload_report, wait_for_receipt
from dvkn_pipeline.services.wiring import build_bucket
from dvkn_pipeline.storage.bucket import Bucket
from schemas.records import Receipt
from schemas.settings import Settings


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

    settings = load_settings()
    p = parse_period(period)
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
    with bars() as update:
        for n, u in enumerate(units, 1):
            report = generate_report(u, p, catalogue, seed=seed)
            (out / f"bao-cao-{u.code}-{p.code}.csv").write_bytes(report.to_csv(catalogue))
            update("generate", n, len(units))
    console.print(f"wrote {len(units)} reports to {out}")


def template(
    unit: Annotated[str, typer.Option(help="Unit code (GSO), e.g. 00004.")],
    period: PeriodOpt,
    out: Annotated[
        Path | None, typer.Option(help="Output file; default bao-cao-<unit>-<period>.xlsx.")
    ] = None,
) -> None:
    """Write the Excel report workbook for a unit and period, ready to fill in."""
    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.views.template import write_template

    p = parse_period(period)
    hierarchy = load_hierarchies().for_date(p.reference_date)
    found = hierarchy.get(unit)
    if found is None:
        raise typer.BadParameter(
            f"unit {unit} is not in the hierarchy valid for {p} ({hierarchy.version_id})"
        )
    target = out or Path(f"bao-cao-{found.code}-{p.code}.xlsx")
    target.write_bytes(write_template(found, p, load_catalogue()))
    console.print(f"wrote {target}: {found.name}, {p.label_vi}")


WaitOpt = Annotated[
    bool, typer.Option("--wait/--no-wait", help="Wait for the receipt, with a spinner.")
]
TimeoutOpt = Annotated[
    float, typer.Option(help="Seconds to wait for the receipt before giving up.")
]


def upload(
    files: Annotated[
        list[Path], typer.Argument(help="Report files to upload.", exists=True, dir_okay=False)
    ],
    unit: Annotated[str, typer.Option(help="Your unit code (the upload folder).")],
    period: PeriodOpt,
    wait: WaitOpt = True,
    timeout: TimeoutOpt = 120.0,
    json_out: JsonOpt = False,
) -> None:
    """Upload report files to ``incoming/<unit>/<period>/`` and show each receipt when it comes."""
    settings = load_settings()
    p = parse_period(period)
    bucket = build_bucket(settings)
    missing = 0
    if not wait and len(files) > 1:
        # Many files without waiting: one bar, then where the receipts will be.
        with bars() as update:
            for n, f in enumerate(files, 1):
                done = upload_report(bucket, settings, unit, p.code, f.name, f.read_bytes())
                update("upload", n, len(files))
        console.print(f"uploaded {len(files)} files; receipts under {settings.receipts_prefix}")
        return
    for f in files:
        key = incoming_key(unit, p.code, f.name, settings.incoming_prefix)
        before = find_receipt(bucket, settings, key) if wait else None
        done = upload_report(bucket, settings, unit, p.code, f.name, f.read_bytes())
        if not wait:
            console.print(f"uploaded {done.key}; receipt will be at {done.receipt_key}")
            continue
        data = _wait(bucket, settings, done.key, timeout, etag=done.etag, before=before)
        missing += data is None
        if data is not None:
            _show(data, json_out)
    if missing:
        raise typer.Exit(1)


def receipt(
    key: Annotated[str, typer.Argument(help="The uploaded object's key.")],
    json_out: JsonOpt = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the receipt, with a spinner.")
    ] = False,
    timeout: TimeoutOpt = 120.0,
) -> None:
    """Show the receipt of an upload (``--wait``: wait for it to be written)."""
    settings = load_settings()
    bucket = build_bucket(settings)
    if wait:
        data = _wait(bucket, settings, key, timeout)
    else:
        data = find_receipt(bucket, settings, key)
        if data is None:
            text = render("receipt.not_yet", file=key)
            err.print(f"{text.vi}\n{text.en}")
    if data is None:
        raise typer.Exit(1)
    _show(data, json_out)


def _wait(
    bucket: Bucket,
    settings: Settings,
    key: str,
    timeout: float,
    etag: str | None = None,
    before: object | None = None,
) -> object | None:
    """Poll for the receipt under a spinner; say clearly when it did not come in time."""
    waiting = render("receipt.waiting", file=key, seconds=int(timeout))
    with err.status(f"{waiting.vi} / {waiting.en}", spinner="dots"):
        data = wait_for_receipt(bucket, settings, key, timeout=timeout, etag=etag, before=before)
    if data is None:
        text = render("receipt.timeout", file=key, seconds=int(timeout))
        err.print(f"[yellow]{text.vi}[/]\n{text.en}")
    return data


def _show(data: object, json_out: bool) -> None:
    if json_out:
        print_json(data)
        return
    _print_receipt(Receipt.model_validate(data))


def _print_receipt(r: Receipt) -> None:
    """The clerk's receipt (the markdown written beside the upload), rendered for a terminal."""
    colour = {"accepted": "green", "duplicate": "yellow", "rejected": "red"}[r.status.value]
    console.print(f"[bold {colour}]{r.status.value.upper()}[/] {r.key}")
    console.print(Markdown(render_markdown(r)))
