"""The intake and refresh services over in-memory ports: what a batch reads, judges and writes.

The exactly-once guarantees are proven against the real store in
tests/integration; these pin the service's own choices, quickly.
"""

from __future__ import annotations

import pytest

from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key, receipt_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import IntakeService
from dvkn_pipeline.services.refresh import Refresher
from schemas.records import Status
from schemas.settings import Settings
from tests.fakes import MemoryBucket, MemoryTables

CAT = load_catalogue()
HS = load_hierarchies()
Q1 = Period.parse("2025-Q1")
COMMUNES = HS.for_date(Q1.reference_date).subtree("01").units_at("commune")
SETTINGS = Settings().model_copy(update={"bucket": "mem", "uploader_records": False})


@pytest.fixture
def bucket() -> MemoryBucket:
    return MemoryBucket()


@pytest.fixture
def tables() -> MemoryTables:
    return MemoryTables(CAT)


def service(bucket: MemoryBucket, tables: MemoryTables) -> IntakeService:
    return IntakeService(bucket, tables, CAT, HS, load_rules(), SETTINGS)


def report(i: int = 0, seed: int = 5) -> bytes:
    return generate_report(COMMUNES[i], Q1, CAT, seed=seed).to_csv(CAT)


def test_a_batch_writes_receipts_facts_and_ledger_and_is_then_done(
    bucket: MemoryBucket, tables: MemoryTables
) -> None:
    key = incoming_key(COMMUNES[0].code, Q1.code, "bao-cao.csv")
    bucket.upload(key, report())
    intake = service(bucket, tables)
    result = intake.process(intake.pending())
    [outcome] = result.outcomes
    assert outcome.status is Status.ACCEPTED
    assert result.changed == {Q1.code: {COMMUNES[0].code}}
    # One receipt object per file; its human form is rendered on read.
    assert bucket.exists(receipt_key(key)) and not bucket.exists(receipt_key(key)[:-5] + ".md")
    [row] = tables.read_ledger().to_dicts()
    assert row["status"] == "accepted" and row["archive_key"] and bucket.exists(row["archive_key"])
    assert set(tables.facts["submission_id"]) == {row["submission_id"]}
    assert intake.pending() == []
    facts = tables.facts.height
    assert intake.process(intake.pending()).outcomes == []  # the same batch again: nothing
    assert tables.facts.height == facts and tables.read_ledger().height == 1


def test_a_batch_reads_the_ledger_once(bucket: MemoryBucket, tables: MemoryTables) -> None:
    for i in range(3):
        bucket.upload(incoming_key(COMMUNES[i].code, Q1.code, "r.csv"), report(i))
    intake = service(bucket, tables)
    refs = intake.pending()
    tables.ledger_reads = 0
    intake.process(refs)
    assert tables.ledger_reads == 1


def test_identical_bytes_twice_in_one_batch_count_once(
    bucket: MemoryBucket, tables: MemoryTables
) -> None:
    content = report()
    first = bucket.upload(incoming_key(COMMUNES[0].code, Q1.code, "a.csv"), content)
    again = bucket.upload(incoming_key(COMMUNES[0].code, Q1.code, "b.csv"), content)
    result = service(bucket, tables).process([again, first])  # listed in any order
    assert [(o.key, o.status) for o in result.outcomes] == [
        (first.key, Status.ACCEPTED),
        (again.key, Status.DUPLICATE),
    ]
    receipt = bucket.get_json(receipt_key(again.key))
    assert receipt is not None
    assert receipt["summary_en"].startswith("Identical to another file of the same batch")
    assert tables.facts["submission_id"].n_unique() == 1


def test_a_refused_key_is_recorded_without_downloading_it(
    bucket: MemoryBucket, tables: MemoryTables
) -> None:
    bucket.upload("incoming/../etc/passwd.csv", b"x")
    result = service(bucket, tables).process(service(bucket, tables).pending())
    [outcome] = result.outcomes
    assert outcome.status is Status.REJECTED
    assert bucket.calls.get("get", 0) == 0
    assert tables.read_ledger()["status"].to_list() == ["rejected"]


def test_the_refresher_brings_the_roll_up_up_to_date_from_the_ledger(
    bucket: MemoryBucket, tables: MemoryTables
) -> None:
    for i in range(2):
        bucket.upload(incoming_key(COMMUNES[i].code, Q1.code, "r.csv"), report(i))
    intake = service(bucket, tables)
    result = intake.process(intake.pending())
    refresher = Refresher(bucket, tables, CAT, HS, SETTINGS)
    assert refresher.stale_periods() == result.changed
    comp = refresher.refresh(result.periods)[Q1.code]
    assert not comp.is_empty()
    assert refresher.stale_periods() == {}
    rollup = tables.read_rollup(Q1.code)
    assert {COMMUNES[0].code, COMMUNES[1].code, "01"} <= set(rollup["unit_code"].to_list())
    assert refresher.refresh({Q1.code}) == {}  # nothing stale: nothing rewritten
    assert rollup.equals(tables.read_rollup(Q1.code))


def test_with_the_change_feed_a_run_reads_announcements_and_never_lists_incoming(
    bucket: MemoryBucket, tables: MemoryTables
) -> None:
    from dvkn_pipeline.storage.announced import ANNOUNCED, announce

    refs = [
        bucket.upload(incoming_key(COMMUNES[i].code, Q1.code, "r.csv"), report(i)) for i in range(3)
    ]
    state = SETTINGS.state_prefix
    announce(bucket, state, refs[:2])
    announce(bucket, state, refs[1:])  # announced twice: judged once
    feed = IntakeService(
        bucket,
        tables,
        CAT,
        HS,
        load_rules(),
        SETTINGS.model_copy(update={"event_source": "seaweedfs-feed"}),
    )
    bucket.calls.clear()
    work = feed.pending_by_shard()
    assert sorted(r.key for refs in work.values() for r in refs) == sorted(r.key for r in refs)
    assert bucket.calls.get("list_uploads", 0) == 1  # the announcements' prefix, not incoming/
    feed.process([r for refs in work.values() for r in refs])
    assert feed.pending_by_shard() == {}
    # Every announcement whose uploads are recorded is gone; the sweep still lists incoming/.
    assert not [k for k in bucket.objects if k.startswith(state + ANNOUNCED)]
    bucket.upload(incoming_key(COMMUNES[3].code, Q1.code, "r.csv"), report(3))  # never announced
    assert feed.pending_by_shard() == {}
    assert [r.key for refs in feed.pending_by_shard(sweep=True).values() for r in refs] == [
        incoming_key(COMMUNES[3].code, Q1.code, "r.csv")
    ]


def test_a_later_version_names_the_upload_in_force_it_replaces(
    bucket: MemoryBucket, tables: MemoryTables
) -> None:
    """Found among other units' accepted uploads, and the latest of the unit's versions."""
    intake = service(bucket, tables)
    keys = [incoming_key(COMMUNES[0].code, Q1.code, f"v{v}.csv") for v in (1, 2, 3)]
    bucket.upload(keys[0], report(0))
    for i in range(1, 4):
        bucket.upload(incoming_key(COMMUNES[i].code, Q1.code, "r.csv"), report(i))
    intake.process(intake.pending())
    for version, key in ((2, keys[1]), (3, keys[2])):
        content = generate_report(COMMUNES[0], Q1, CAT, seed=5 + version, version=version)
        bucket.upload(key, content.to_csv(CAT))
        [outcome] = intake.process(intake.pending()).outcomes
        assert outcome.status is Status.ACCEPTED
    second, third = (bucket.get_json(receipt_key(k)) for k in keys[1:])
    assert second is not None and third is not None
    assert second["replaces"]["key"] == keys[0] and second["replaces"]["report_version"] == 1
    assert third["replaces"]["key"] == keys[1] and third["replaces"]["report_version"] == 2
    first = bucket.get_json(receipt_key(keys[0]))
    assert first is not None and first["replaces"] is None
