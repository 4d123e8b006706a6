"""The Excel report's reader: the template (:mod:`dvkn_pipeline.views.template`) as filled.

It takes that workbook and the ways people damage it: moved or retitled rows,
formulas (their cached values), numbers typed as text, blank spacer rows, extra
sheets. Typed cells are read with calamine so a number cell 3.864 is never
confused with the text "3.864" (three thousand).
"""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook

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
from dvkn_pipeline.reference.messages import render
from schemas.settings import InputLimits


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
        except Exception as exc:  # calamine raises plain errors for broken files
            return _unreadable(catalogue, str(exc))
        scans: list[SheetScan] = []
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
            scans.append(scan_grid(grid, catalogue, sheet=name, deadline=deadline))
    except Refused as refused:
        return refused_report(refused.problem, catalogue, "xlsx")
    if not scans:
        return _unreadable(catalogue, "no worksheets")
    return assemble(scans, catalogue, file_format="xlsx")


def _unreadable(catalogue: Catalogue, reason: str) -> ParsedReport:
    return refused_report(
        render("file_readable").problem("file_readable", value=reason[:200]),
        catalogue,
        "xlsx",
    )
