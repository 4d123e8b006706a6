"""``dvkn generate``, ``template``, ``upload``, ``receipt``: report files and their receipts.

What a commune does (fill in the template, upload, read the receipt), from a
terminal; the storage side is :mod:`dvkn_pipeline.services.uploads`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    console,
    err,
    load_settings,
    parse_period,
    print_json,
)
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.services.uploads import find_receipt, upload_report
from dvkn_pipeline.services.wiring import build_bucket
from schemas.records import Receipt


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
    for u in units:
        report = generate_report(u, p, catalogue, seed=seed)
        (out / f"bao-cao-{u.code}-{p.code}.csv").write_bytes(report.to_csv(catalogue))
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


def upload(
    files: Annotated[
        list[Path], typer.Argument(help="Report files to upload.", exists=True, dir_okay=False)
    ],
    unit: Annotated[str, typer.Option(help="Your unit code (the upload folder).")],
    period: PeriodOpt,
) -> None:
    """Upload report files to ``incoming/<unit>/<period>/`` as a commune does."""
    settings = load_settings()
    p = parse_period(period)
    bucket = build_bucket(settings)
    for f in files:
        done = upload_report(bucket, settings, unit, p.code, f.name, f.read_bytes())
        console.print(f"uploaded {done.key}; receipt will be at {done.receipt_key}")


def receipt(
    key: Annotated[str, typer.Argument(help="The uploaded object's key.")],
    json_out: JsonOpt = False,
) -> None:
    """Show the receipt of an upload."""
    settings = load_settings()
    data = find_receipt(build_bucket(settings), settings, key)
    if data is None:
        err.print("no receipt yet: the file is still waiting to be processed, or the key is wrong")
        raise typer.Exit(1)
    if json_out:
        print_json(data)
        return
    _print_receipt(Receipt.model_validate(data))


def _print_receipt(r: Receipt) -> None:
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
