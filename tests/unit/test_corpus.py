"""Every file of the corpus gets exactly the receipt it deserves."""

from collections import Counter

import polars as pl
import pytest

from dvkn_pipeline.judging.judge import judge_upload
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from schemas.records import Status, UploadRef
from schemas.settings import Settings
from tests.corpus import CAT, UNIT, Case, cases

HS = load_hierarchies()
CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_receipt_lists_exactly_the_expected_problems(case: Case) -> None:
    ref = UploadRef(bucket="b", key=f"incoming/{UNIT.code}/2025-Q1/{case.filename}", etag="e")
    j = judge_upload(ref, case.content, catalogue=CAT, hierarchies=HS, settings=Settings())
    errors = [p for p in j.receipt.problems if p.severity.value == "error"]
    assert Counter(p.rule for p in errors) == Counter(case.rules), [
        (p.rule, p.sheet, p.row, p.message_en) for p in errors
    ]
    for p in errors:
        assert p.message_vi and p.message_en and p.hint_vi and p.hint_en
    if case.rules:
        assert j.receipt.status is Status.REJECTED
        text = " ".join(p.message_vi + " " + p.message_en for p in errors)
        for s in case.says:
            assert s in text
        return
    assert j.receipt.status is Status.ACCEPTED
    assert j.facts is not None
    for indicator, total in case.figures.items():
        got = j.facts.filter(pl.col("indicator") == indicator)["value"].sum()
        assert got == pytest.approx(total), indicator


def test_problems_in_excel_name_the_sheet_and_row() -> None:
    from dvkn_pipeline.views.template import write_template
    from tests.corpus import Q1

    blank = write_template(UNIT, Q1, CAT)
    ref = UploadRef(bucket="b", key=f"incoming/{UNIT.code}/2025-Q1/blank.xlsx", etag="e")
    j = judge_upload(ref, blank, catalogue=CAT, hierarchies=HS, settings=Settings())
    missing = [p for p in j.receipt.problems if p.rule == "value_present"]
    assert {p.sheet for p in missing} == {
        "Mô hình",
        "Đóng góp",
        "Đối thoại",
        "Nông thôn mới",
        "Gia đình văn hóa",
    }
    assert all(p.row and p.row >= 5 for p in missing)
    n_cells = sum(
        len(
            list(
                __import__("itertools").product(
                    *[CAT.allowed_values(d) for d in i.reported_dimensions]
                )
            )
        )
        for i in CAT.reported_by("commune")
    )
    # Issue 11: one grouped problem per sheet, naming every empty cell (was one per cell).
    assert len(missing) == 5
    assert sum(len((p.cell or "").split(", ")) for p in missing) == n_cells
    assert all(
        p.message_vi.startswith(f"{len(p.cell.split(', '))} ô để trống: ")
        for p in missing
        if p.cell
    )


def test_a_damaged_xlsx_is_rejected_as_unreadable() -> None:
    ref = UploadRef(bucket="b", key=f"incoming/{UNIT.code}/2025-Q1/hong.xlsx", etag="e")
    j = judge_upload(
        ref, b"PK\x03\x04 not really a zip", catalogue=CAT, hierarchies=HS, settings=Settings()
    )
    assert [p.rule for p in j.receipt.problems] == ["not_a_workbook"]
