"""The canonical report file: header block, blank row, table.

Parsing never raises on bad content: everything wrong becomes a
:class:`~schemas.records.Problem` with its sheet, row and column, so one run
reports every problem of a file. Only the layout is found here; values are
judged by ``validation``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

import schemas
from dvkn_pipeline.judging.refusals import Deadline, Refused
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.cells import clean_text, label_key
from dvkn_pipeline.reference.messages import Both, render
from schemas.records import Problem
from schemas.settings import InputLimits
from schemas.strict_yaml import load_strict_file

DEFAULT_PATH = Path(schemas.__file__).parent / "report_format.yaml"
CSV_SHEET = "csv"


@dataclass(frozen=True)
class HeaderCell:
    value: str | None
    sheet: str
    row: int
    #: 1-based column of the value cell (None when the label has no value beside it).
    col: int | None = None


@dataclass
class ParsedReport:
    """A file's header fields and table rows, as text, with where each came from."""

    header: dict[str, HeaderCell]
    rows: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    file_format: str = "csv"

    def header_value(self, name: str) -> str | None:
        cell = self.header.get(name)
        return cell.value if cell else None


@dataclass(frozen=True)
class ReportFormat:
    header_fields: dict[str, dict[str, Any]]
    columns: dict[str, dict[str, str]]

    def header_label(self, name: str) -> str:
        f = self.header_fields[name]
        return f"{f['vi']} / {f['en']}"

    def column_label(self, name: str, catalogue: Catalogue) -> str:
        spec = self.columns.get(name) or catalogue.model.dimensions.get(name)
        if spec is None:
            return name
        vi, en = (spec["vi"], spec["en"]) if isinstance(spec, dict) else (spec.vi, spec.en)
        return f"{vi} / {en}"

    def header_aliases(self) -> dict[str, str]:
        return _aliases({k: (v["vi"], v["en"]) for k, v in self.header_fields.items()})

    def column_aliases(self, catalogue: Catalogue) -> dict[str, str]:
        specs = {k: (v["vi"], v["en"]) for k, v in self.columns.items()}
        for dim in catalogue.file_dimension_columns:
            d = catalogue.model.dimensions.get(dim)
            if d is not None:
                specs[dim] = (d.vi, d.en)
        return _aliases(specs)


def _aliases(specs: dict[str, tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, (vi, en) in specs.items():
        for label in (name, vi, en, f"{vi} / {en}", f"{vi}/{en}"):
            out[label_key(label)] = name
    return out


@lru_cache(maxsize=2)
def load_format(path: Path = DEFAULT_PATH) -> ReportFormat:
    raw = load_strict_file(path)
    return ReportFormat(header_fields=raw["header_fields"], columns=raw["columns"])


def resolve_label(text: str, aliases: dict[str, str]) -> str | None:
    """Match a header/column label, also when only its Vietnamese or English half is given."""
    key = label_key(text)
    if key in aliases:
        return aliases[key]
    for part in key.split("/"):
        if part.strip() in aliases:
            return aliases[part.strip()]
    return None


def decode_text(data: bytes) -> str:
    """UTF-8 with or without BOM; legacy Windows-1258 files otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1258", errors="replace")


#: Share of control or undecodable characters above which a .csv is binary, not text.
MAX_GARBAGE_SHARE = 0.01
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: C0/C1 controls other than tab, newlines, form feed and DOS end-of-file; U+FFFD.
_GARBAGE = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f-\x9f\ufffd]")


def check_text(data: bytes, limits: InputLimits, deadline: Deadline) -> None:
    """Refuse a .csv that is empty, binary, or has more lines or longer lines than allowed.

    Runs on the raw bytes before anything is decoded or split, so a 100 MB
    line or a million lines cost one pass of ``bytes.find`` and no copies.
    """
    if not data.strip().removeprefix(b"\xef\xbb\xbf").strip():
        raise Refused("empty_file")
    if len(data) > limits.max_file_bytes:
        raise Refused("file_too_large", found=len(data), limit=limits.max_file_bytes)
    if data.startswith((_ZIP, _OLE2)):
        raise Refused("not_a_text_file", found="an Excel workbook named .csv")
    if b"\x00" in data:
        raise Refused("not_a_text_file", found="NUL bytes")
    start, line = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line += 1
        if end - start > limits.max_line_bytes:
            raise Refused("line_too_long", row=line, found=end - start, limit=limits.max_line_bytes)
        if line > limits.max_rows:
            raise Refused("too_many_rows", found=f"> {limits.max_rows}", limit=limits.max_rows)
        if line % 1024 == 0:
            deadline.check()
        start = end + 1


def _utf16_to_utf8(data: bytes) -> bytes:
    """Excel's "Unicode Text" export is UTF-16 with a BOM (and NUL bytes): text, not garbage."""
    try:
        return data.decode("utf-16").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("not_a_text_file", found="broken UTF-16") from exc


def _garbage_share(text: str) -> float:
    return len(_GARBAGE.findall(text)) / max(len(text), 1)


def refused_report(problem: Problem, catalogue: Catalogue, file_format: str) -> ParsedReport:
    """A report with nothing in it but the reason it was not read."""
    empty = assemble([SheetScan("-", {}, [], True)], catalogue, file_format=file_format)
    return ParsedReport(header={}, rows=empty.rows, problems=[problem], file_format=file_format)


def parse_csv(
    data: bytes,
    catalogue: Catalogue,
    limits: InputLimits | None = None,
    deadline: Deadline | None = None,
) -> ParsedReport:
    limits = limits or InputLimits()
    deadline = deadline or Deadline(limits.max_parse_seconds)
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")) and len(data) <= limits.max_file_bytes:
            data = _utf16_to_utf8(data)
        check_text(data, limits, deadline)
        text = decode_text(data)
        share = _garbage_share(text)
        if share > MAX_GARBAGE_SHARE:
            raise Refused("not_a_text_file", found=f"{share:.0%} unreadable characters")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
            delimiter = dialect.delimiter
        except csv.Error:
            delimiter = ","
        records: list[list[str]] = []
        cells = 0
        try:
            for record in csv.reader(io.StringIO(text), delimiter=delimiter):
                if len(record) > limits.max_columns:
                    raise Refused(
                        "too_many_columns",
                        sheet=CSV_SHEET,
                        row=len(records) + 1,
                        found=len(record),
                        limit=limits.max_columns,
                    )
                cells += len(record)
                if cells > limits.max_cells:
                    raise Refused(
                        "too_many_cells", found=f"> {limits.max_cells}", limit=limits.max_cells
                    )
                records.append(record)
                deadline.check()
        except csv.Error as exc:
            raise Refused("csv_malformed", found=str(exc)) from exc
        scan = scan_grid(records, catalogue, sheet=CSV_SHEET, deadline=deadline)
    except Refused as refused:
        return refused_report(refused.problem, catalogue, "csv")
    return assemble([scan], catalogue, file_format="csv")


@dataclass
class SheetScan:
    """What one grid (a CSV file or one worksheet) holds: header fields and table rows."""

    sheet: str
    header: dict[str, HeaderCell]
    rows: list[dict[str, Any]]
    has_table: bool


def cell_text(value: Any) -> str | None:
    """Text of a cell. Typed numbers are written in Vietnamese notation (decimal comma,
    no grouping) so the one number reader cannot mistake 3.864 for three thousand."""
    if type(value) is str:  # every CSV cell and most sheet cells: the common case first
        return clean_text(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.10f}".rstrip("0").replace(".", ",")
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return clean_text(value)


#: A merged area of a sheet: ((first row, first column), (last row, last column)), 0-based.
MergedRange = tuple[tuple[int, int], tuple[int, int]]


def _merged_values(grid: list[list[Any]], merged: list[MergedRange]) -> dict[tuple[int, int], Any]:
    """Each cell covered by a merged area, with the value Excel shows there (its top-left's)."""
    out: dict[tuple[int, int], Any] = {}
    for (r0, c0), (r1, c1) in merged:
        top = grid[r0][c0] if r0 < len(grid) and c0 < len(grid[r0]) else None
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                out[(r, c)] = top
    return out


def scan_grid(
    grid: list[list[Any]],
    catalogue: Catalogue,
    *,
    sheet: str,
    deadline: Deadline | None = None,
    merged: list[MergedRange] | None = None,
) -> SheetScan:
    """Find the header block and the table in a grid of cells.

    Rows above the table whose first cell names a header field are header rows;
    the first row naming both the ``indicator`` and ``value`` columns starts the
    table. Titles, merged banners and blank rows above it are skipped; below it,
    blank rows and label-only rows (section titles) are skipped.

    A merged cell in a label column (the template names an indicator once per
    block) counts for every row it spans, as a person reads it; a merged value
    cell does not (one number typed once is not one number per row).
    """
    spans = _merged_values(grid, merged or [])
    fmt = load_format()
    header_aliases = fmt.header_aliases()
    column_aliases = fmt.column_aliases(catalogue)
    header: dict[str, HeaderCell] = {}
    columns: dict[int, str] = {}
    table_start: int | None = None
    for i, raw_row in enumerate(grid):
        if deadline is not None:
            deadline.check()
        cells = [cell_text(c) for c in raw_row]
        non_empty = [(j, c) for j, c in enumerate(cells) if c]
        if not non_empty:
            continue
        mapped = {j: resolve_label(c, column_aliases) for j, c in non_empty}
        if "indicator" in mapped.values() and "value" in mapped.values():
            table_start = i
            columns = {j: name for j, name in mapped.items() if name}
            break
        first_j, first = non_empty[0]
        name = resolve_label(first, header_aliases)
        if name and name not in header:
            at = next(((j, c) for j, c in non_empty if j > first_j), None)
            header[name] = HeaderCell(
                value=at[1] if at else None,
                sheet=sheet,
                row=i + 1,
                col=at[0] + 1 if at else first_j + 2,
            )
    rows: list[dict[str, Any]] = []
    if table_start is not None:
        for i in range(table_start + 1, len(grid)):
            if deadline is not None:
                deadline.check()
            cells = [cell_text(c) for c in grid[i]]
            if not any(cells):
                continue
            record: dict[str, Any] = {"sheet": sheet, "row": i + 1}
            for j, name in columns.items():
                record[name] = cells[j] if j < len(cells) else None
                if record[name] is None and name != "value" and (i, j) in spans:
                    record[name] = cell_text(spans[(i, j)])
                # Where each value was typed, so a problem names the clerk's cell.
                record[f"{name}_col"] = j + 1
            if record.get("indicator") is None and record.get("value") is None:
                continue
            rows.append(record)
    return SheetScan(sheet=sheet, header=header, rows=rows, has_table=table_start is not None)


def assemble(scans: list[SheetScan], catalogue: Catalogue, *, file_format: str) -> ParsedReport:
    """Merge the grids of one file; report a missing header field or table once per file."""
    fmt = load_format()
    header: dict[str, HeaderCell] = {}
    for scan in scans:
        for name, cell in scan.header.items():
            header.setdefault(name, cell)
    sheet = scans[0].sheet if len(scans) == 1 else None
    problems: list[Problem] = []
    for name, spec in fmt.header_fields.items():
        if spec.get("required") and name not in header:
            problems.append(
                render("header_field_present", field=Both(spec["vi"], spec["en"])).problem(
                    "header_field_present", sheet=sheet, column=fmt.header_label(name)
                )
            )
    if not any(s.has_table for s in scans):
        problems.append(render("table_present").problem("table_present", sheet=sheet))
    dims = catalogue.dimension_columns
    schema: dict[str, Any] = {"sheet": pl.Utf8, "row": pl.Int64, "indicator": pl.Utf8}
    schema |= {d: pl.Utf8 for d in dims}
    schema["value_text"] = pl.Utf8
    # Where each cell was typed (1-based column), so a problem names the clerk's cell.
    schema |= {f"{c}_col": pl.Int64 for c in ("indicator", *dims, "value")}
    frame = pl.DataFrame(
        [
            {
                "sheet": r["sheet"],
                "row": r["row"],
                "indicator": r.get("indicator"),
                **{d: r.get(d) for d in dims},
                "value_text": r.get("value"),
                **{f"{c}_col": r.get(f"{c}_col") for c in ("indicator", *dims, "value")},
            }
            for scan in scans
            for r in scan.rows
        ],
        schema=schema,
    )
    return ParsedReport(header=header, rows=frame, problems=problems, file_format=file_format)


def write_csv(header: dict[str, str], rows: list[dict[str, Any]], catalogue: Catalogue) -> bytes:
    """The canonical CSV (UTF-8 with BOM so Excel opens Vietnamese text correctly)."""
    fmt = load_format()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    for name, value in header.items():
        w.writerow([fmt.header_label(name), value])
    w.writerow([])
    dims = catalogue.file_dimension_columns
    w.writerow(
        [fmt.column_label(c, catalogue) for c in ("indicator", "indicator_name", *dims, "value")]
    )
    for r in rows:
        ind = catalogue.by_code.get(r["indicator"])
        name = ind.vi if ind else ""
        w.writerow(
            [r["indicator"], name, *[r.get(d) or "" for d in dims], _format_value(r["value"])]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _format_value(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
