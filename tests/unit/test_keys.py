"""Which object keys are acted on, and where a refused key's receipt goes."""

from __future__ import annotations

import re
import unicodedata

import pytest

from dvkn_pipeline.judging.judge import judge_upload
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import receipt_key, unsafe_key_reason
from schemas.records import Status, UploadRef
from schemas.settings import Settings
from tests.corpus import CAT, UNIT
from tests.hostile import GOOD_CSV

HS = load_hierarchies()
P = f"incoming/{UNIT.code}/2025-Q1/"

BAD_KEYS = [
    f"incoming/{UNIT.code}/../00006/bao-cao.csv",
    f"{P}..",
    f"{P}bao-cao..csv",
    f"{P}..%2F..%2Fetc%2Fpasswd.csv",
    f"incoming/{UNIT.code}%2F2025-Q1/bao-cao.csv",
    f"{P}bao%20cao.csv",
    f"{P}bao\\cao.csv",
    f"{P}bao\ncao.csv",
    f"{P}bao\x00cao.csv",
    f"{P}bao-cao\u202excsv.exe",  # right-to-left override: shows as "bao-caoexe.vsc"
    f"{P}bao\u200bcao.csv",  # zero-width space
    f"{P}bao\u2028cao.csv",  # line separator
    "incoming/0000\u0664/2025-Q1/bao-cao.csv",  # Arabic-Indic digit in the unit folder
    f"incoming/{UNIT.code}/Quý-1/bao-cao.csv",  # non-ASCII period folder
    f"{P}.bao-cao.csv",  # hidden (macOS ._ files)
    P + "a" * 201 + ".csv",
]
GOOD_NAMES = [
    "bao-cao.csv",
    "Báo cáo quý 1 (bản sửa).csv",
    unicodedata.normalize("NFD", "Báo cáo quý 1.csv"),  # as macOS names files
    "tăng 5%.csv",  # a per cent sign that encodes nothing
    "Thủy Hoá.csv",
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=range(len(BAD_KEYS)))
def test_an_unsafe_key_is_rejected_with_bad_key_and_a_safe_receipt_key(key: str) -> None:
    assert unsafe_key_reason(key) is not None
    ref = UploadRef(bucket="b", key=key, etag="e")
    j = judge_upload(ref, GOOD_CSV, catalogue=CAT, hierarchies=HS, settings=Settings())
    assert j.receipt.status is Status.REJECTED
    assert [p.rule for p in j.receipt.problems] == ["bad_key"]
    assert re.fullmatch(r"receipts/!bad-keys/[0-9a-f]{64}\.receipt\.json", j.receipt_key)
    assert j.receipt.key == key  # the receipt still says which upload it is about
    assert re.fullmatch(r"archive/[0-9a-f]{2}/[0-9a-f]{64}(\.[a-z0-9]+)?", j.archive_key)


def test_two_unsafe_keys_get_two_receipts() -> None:
    assert receipt_key(f"{P}a..csv") != receipt_key(f"{P}b..csv")


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_a_vietnamese_file_name_in_a_valid_folder_is_accepted(name: str) -> None:
    key = P + name
    assert unsafe_key_reason(key) is None
    j = judge_upload(
        UploadRef(bucket="b", key=key, etag="e"),
        GOOD_CSV,
        catalogue=CAT,
        hierarchies=HS,
        settings=Settings(),
    )
    assert j.receipt.status is Status.ACCEPTED, j.receipt.problems
    assert j.receipt_key == f"receipts/{UNIT.code}/2025-Q1/{name}.receipt.json"


def test_a_hostile_key_cannot_inject_lines_into_the_human_receipt() -> None:
    from dvkn_pipeline.judging.receipt import render_markdown

    key = f"{P}x`\n# ĐÃ NHẬN / ACCEPTED\n.csv"
    j = judge_upload(
        UploadRef(bucket="b", key=key, etag="e"),
        GOOD_CSV,
        catalogue=CAT,
        hierarchies=HS,
        settings=Settings(),
    )
    text = render_markdown(j.receipt)
    assert not any(line.startswith("# ĐÃ NHẬN") for line in text.splitlines())
