"""Hostile uploads among a good one, on the real object store: receipts, and nothing deleted."""

from __future__ import annotations

import pytest

from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.s3_client import make_s3_client
from schemas.records import Status
from schemas.settings import Settings
from tests.corpus import UNIT
from tests.hostile import GOOD_CSV, GOOD_XLSX, billion_laughs, ratio_bomb

pytestmark = pytest.mark.integration

P = f"incoming/{UNIT.code}/2025-Q1/"


def test_hostile_uploads_are_rejected_beside_an_accepted_one_and_kept(
    fresh_bucket: Settings,
) -> None:
    bucket = Bucket(make_s3_client(fresh_bucket), fresh_bucket.bucket)
    files = {
        P + "bao-cao.csv": (GOOD_CSV, Status.ACCEPTED, None),
        P + "bom.xlsx": (ratio_bomb(GOOD_XLSX), Status.REJECTED, "zip_bomb"),
        P + "lol.xlsx": (billion_laughs(GOOD_XLSX), Status.REJECTED, "xml_unsafe"),
        P + "..%2F..%2F00006%2Fbao-cao.csv": (GOOD_CSV, Status.REJECTED, "bad_key"),
    }
    for key, (content, _, _) in files.items():
        bucket.put_bytes(key, content)

    intake = build_intake(fresh_bucket)
    result = intake.process(intake.pending())

    by_key = {o.key: o for o in result.outcomes}
    assert set(by_key) == set(files)
    for key, (content, status, rule) in files.items():
        outcome = by_key[key]
        assert outcome.status is status, (key, outcome)
        receipt = bucket.get_json(outcome.receipt_key)
        assert receipt is not None and receipt["status"] == status.value
        if rule is not None:
            assert [p["rule"] for p in receipt["problems"]] == [rule]
        assert bucket.get_bytes(key) == content  # the upload itself is untouched
    assert by_key[P + "..%2F..%2F00006%2Fbao-cao.csv"].receipt_key.startswith("receipts/!bad-keys/")
    assert intake.pending() == []  # every upload is in the ledger: none is retried forever


def test_an_upload_over_the_size_limit_is_refused_unread_and_recorded(
    fresh_bucket: Settings,
) -> None:
    settings = fresh_bucket.model_copy(
        update={"limits": fresh_bucket.limits.model_copy(update={"max_file_bytes": 4096})}
    )
    bucket = Bucket(make_s3_client(settings), settings.bucket)
    big = GOOD_CSV + b"\n" * (5000 - len(GOOD_CSV)) if len(GOOD_CSV) < 5000 else GOOD_CSV
    assert len(big) > 4096
    bucket.put_bytes(P + "to-qua.csv", big)
    intake = build_intake(settings)
    [outcome] = intake.process(intake.pending()).outcomes
    assert outcome.status is Status.REJECTED
    receipt = bucket.get_json(outcome.receipt_key)
    assert receipt is not None
    assert [p["rule"] for p in receipt["problems"]] == ["file_too_large"]
    assert receipt["size"] == len(big) and receipt["sha256"] == ""
    [row] = intake.tables.read_ledger().to_dicts()
    assert row["status"] == "rejected" and row["size"] == len(big)
    assert bucket.get_bytes(P + "to-qua.csv") == big
    assert intake.pending() == []
