"""MinIO's word on who uploaded a file reaches the ``uploader_is_unit`` rule."""

from __future__ import annotations

import pytest

from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.s3_client import make_s3_client
from dvkn_pipeline.storage.uploader_records import record_uploader
from schemas.records import Status
from schemas.settings import Settings
from tests.corpus import Q1, UNIT, base, csv_bytes

pytestmark = pytest.mark.integration


def test_the_recorded_uploader_decides_and_an_unrecorded_upload_waits_its_grace(
    fresh_bucket: Settings,
) -> None:
    settings = fresh_bucket.model_copy(
        update={"uploader_records": True, "uploader_record_grace_seconds": 3600}
    )
    bucket = Bucket(make_s3_client(settings), settings.bucket)
    own, foreign, unrecorded = (
        incoming_key(UNIT.code, Q1.code, name) for name in ("own.csv", "foreign.csv", "none.csv")
    )
    for seed, key in enumerate((own, foreign, unrecorded)):  # distinct bytes: no duplicates
        bucket.put_bytes(key, csv_bytes(base(seed)), "text/csv")
    intake = build_intake(settings)
    refs = {r.key: r for r in intake.pending()}
    record_uploader(bucket, refs[own].model_copy(update={"uploader": UNIT.code}))
    record_uploader(bucket, refs[foreign].model_copy(update={"uploader": "00007"}))

    outcomes = {o.key: o for o in intake.process(list(refs.values())).outcomes}
    assert outcomes[own].status is Status.ACCEPTED
    assert outcomes[foreign].status is Status.REJECTED
    receipt = bucket.get_json(outcomes[foreign].receipt_key)
    assert receipt is not None
    assert "uploader_is_unit" in {p["rule"] for p in receipt["problems"]}
    assert unrecorded not in outcomes  # young and unrecorded: it waits for its record
    assert [r.key for r in intake.pending()] == [unrecorded]

    patient = build_intake(settings.model_copy(update={"uploader_record_grace_seconds": 0}))
    [late] = patient.process(patient.pending()).outcomes
    assert late.key == unrecorded and late.status is not Status.REJECTED  # key's unit only
