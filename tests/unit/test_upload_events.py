"""Sensor and webhook announce an upload with one event shape the intake trigger accepts."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime

from dvkn_pipeline.events.upload_events import upload_batch_events, upload_event
from schemas.records import EVENT_UPLOADED, UploadRef

REF = UploadRef(
    bucket="dvkn",
    key="incoming/00004/2025-Q1/báo cáo.xlsx",
    etag="abc123",
    size=42,
    last_modified=datetime(2025, 4, 10, 2, 15, tzinfo=UTC),
    uploader="00004",
    version_id="v1",
)


def test_event_matches_the_intake_deployments_trigger() -> None:
    spec = upload_event(REF)
    assert spec["event"] == EVENT_UPLOADED
    # dvkn_pipeline/services/orchestration.py matches prefect.resource.id against "dvkn.upload.<bucket>/*"
    assert fnmatch.fnmatchcase(spec["resource"]["prefect.resource.id"], "dvkn.upload.dvkn/*")
    assert spec["resource"]["dvkn.key"] == REF.key
    assert spec["resource"]["dvkn.bucket"] == "dvkn"
    assert spec["resource"]["dvkn.uploader"] == "00004"
    assert spec["resource"]["dvkn.version_id"] == "v1"
    assert all(isinstance(v, str) for v in spec["resource"].values())
    assert spec["payload"] == {"size": 42, "etag": "abc123"}


def test_the_same_upload_gets_the_same_event_id_and_a_new_version_a_new_one() -> None:
    again = REF.model_copy(update={"last_modified": None, "uploader": None})
    assert upload_event(again)["id"] == upload_event(REF)["id"]
    changed = REF.model_copy(update={"etag": "def456"})
    assert upload_event(changed)["id"] != upload_event(REF)["id"]
    other_bucket = REF.model_copy(update={"bucket": "other"})
    assert upload_event(other_bucket)["id"] != upload_event(REF)["id"]


def test_a_poll_that_finds_many_uploads_announces_them_in_few_events() -> None:
    refs = [
        REF.model_copy(update={"key": f"incoming/00004/2025-Q1/f{n}.csv", "etag": f"e{n}"})
        for n in range(2500)
    ]
    specs = upload_batch_events(refs)
    assert [s["payload"]["count"] for s in specs] == [1000, 1000, 500]
    assert sum(len(s["payload"]["keys"]) for s in specs) == 2500
    # Still under the intake trigger's pattern, and the same uploads make the same event.
    assert all(s["resource"]["prefect.resource.id"].startswith("dvkn.upload.dvkn/") for s in specs)
    assert [s["id"] for s in upload_batch_events(refs)] == [s["id"] for s in specs]
    assert upload_batch_events(refs[:10])[0]["id"] != specs[0]["id"]
