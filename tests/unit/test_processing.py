"""One file in, one judgement out: receipts, ledger rows and facts of real-looking reports."""

from datetime import UTC, datetime

import pytest

from dvkn_pipeline.judging.judge import Judgement, judge_upload
from dvkn_pipeline.judging.report_format import write_csv
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.periods import Period
from schemas.records import Status, UploadRef
from schemas.settings import Settings

CAT = load_catalogue()
HS = load_hierarchies()
Q1 = Period.parse("2025-Q1")
HANOI = HS.for_date(Q1.reference_date).subtree("01")
COMMUNE = HANOI.unit("00004")
SETTINGS = Settings()


def judge(
    content: bytes, unit: str = "00004", period: str = "2025-Q1", name: str = "r.csv", **kw: object
) -> Judgement:
    ref = UploadRef(
        bucket="b",
        key=f"incoming/{unit}/{period}/{name}",
        etag="e",
        last_modified=datetime(2025, 3, 16, tzinfo=UTC),
    )
    return judge_upload(ref, content, catalogue=CAT, hierarchies=HS, settings=SETTINGS, **kw)  # type: ignore[arg-type]


def csv_of(
    rows_edit: dict[tuple[str, ...], object] | None = None, header: dict[str, str] | None = None
) -> bytes:
    report = generate_report(COMMUNE, Q1, CAT, seed=7)
    rows = [dict(r) for r in report.rows]
    for r in rows:
        key = tuple(v for v in (r["indicator"], r.get("field"), r.get("holder")) if v)
        if not r.get("total") and rows_edit and key in rows_edit:
            r["value"] = rows_edit[key]
    return write_csv({**report.header, **(header or {})}, rows, CAT)


def test_a_generated_report_is_accepted_with_its_facts() -> None:
    j = judge(csv_of())
    assert j.receipt.status is Status.ACCEPTED, j.receipt.problems
    assert j.receipt.unit_code == "00004" and j.receipt.period == "2025-Q1"
    assert j.facts is not None
    assert set(j.facts["unit_code"]) == {"00004"}
    assert j.facts.filter(j.facts["indicator"] == "MH_DANG_KY")["level"].to_list() == ["CS"] * 4
    assert j.ledger_row["status"] == "accepted"
    assert j.receipt_key == "receipts/00004/2025-Q1/r.csv.receipt.json"


def test_the_same_bytes_already_accepted_are_a_duplicate_that_adds_no_facts() -> None:
    content = csv_of()
    first = judge(content)
    again = judge(content, name="again.csv", accepted_submissions=frozenset({first.receipt.sha256}))
    assert again.receipt.status is Status.DUPLICATE
    assert again.facts is None


def test_recognized_above_registered_is_rejected_naming_row_and_both_numbers() -> None:
    j = judge(csv_of({("MH_CONG_NHAN", "KT", "TT"): 99}))
    assert j.receipt.status is Status.REJECTED
    rules = {p.rule for p in j.receipt.problems}
    assert {"recognized_le_registered", "declared_total_matches_parts"} <= rules
    p = next(p for p in j.receipt.problems if p.rule == "recognized_le_registered")
    assert p.sheet == "csv" and p.row is not None and "99" in p.message_en
    assert j.facts is None


def test_every_problem_of_a_file_is_reported_in_one_run() -> None:
    j = judge(
        csv_of(
            {("MH_DANG_KY", "KT"): "mười", ("QUA_TANG",): -3, ("NGAY_CONG",): 2.5},
            header={"report_version": "0"},
        )
    )
    rules = [p.rule for p in j.receipt.problems]
    assert "value_is_number" in rules
    assert "value_non_negative" in rules
    assert "value_is_integer" in rules
    assert "report_version_valid" in rules
    bad = next(p for p in j.receipt.problems if p.rule == "value_is_number")
    assert bad.value == "mười" and bad.column == "Giá trị / Value"


def test_a_file_in_another_units_folder_is_rejected() -> None:
    j = judge(csv_of(), unit="00006")
    assert "key_matches_header" in {p.rule for p in j.receipt.problems}


def test_an_unknown_unit_is_rejected_with_its_code_in_the_message() -> None:
    j = judge(csv_of(header={"unit_code": "99999"}), unit="99999")
    problem = next(p for p in j.receipt.problems if p.rule == "unit_known")
    assert "99999" in problem.message_vi and problem.row == 1


def test_a_unit_outside_the_installation_is_rejected() -> None:
    hcm = HS.for_date(Q1.reference_date).unit("26734")
    report = generate_report(hcm, Q1, CAT)
    j = judge(report.to_csv(CAT), unit="26734")
    assert "unit_in_scope" in {p.rule for p in j.receipt.problems}


def test_an_uploader_may_only_report_for_its_own_unit() -> None:
    j = judge(csv_of(), uploader_unit="00006")
    assert "uploader_is_unit" in {p.rule for p in j.receipt.problems}


def test_a_deleted_row_is_named_as_missing() -> None:
    content = csv_of().decode("utf-8-sig").splitlines()
    kept = [line for line in content if not line.startswith("QUA_TANG")]
    j = judge("\n".join(kept).encode())
    missing = [p for p in j.receipt.problems if p.rule == "value_present"]
    assert len(missing) == 1 and "Gifts given" in missing[0].message_en


def test_a_row_given_twice_is_rejected() -> None:
    lines = csv_of().decode("utf-8-sig").splitlines()
    dup = next(line for line in lines if line.startswith("QUA_TANG"))
    j = judge("\n".join([*lines, dup]).encode())
    assert "row_unique" in {p.rule for p in j.receipt.problems}


@pytest.mark.parametrize(
    ("content", "rules"),
    [
        (b"", {"empty_file"}),
        (b"\x00\x01\x02garbage", {"not_a_text_file"}),
        (b"just a line", {"header_field_present", "table_present"}),
    ],
)
def test_content_that_is_not_a_report_is_rejected_not_raised(
    content: bytes, rules: set[str]
) -> None:
    j = judge(content)
    assert j.receipt.status is Status.REJECTED
    assert rules <= {p.rule for p in j.receipt.problems}


def test_an_unsupported_format_is_rejected() -> None:
    j = judge(b"%PDF-1.4", name="r.pdf")
    assert next(p.rule for p in j.receipt.problems) == "file_format_supported"


def test_receipt_says_whether_the_report_was_on_time() -> None:
    j = judge(csv_of())
    assert j.receipt.deadline == "2025-03-17" and j.receipt.on_time is True


def test_warnings_accept_the_file_and_appear_on_the_receipt() -> None:
    import polars as pl

    report = generate_report(COMMUNE, Q1, CAT, seed=7)
    money = report.value("TIEN_VAN_DONG")
    past = pl.DataFrame(
        {
            "period": ["2024-Q4", "2024-Q3", "2024-Q2", "2024-Q1"],
            "indicator": ["TIEN_VAN_DONG"] * 4,
            "value": [money / 100, money / 95, money / 105, money / 98],
        }
    )
    ref = UploadRef(
        bucket="b",
        key="incoming/00004/2025-Q1/r.csv",
        etag="e",
        last_modified=datetime(2025, 5, 2, tzinfo=UTC),
    )
    j = judge_upload(
        ref, report.to_csv(CAT), catalogue=CAT, hierarchies=HS, settings=SETTINGS, history=past
    )
    assert j.receipt.status is Status.ACCEPTED
    assert {p.rule for p in j.receipt.problems} == {
        "value_far_from_history",
        "report_much_later_than_deadline",
    }
    assert j.receipt.n_warnings == 2 and j.receipt.on_time is False
    assert j.facts is not None
