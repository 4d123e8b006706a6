"""``dvkn rollup``, ``completeness``, ``export``: the figures of a period, read or exported.

Reads go through :mod:`dvkn_pipeline.services.queries` and
:mod:`dvkn_pipeline.services.exports`; this module parses options and prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dvkn_pipeline.cli.common import (
    BasisOpt,
    JsonOpt,
    PeriodOpt,
    console,
    load_settings,
    parse_as_of_option,
    parse_basis,
    parse_period,
    print_figures,
    print_json,
)
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.services.queries import figures
from schemas.settings import Settings

if TYPE_CHECKING:
    from dvkn_pipeline.services.approval import ApprovalService


def rollup(
    period: PeriodOpt,
    level: Annotated[str, typer.Option(help="province (city), district or commune.")] = "province",
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="As the tables stood then, e.g. 2025-04-20T10:00 (local time)."),
    ] = None,
    basis: BasisOpt = "accepted",
    json_out: JsonOpt = False,
) -> None:
    """Roll-up figures of a period at one level, with the completeness they rest on.

    ``--basis approved`` shows approved figures only (each unit's approved
    submission, not a later upload held for re-approval); the output says which.
    """
    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.services.wiring import build_intake

    settings = load_settings()
    p, approved_only = parse_period(period), parse_basis(basis) == "approved"
    if approved_only and as_of:
        raise typer.BadParameter("--as-of reads the stored roll-up: use --basis accepted")
    intake = build_intake(settings)
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    approved = _approvals(settings).approved_rollup(p) if approved_only else None
    try:
        payload = figures(
            intake.tables,
            hierarchy,
            p,
            level,
            [unit] if unit else None,
            settings.root_unit,
            as_of=parse_as_of_option(as_of),
            approved=approved,
        )
    except DvknError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if json_out:
        print_json(payload)
    else:
        print_figures(payload)


def completeness(period: PeriodOpt, json_out: JsonOpt = False) -> None:
    """Who has reported for a period, per level (expected, received, accepted, late)."""
    from dvkn_pipeline.services.wiring import build_intake
    from dvkn_pipeline.views.summaries import completeness_summary

    settings = load_settings()
    p = parse_period(period)
    comp = build_intake(settings).tables.read_completeness(p.code)
    summary = completeness_summary(comp, None, settings.root_unit)
    if json_out:
        print_json(summary)
    else:
        console.print(summary["text"])


def export(
    period: PeriodOpt,
    level: Annotated[str, typer.Option(help="city (province), district or commune.")] = "city",
    unit: Annotated[list[str] | None, typer.Option(help="Only these units (repeatable).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output .xlsx; the .csv is written beside it.")
    ] = None,
    number: Annotated[
        str | None, typer.Option(help="Document number (default: schemas/report_header.yaml).")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--date", help="Date of the report, dd/mm/yyyy (default: today).")
    ] = None,
    signer: Annotated[str | None, typer.Option(help="Name in the signature block.")] = None,
    position: Annotated[str | None, typer.Option(help="Position of the signer.")] = None,
    basis: BasisOpt = "accepted",
) -> None:
    """Write the upper-level report of a period (.xlsx and .csv), here and on the object store.

    A period nobody reported directly (a quarter of monthly reports, a year of
    quarters) is built from the finer periods that tile it. The files also go
    to ``exports/<period>/<level>/`` on the store (each run a new object version).
    ``--basis approved`` exports approved figures only (files named ``...-approved``);
    every sheet says which figures it shows.
    """
    from datetime import datetime

    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.services.exports import export_name, export_report, publish_export
    from dvkn_pipeline.services.wiring import build_intake
    from schemas.report_header import load_report_header

    settings, p, catalogue = load_settings(), parse_period(period), load_catalogue()
    chosen = parse_basis(basis)
    header = load_report_header()
    changes: dict[str, object] = {
        k: v for k, v in {"number": number, "signer": signer, "position": position}.items() if v
    }
    if on:
        try:
            changes["issued_on"] = datetime.strptime(on, "%d/%m/%Y").date()
        except ValueError as exc:
            raise typer.BadParameter(f"ngày không hợp lệ / not a date dd/mm/yyyy: {on!r}") from exc
    header = header.model_copy(update=changes)
    intake = build_intake(settings)
    hierarchy = load_hierarchies().for_date(p.reference_date).scope(settings.root_unit)
    try:
        approved = _approvals(settings).approved_rollup if chosen == "approved" else None
        files = export_report(
            intake.tables, hierarchy, catalogue, p, level, unit or None, header, approved
        )
        name = export_name(p, level, chosen)
    except DvknError as exc:
        raise typer.BadParameter(str(exc)) from exc
    path = out or Path(f"{name}.xlsx")
    path.write_bytes(files.xlsx)
    path.with_suffix(".csv").write_bytes(files.csv)
    keys = publish_export(intake.bucket, settings.exports_prefix, p, level, files, chosen)
    console.print(f"wrote {path} and {path.with_suffix('.csv')}")
    console.print("stored " + " and ".join(f"s3://{intake.bucket.name}/{k}" for k in keys))


def _approvals(settings: Settings) -> ApprovalService:
    """The approval service for reading approved figures (reads send no event)."""
    from dvkn_pipeline.services.wiring import build_approvals

    return build_approvals(settings, _NoEvents())


class _NoEvents:
    """Reading approved figures announces nothing."""

    def emit(self, event: str, resource: Mapping[str, str], payload: Mapping[str, Any]) -> None:
        raise AssertionError(f"a read sent {event}")
