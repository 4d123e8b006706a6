"""Look inside an .xlsx before any reader opens it, and refuse what is hostile.

calamine decodes a sheet into a dense grid as large as its used area and
inflates zip members as their compressed streams say, so a 40 KB file can
ask for gigabytes. This guard walks the zip with its own bounded inflater and
streams every XML part through expat, counting as it goes, and stops at the
first thing it will not accept:

- not a zip, truncated, encrypted, or no ``xl/workbook.xml`` → ``not_a_workbook``;
- too many parts, too many decompressed bytes, a part that inflates beyond
  its declared size or far beyond its compressed size → ``zip_bomb``;
- a ``<!DOCTYPE`` or ``<!ENTITY`` (billion laughs), or nesting deeper than
  any workbook needs → ``xml_unsafe``;
- VBA (``vbaProject.bin``, a macro-enabled content type), Excel 4.0 macro
  sheets or ActiveX → ``macro_workbook``;
- links to other workbooks (``xl/externalLinks/``, ``[1]Sheet!A1`` in a
  formula) → ``external_reference``: figures pulled from a file we do not
  have cannot be checked, so such a report is refused, not warned about;
- rows, columns, sheets or cells over the limits, whether used or only
  declared by ``<dimension>`` → ``too_many_*``.

Only the standard library is used: expat with a DOCTYPE handler that raises
is what ``defusedxml`` does, and we need our own handlers for the counting.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from xml.parsers import expat

from dvkn_pipeline.judging.refusals import Deadline, Refused
from schemas.settings import InputLimits

#: Workbook XML is at most a dozen elements deep; this leaves ample room.
MAX_XML_DEPTH = 100
#: The compression-ratio limit applies to parts above this size; small parts
#: (a styles.xml of repeated defaults) compress very well and are harmless.
RATIO_FLOOR_BYTES = 1024 * 1024
_IN_CHUNK = 64 * 1024
_OUT_CHUNK = 1024 * 1024
_MAX_FORMULA_CHARS = 8192
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
#: ``[1]Sheet1!A1``, ``'[2]Q 1'!B2``, ``[1]!Name``: an index into the external links.
_EXTERNAL_IN_FORMULA = re.compile(r"\[\d+\][^!\[\]]*'?!")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MACRO_PARTS = ("vbaproject.bin", "vbaprojectsignature.bin", "xl/macrosheets/", "xl/activex/")


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def cell_position(ref: str) -> tuple[int, int]:
    """(row, column), 1-based, of an A1 reference; refused when it is not one."""
    m = _CELL_REF.match(ref)
    if m is None:
        raise Refused("not_a_workbook", found=f"bad cell reference {ref[:20]!r}")
    return int(m.group(2)), column_number(m.group(1))


@dataclass
class _Tally:
    """What the XML parts hold so far, checked against the limits as it grows."""

    limits: InputLimits
    sheets: int = 0
    cells: int = 0
    macro_content_type: bool = False
    # Per part:
    part: str = ""
    depth: int = 0
    in_sheet: bool = False
    row: int = 0
    col: int = 0
    max_row: int = 0
    max_col: int = 0
    formula: list[str] = field(default_factory=list)
    in_formula: bool = False
    formula_chars: int = 0

    def start(self, qname: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise Refused("xml_unsafe", found=f"nesting deeper than {MAX_XML_DEPTH} in {self.part}")
        name = qname.rpartition(":")[2]
        if name == "sheetData":
            self.in_sheet, self.row, self.max_row, self.max_col = True, 0, 0, 0
        elif name == "row" and self.in_sheet:
            # A row without cells (only a height or a style) is not read, so not counted.
            self.row = int(attrs["r"]) if _is_number(attrs.get("r", "")) else self.row + 1
            self.col = 0
        elif name == "c" and self.in_sheet:
            ref = attrs.get("r")
            if ref:
                row, col = cell_position(ref)
                self.col = col
                self._see(row, col)
            else:
                self.col += 1
                self._see(self.row, self.col)
        elif name == "f":
            self.in_formula, self.formula, self.formula_chars = True, [], 0
        elif name == "dimension" and attrs.get("ref"):
            row, col = cell_position(attrs["ref"].rpartition(":")[2])
            self._see(row, col, declared=True)
        elif name == "externalReference":
            raise Refused("external_reference", found="externalReference in workbook.xml")
        elif name in {"Default", "Override"} and "macroenabled" in (
            attrs.get("ContentType", "").lower()
        ):
            self.macro_content_type = True

    def end(self, qname: str) -> None:
        self.depth -= 1
        name = qname.rpartition(":")[2]
        if name == "f" and self.in_formula:
            self.in_formula = False
            text = "".join(self.formula)
            if _EXTERNAL_IN_FORMULA.search(text):
                raise Refused("external_reference", found=f"={text[:80]}")
        elif name == "sheetData" and self.in_sheet:
            self.in_sheet = False
            self.sheets += 1
            if self.sheets > self.limits.max_sheets:
                raise Refused("too_many_sheets", found=self.sheets, limit=self.limits.max_sheets)
            self.cells += self.max_row * self.max_col
            if self.cells > self.limits.max_cells:
                raise Refused("too_many_cells", found=self.cells, limit=self.limits.max_cells)

    def text(self, data: str) -> None:
        if self.in_formula and self.formula_chars < _MAX_FORMULA_CHARS:
            self.formula.append(data)
            self.formula_chars += len(data)

    def _see(self, row: int, col: int, *, declared: bool = False) -> None:
        what = " (declared)" if declared else ""
        if row > self.limits.max_rows:
            raise Refused("too_many_rows", found=f"{row}{what}", limit=self.limits.max_rows)
        if col > self.limits.max_columns:
            raise Refused("too_many_columns", found=f"{col}{what}", limit=self.limits.max_columns)
        self.max_row = max(self.max_row, row)
        self.max_col = max(self.max_col, col)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 9


def _refuse_doctype(*_: object) -> None:
    raise Refused("xml_unsafe", found="DOCTYPE/ENTITY declaration")


def _inflate(data: bytes, info: zipfile.ZipInfo, deadline: Deadline) -> Iterator[bytes]:
    """The member's bytes, inflated here in bounded steps rather than trusting its header."""
    off = info.header_offset
    if data[off : off + 4] != b"PK\x03\x04":
        raise Refused("not_a_workbook", found=f"damaged part {info.filename[:60]}")
    name_len, extra_len = struct.unpack("<HH", data[off + 26 : off + 30])
    start = off + 30 + name_len + extra_len
    raw = memoryview(data)[start : start + info.compress_size]
    if len(raw) < info.compress_size:
        raise Refused("not_a_workbook", found="file is truncated")
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        chunks: Iterator[bytes] = (
            bytes(raw[i : i + _OUT_CHUNK]) for i in range(0, len(raw), _OUT_CHUNK)
        )
    else:
        chunks = _deflate_chunks(raw)
    for chunk in chunks:
        produced += len(chunk)
        if produced > info.file_size:
            raise Refused(
                "zip_bomb", found=f"{info.filename[:60]} inflates beyond its declared size"
            )
        deadline.check()
        yield chunk


def _deflate_chunks(raw: memoryview) -> Iterator[bytes]:
    inflater = zlib.decompressobj(-15)
    try:
        for i in range(0, len(raw), _IN_CHUNK):
            pending = bytes(raw[i : i + _IN_CHUNK])
            while pending:
                out = inflater.decompress(pending, _OUT_CHUNK)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
        tail = inflater.flush()
    except zlib.error as exc:
        raise Refused("not_a_workbook", found=f"damaged data ({exc})") from exc
    if tail:
        yield tail


def check_workbook(data: bytes, limits: InputLimits, deadline: Deadline) -> None:
    """Raise :class:`Refused` unless ``data`` is a workbook calamine may safely open."""
    if data.startswith(_OLE2):
        raise Refused("not_a_workbook", found="old .xls format or a password-protected file")
    if not data.startswith(b"PK\x03\x04"):
        raise Refused("not_a_workbook", found="not a zip container")
    try:
        infos = zipfile.ZipFile(BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error, NotImplementedError) as exc:
        raise Refused("not_a_workbook", found=f"damaged or truncated ({exc})") from exc
    if len(infos) > limits.max_zip_entries:
        raise Refused(
            "zip_bomb", found=f"{len(infos)} parts", limit=f"{limits.max_zip_entries} parts"
        )
    names = [i.filename for i in infos]
    for name in names:
        lower = name.lower()
        if any(m in lower for m in _MACRO_PARTS):
            raise Refused("macro_workbook", found=name[:80])
        if lower.startswith("xl/externallinks/"):
            raise Refused("external_reference", found=name[:80])
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise Refused("not_a_workbook", found="no workbook inside (xl/workbook.xml)")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_uncompressed_bytes:
        raise Refused(
            "zip_bomb", found=f"{declared} bytes", limit=f"{limits.max_uncompressed_bytes} bytes"
        )
    for info in infos:
        if info.flag_bits & 0x1:
            raise Refused("not_a_workbook", found="encrypted parts")
        if info.compress_type not in {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}:
            raise Refused("not_a_workbook", found=f"compression method {info.compress_type}")
        if info.file_size > RATIO_FLOOR_BYTES and (
            info.compress_size == 0
            or info.file_size / info.compress_size > limits.max_compression_ratio
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise Refused(
                "zip_bomb",
                found=f"{info.filename[:60]} compressed {ratio:.0f}:1",
                limit=f"{limits.max_compression_ratio:g}:1",
            )
    tally = _Tally(limits)
    budget = limits.max_uncompressed_bytes
    for info in infos:
        if not info.filename.lower().endswith((".xml", ".rels")):
            continue
        tally.part, tally.depth, tally.in_sheet, tally.in_formula = info.filename, 0, False, False
        parser = expat.ParserCreate()
        parser.StartDoctypeDeclHandler = _refuse_doctype
        parser.EntityDeclHandler = _refuse_doctype
        parser.StartElementHandler = tally.start
        parser.EndElementHandler = tally.end
        parser.CharacterDataHandler = tally.text
        try:
            for chunk in _inflate(data, info, deadline):
                budget -= len(chunk)
                if budget < 0:
                    raise Refused(
                        "zip_bomb",
                        found=f"more than {limits.max_uncompressed_bytes} bytes",
                        limit=f"{limits.max_uncompressed_bytes} bytes",
                    )
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except (expat.ExpatError, LookupError, ValueError) as exc:  # LookupError: encoding=""
            raise Refused("not_a_workbook", found=f"damaged part {info.filename[:60]}") from exc
    if tally.macro_content_type:
        raise Refused("macro_workbook", found="macro-enabled content type")
