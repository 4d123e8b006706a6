"""Every hostile file gets a rejection receipt naming why; nothing escapes; the batch goes on."""

from __future__ import annotations

import polars as pl
import pytest

from dvkn_pipeline.judging import judge, validation
from dvkn_pipeline.judging.judge import Upload, judge_upload, judge_uploads, parse_upload
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from schemas.records import Severity, Status, UploadRef
from schemas.settings import Settings
from tests.corpus import CAT, UNIT
from tests.hostile import GOOD_CSV, GOOD_XLSX, Hostile, hostile_cases

HS = load_hierarchies()
CASES = hostile_cases()


def ref(name: str, **kw: object) -> UploadRef:
    return UploadRef(bucket="b", key=f"incoming/{UNIT.code}/2025-Q1/{name}", etag="e", **kw)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hostile_file_is_rejected_with_one_bilingual_reason(case: Hostile) -> None:
    j = judge_upload(
        ref(case.filename), case.content, catalogue=CAT, hierarchies=HS, settings=Settings()
    )
    assert j.receipt.status is Status.REJECTED
    errors = [p for p in j.receipt.problems if p.severity is Severity.ERROR]
    assert [p.rule for p in errors] == [case.rule], [(p.rule, p.value) for p in errors]
    [p] = errors
    assert p.message_vi and p.message_en and p.hint_vi and p.hint_en
    assert "{" not in p.message_vi + p.message_en  # every placeholder filled
    assert j.facts is None and j.ledger_row["status"] == "rejected"


def test_the_good_files_the_hostile_ones_are_made_from_are_accepted() -> None:
    for name, content in (("bao-cao.xlsx", GOOD_XLSX), ("bao-cao.csv", GOOD_CSV)):
        j = judge_upload(ref(name), content, catalogue=CAT, hierarchies=HS, settings=Settings())
        assert j.receipt.status is Status.ACCEPTED, j.receipt.problems


def test_hostile_files_in_a_batch_do_not_stop_the_good_one() -> None:
    uploads = [Upload(ref(f"{i}-{c.filename}"), c.content) for i, c in enumerate(CASES)]
    uploads.append(Upload(ref("good.csv"), GOOD_CSV))
    js = judge_uploads(uploads, catalogue=CAT, hierarchies=HS, settings=Settings())
    assert [j.receipt.status for j in js] == [Status.REJECTED] * len(CASES) + [Status.ACCEPTED]


def test_an_object_listed_over_the_size_limit_is_refused_without_its_bytes() -> None:
    settings = Settings(limits={"max_file_bytes": 1000})
    up = Upload(ref("big.csv", size=5000), b"", downloaded=False)
    [j] = judge_uploads([up], catalogue=CAT, hierarchies=HS, settings=settings)
    assert [p.rule for p in j.receipt.problems] == ["file_too_large"]
    assert j.receipt.size == 5000 and j.receipt.sha256 == ""
    assert j.archive_key.startswith("archive/") and "//" not in j.archive_key


class _Panic(BaseException):
    """What a Rust panic inside calamine looks like to Python: not an Exception."""


@pytest.mark.parametrize("error", [ValueError("boom"), _Panic("boom")])
def test_a_crash_while_parsing_one_file_rejects_that_file_only(
    monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    real = judge.parse_upload

    def flaky(content: bytes, key: str, *args: object, **kw: object) -> object:
        if "crash" in key:
            raise error
        return real(content, key, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(judge, "parse_upload", flaky)
    js = judge_uploads(
        [Upload(ref("crash.csv"), GOOD_CSV), Upload(ref("fine.csv"), GOOD_CSV)],
        catalogue=CAT,
        hierarchies=HS,
        settings=Settings(),
    )
    assert [p.rule for p in js[0].receipt.problems] == ["internal_error"]
    assert js[1].receipt.status is Status.ACCEPTED


def test_a_crash_while_validating_one_file_rejects_that_file_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = validation.validate_reports

    def flaky(items: list) -> list:  # type: ignore[type-arg]
        if any(p.header_value("unit_name") == "CRASH" for p, _ in items):
            raise RuntimeError("validator bug")
        return real(items)

    monkeypatch.setattr(judge, "validate_reports", flaky)
    bad = GOOD_CSV.replace("Phường Trúc Bạch".encode(), b"CRASH", 1)
    js = judge_uploads(
        [Upload(ref("bad.csv"), bad), Upload(ref("fine.csv"), GOOD_CSV)],
        catalogue=CAT,
        hierarchies=HS,
        settings=Settings(),
    )
    assert [p.rule for p in js[0].receipt.problems] == ["internal_error"]
    assert js[1].receipt.status is Status.ACCEPTED


def test_parse_upload_returns_only_the_refusal_for_a_refused_file() -> None:
    parsed = parse_upload(b"\x00garbage", "x.csv", CAT)
    assert [p.rule for p in parsed.problems] == ["not_a_text_file"]
    assert isinstance(parsed.rows, pl.DataFrame) and parsed.rows.is_empty()


def test_an_empty_styled_row_far_down_is_not_counted_as_used() -> None:
    """Excel writes rows that carry only a height; no reader allocates for them."""
    from tests.hostile import SHEET, edited

    far = edited(GOOD_XLSX, SHEET, b"</sheetData>", b'<row r="1048576" ht="20"/></sheetData>')
    assert parse_upload(far, "r.xlsx", CAT).problems == []


def test_a_utf16_csv_from_excels_unicode_text_export_is_text_not_garbage() -> None:
    utf16 = GOOD_CSV.decode("utf-8-sig").encode("utf-16")  # BOM, then NUL in every ASCII char
    assert b"\x00" in utf16
    j = judge_upload(
        ref("bao-cao.csv"),
        utf16,
        catalogue=CAT,
        hierarchies=HS,
        settings=Settings(),
    )
    assert j.receipt.status is Status.ACCEPTED, j.receipt.problems
