"""The Excel report's reader: the template (:mod:`dvkn_pipeline.views.template`) as filled.

It takes that workbook and the ways people damage it: moved or retitled rows,
formulas (their cached values), numbers typed as text, blank spacer rows, extra
sheets. Typed cells are read with calamine so a number cell 3.864 is never
confused with the text "3.864" (three thousand).
"""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook, SheetVisibleEnum

from dvkn_pipeline.judging.refusals import Deadline, Refused
from dvkn_pipeline.judging.report_format import (
    ParsedReport,
    SheetScan,
    assemble,
    refused_report,
    scan_grid,
)
from dvkn_pipeline.judging.workbook_guard import check_workbook
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.messages import Both, render
from schemas.records import Problem, Severity
from schemas.settings import InputLimits


def _hidden_how(visible: object) -> Both | None:
    """How a clerk's Excel names a sheet's hiding; None for a visible sheet.

    (calamine's enum is not hashable, so this is a comparison, not a dict.)
    """
    if visible == SheetVisibleEnum.Hidden:
        return Both("bị ẩn", "hidden")
    if visible == SheetVisibleEnum.VeryHidden:
        return Both("bị ẩn sâu (very hidden)", "very hidden")
    return None


def parse_xlsx(
    content: bytes,
    catalogue: Catalogue,
    limits: InputLimits | None = None,
    deadline: Deadline | None = None,
) -> ParsedReport:
    """Read every sheet; header fields and table rows may sit on any of them.

    The workbook guard sees every byte calamine will read before calamine
    opens the file, so calamine's own work (not interruptible) is bounded by
    the limits; our scans check the deadline on every row.
    """
    limits = limits or InputLimits()
    deadline = deadline or Deadline(limits.max_parse_seconds)
    try:
        if not content:
            raise Refused("empty_file")
        if len(content) > limits.max_file_bytes:
            raise Refused("file_too_large", found=len(content), limit=limits.max_file_bytes)
        check_workbook(content, limits, deadline)
        try:
            workbook = CalamineWorkbook.from_object(io.BytesIO(content))
            names = workbook.sheet_names
            visibility: dict[str, object] = {m.name: m.visible for m in workbook.sheets_metadata}
        except Exception as exc:  # calamine raises plain errors for broken files
            return _unreadable(catalogue, str(exc))
        scans: list[SheetScan] = []
        hidden: list[Problem] = []
        for name in names:
            deadline.check()
            try:
                sheet = workbook.get_sheet_by_name(name)
            except Exception as exc:
                return _unreadable(catalogue, str(exc))
            if sheet.height > limits.max_rows or sheet.width > limits.max_columns:
                raise Refused(
                    "too_many_cells",
                    sheet=name,
                    found=f"{sheet.height} x {sheet.width}",
                    limit=f"{limits.max_rows} x {limits.max_columns}",
                )
            grid = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
            scan = scan_grid(grid, catalogue, sheet=name, deadline=deadline, merged=merged)
            how = _hidden_how(visibility.get(name))
            if how is None:
                scans.append(scan)
            else:
                hidden.append(_hidden_sheet(scan, how))
    except Refused as refused:
        return refused_report(refused.problem, catalogue, "xlsx")
    if not scans:
        return _unreadable(catalogue, "no worksheets")
    report = assemble(scans, catalogue, file_format="xlsx")
    report.problems.extend(hidden)
    return report


def _hidden_sheet(scan: SheetScan, how: Both) -> Problem:
    """A hidden sheet never counts silently: it is left unread and the receipt names it.

    Figures a clerk cannot see on screen must not reach a district's total, so a
    hidden sheet that holds header fields or table rows rejects the file; one
    that holds nothing the reader uses (a helper list, a scratch sheet) is a
    warning.
    """
    used = bool(scan.rows or scan.header)
    text = (
        render("sheet_hidden", sheet=scan.sheet, how=how)
        if used
        else render("sheet_hidden.unused", sheet=scan.sheet, how=how)
    )
    return text.problem(
        "sheet_hidden",
        severity=Severity.ERROR if used else Severity.WARNING,
        sheet=scan.sheet,
    )


def _unreadable(catalogue: Catalogue, reason: str) -> ParsedReport:
    return refused_report(
        render("file_readable").problem("file_readable", value=reason[:200]),
        catalogue,
        "xlsx",
    )
