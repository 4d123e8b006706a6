"""Fuzzing the parser: any bytes give a report or problems, never an exception.

Bounded so it runs in every ``uv run pytest`` (a few seconds): random bytes,
and mutations of real report files (raw bytes, and the XML inside a
workbook's zip, so mutations get past the zip layer into expat and calamine).
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvkn_pipeline.judging.judge import parse_upload
from dvkn_pipeline.judging.report_format import ParsedReport
from dvkn_pipeline.judging.validation import ReportContext, validate_report, validate_reports
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import parse_incoming_key
from schemas.records import Problem
from schemas.settings import InputLimits
from tests.corpus import CAT, UNIT
from tests.hostile import GOOD_CSV, GOOD_XLSX, parts_of, zip_of

HS = load_hierarchies()
KEY = f"incoming/{UNIT.code}/2025-Q1/r"
CTX = ReportContext(CAT, HS, key=parse_incoming_key(KEY + ".csv"), root_unit="01")
#: Small limits so that mutations also cross them.
LIMITS = InputLimits(max_rows=400, max_columns=40, max_cells=20_000, max_line_bytes=4096)
PARTS = parts_of(GOOD_XLSX)
XML_PARTS = sorted(n for n in PARTS if n.endswith((".xml", ".rels")))
#: Examples per test; raise it for a longer run: DVKN_FUZZ_EXAMPLES=2000 uv run pytest ...
EXAMPLES = int(os.environ.get("DVKN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """Up to four edits: overwrite, insert, delete or duplicate a span of bytes."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["overwrite", "insert", "delete", "duplicate"]))
        blob = draw(
            st.one_of(
                st.binary(max_size=16),
                st.sampled_from(
                    [
                        b",",
                        b";",
                        b'"',
                        b"\n",
                        b"\r",
                        b"<",
                        b">",
                        b"&",
                        b"\0",
                        b"-1",
                        b"1e308",
                        b"NaN",
                        b"\xff\xfe",
                        "Tổng".encode(),
                    ]
                ),
            )
        )
        span = draw(st.integers(0, 64))
        if op == "overwrite":
            data[pos : pos + len(blob)] = blob
        elif op == "insert":
            data[pos:pos] = blob
        elif op == "delete":
            del data[pos : pos + span]
        else:
            data[pos:pos] = data[pos : pos + span] * draw(st.integers(1, 50))
    return bytes(data)


def assert_well_formed(parsed: ParsedReport) -> None:
    assert isinstance(parsed, ParsedReport)
    assert all(isinstance(p, Problem) and p.message_vi and p.message_en for p in parsed.problems)


@settings(FUZZ, max_examples=EXAMPLES * 3)
@given(content=st.binary(max_size=4096), ext=st.sampled_from(["csv", "xlsx", "xlsm", "pdf"]))
def test_random_bytes_never_raise(content: bytes, ext: str) -> None:
    assert_well_formed(parse_upload(content, f"{KEY}.{ext}", CAT, LIMITS))


@FUZZ
@given(content=mutated(GOOD_CSV))
def test_mutated_csv_never_raises_in_parsing_or_validation(content: bytes) -> None:
    parsed = parse_upload(content, f"{KEY}.csv", CAT, LIMITS)
    assert_well_formed(parsed)
    validate_report(parsed, CTX)


@FUZZ
@given(contents=st.lists(mutated(GOOD_CSV), min_size=2, max_size=5))
def test_a_file_is_judged_the_same_alone_or_in_a_batch(contents: list[bytes]) -> None:
    """Validation runs its queries over a whole batch and splits the results by file:
    no row, problem or fact may cross from one file to another."""
    parsed = [parse_upload(c, f"{KEY}.csv", CAT, LIMITS) for c in contents]
    together = validate_reports([(p, CTX) for p in parsed])
    for content, batched in zip(contents, together, strict=True):
        alone = validate_report(parse_upload(content, f"{KEY}.csv", CAT, LIMITS), CTX)
        assert batched.problems == alone.problems
        assert batched.details.equals(alone.details)
        assert (batched.unit, batched.period) == (alone.unit, alone.period)


@FUZZ
@given(content=mutated(GOOD_XLSX))
def test_mutated_xlsx_bytes_never_raise(content: bytes) -> None:
    assert_well_formed(parse_upload(content, f"{KEY}.xlsx", CAT, LIMITS))


@FUZZ
@given(part=st.sampled_from(XML_PARTS), data=st.data())
def test_mutated_xml_inside_a_workbook_never_raises(part: str, data: st.DataObject) -> None:
    content = zip_of({**PARTS, part: data.draw(mutated(PARTS[part]))})
    parsed = parse_upload(content, f"{KEY}.xlsx", CAT, LIMITS)
    assert_well_formed(parsed)
    validate_report(parsed, CTX)
