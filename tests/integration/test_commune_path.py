"""The commune's path on the real object store (issue 11): every drop-down choice is
accepted through the intake, and every object version under incoming/ ends with a
ledger row and a receipt, including a same-name re-upload and an overwritten version.

In-process intake against a real SeaweedFS (versioned bucket); no Prefect server.
"""

from __future__ import annotations

import json
import uuid

import polars as pl
import pytest

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.keys import incoming_key, receipt_key
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.s3_client import make_s3_client
from dvkn_pipeline.views.status import submission_history
from dvkn_pipeline.views.template import write_template
from schemas.settings import Settings
from tests.corpus import CAT, HANOI, Q1, UNIT, dropdowns, filled_template, with_cell

pytestmark = pytest.mark.integration


@pytest.fixture
def store(object_store: Settings) -> Settings:
    settings = object_store.model_copy(update={"bucket": f"t-{uuid.uuid4().hex[:12]}"})
    local_stack.ensure_bucket(settings)
    return settings


def test_every_offered_choice_is_accepted_through_the_intake(store: Settings) -> None:
    bucket = Bucket(make_s3_client(store), store.bucket)
    labels = {v.vi: c for c, v in CAT.model.dimensions["ntm_standard"].values.items()}
    expected: dict[str, str] = {}
    for code in ("00004", "00379", "00376"):  # ward, commune, town
        unit = HANOI.unit(code)
        filled = filled_template(generate_report(unit, Q1, CAT, seed=7))
        [(sheet, cell, choices)] = dropdowns(write_template(unit, Q1, CAT))
        for i, choice in enumerate(choices):
            key = incoming_key(code, Q1.code, f"chon-{i}.xlsx")
            bucket.put_bytes(key, with_cell(filled, sheet, cell, choice))
            expected[key] = labels[choice]
    intake = build_intake(store)
    result = intake.process(intake.pending())
    assert {o.key: o.status.value for o in result.outcomes} == dict.fromkeys(expected, "accepted")
    ledger = intake.tables.read_ledger()
    facts = intake.tables.read_facts(Q1.code, ledger["submission_id"].to_list())
    got = facts.filter(pl.col("indicator") == "NTM_MUC_DAT")
    by_sub = dict(zip(got["submission_id"], got["category"], strict=True))
    for row in ledger.iter_rows(named=True):
        assert by_sub[row["submission_id"]] == expected[row["key"]]


def test_every_version_gets_a_ledger_row_and_a_receipt(store: Settings) -> None:
    bucket = Bucket(make_s3_client(store), store.bucket)
    report = generate_report(UNIT, Q1, CAT, seed=21)
    same = incoming_key(UNIT.code, Q1.code, "bao-cao.csv")
    first = bucket.put_bytes(same, report.to_csv(CAT))
    intake = build_intake(store)
    intake.process(intake.pending())

    again = bucket.put_bytes(same, report.to_csv(CAT))  # the same bytes, the same name
    assert again == first
    other = incoming_key(UNIT.code, Q1.code, "sua.csv")
    v2 = generate_report(UNIT, Q1, CAT, seed=22, version=2)
    v3 = generate_report(UNIT, Q1, CAT, seed=23, version=3)
    bucket.put_bytes(other, v2.to_csv(CAT))
    bucket.put_bytes(other, v3.to_csv(CAT))  # overwritten before anything saw version 2
    result = intake.process(intake.pending())
    assert sorted(o.status.value for o in result.outcomes) == ["accepted", "accepted", "duplicate"]

    ledger = intake.tables.read_ledger()
    assert ledger.height == 4
    versions = list(bucket.list_versions(store.incoming_prefix))
    assert {v.upload_id for v in versions} == set(ledger["upload_id"].to_list())
    # Each upload's receipt is a version of its receipt object: the name's receipt shows
    # the newest upload under that name (what `dvkn upload` waits for), and the first
    # upload's "accepted" stays readable as the receipt object's earlier version.
    receipts = {
        (v.key, v.version_id): bucket.get_object_version(v.key, str(v.version_id))
        for v in bucket.list_versions(store.receipts_prefix)
    }
    statuses = {
        (key, json.loads(body or b"{}").get("etag"), json.loads(body or b"{}")["status"])
        for (key, _), body in receipts.items()
    }
    for row in ledger.iter_rows(named=True):
        assert (row["receipt_key"], row["etag"], row["status"]) in statuses, row["upload_id"]
    latest = bucket.get_json(receipt_key(same, store.incoming_prefix, store.receipts_prefix))
    assert latest is not None and latest["status"] == "duplicate"
    assert intake.pending() == []

    history = submission_history(ledger, Q1, UNIT.code)
    assert history.height == 4
    assert sorted(history["status"].to_list()) == ["accepted", "accepted", "accepted", "duplicate"]
    live = history.filter(pl.col("live"))
    assert live["key"].to_list() == [other] and live["report_version"].to_list() == [3]


def test_a_re_upload_within_the_same_second_is_the_repeat_not_the_first(store: Settings) -> None:
    """Listed versions come oldest first even when LastModified ties (whole seconds).

    SeaweedFS's version ids run newest-smallest, so ordering ties by id made the
    first upload the "repeat" and a fresh clone's CI run lost an accepted receipt.
    """
    bucket = Bucket(make_s3_client(store), store.bucket)
    key = incoming_key(UNIT.code, Q1.code, "bao-cao.csv")
    puts = [bucket.put_bytes(key, body) for body in (b"a", b"b", b"a", b"b", b"a")]
    listed = [v for v in bucket.list_versions(store.incoming_prefix) if v.key == key]
    assert [v.etag for v in listed] == puts
    assert [v.repeat for v in listed] == [False, False, True, True, True]
    assert [v.pinned for v in listed] == [True, True, True, True, False]
