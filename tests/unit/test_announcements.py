"""Markers that tell an idle intake run that uploads were announced: throttled, never failing."""

from __future__ import annotations

import time
from typing import Any, cast

from fastapi.testclient import TestClient
from pydantic import SecretStr

from dvkn_pipeline.events.webhook import EVENTS_PATH, create_app
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.markers import (
    SENSOR_CURSOR,
    WEBHOOK_MARKER,
    Announcer,
    change_token,
)
from schemas.records import UploadRef
from schemas.settings import Settings
from tests.unit.test_webhook import AUTH, TOKEN, RecordingSink, body


class Heads:
    """Just enough of a Bucket for ``change_token``: ETags by key."""

    def __init__(self, etags: dict[str, str]) -> None:
        self.etags = etags

    def head(self, key: str) -> UploadRef | None:
        etag = self.etags.get(key)
        return UploadRef(bucket="b", key=key, etag=etag) if etag else None


def token(etags: dict[str, str]) -> str | None:
    return change_token(cast(Bucket, Heads(etags)), "_state/")


def test_the_token_changes_when_either_source_rewrites_its_marker() -> None:
    assert token({}) is None
    sensor_only = token({"_state/" + SENSOR_CURSOR: "a"})
    webhook_too = token({"_state/" + SENSOR_CURSOR: "a", "_state/" + WEBHOOK_MARKER: "x"})
    webhook_again = token({"_state/" + SENSOR_CURSOR: "a", "_state/" + WEBHOOK_MARKER: "y"})
    webhook_only = token({"_state/" + WEBHOOK_MARKER: "y"})
    tokens = [sensor_only, webhook_too, webhook_again, webhook_only]
    assert None not in tokens and len(set(tokens)) == 4


class Writes:
    def __init__(self, fail: bool = False) -> None:
        self.docs: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, bucket: str, doc: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("store down")
        self.docs.append((bucket, doc))


def test_one_write_per_bucket_however_many_uploads_were_noted() -> None:
    writes = Writes()
    announcer = Announcer(writes)
    announcer.note(["dvkn", "dvkn", "other"])
    announcer.note(["dvkn"])
    announcer.flush()
    assert sorted((b, d["uploads"]) for b, d in writes.docs) == [("dvkn", 3), ("other", 1)]
    assert announcer.pending == {}
    announcer.flush()
    assert len(writes.docs) == 2, "nothing new, nothing written"


def test_a_failed_write_keeps_the_counts_for_the_next_flush() -> None:
    writes = Writes(fail=True)
    announcer = Announcer(writes)
    announcer.note(["dvkn", "dvkn"])
    announcer.flush()  # does not raise: the marker only speeds pickup up
    assert announcer.pending == {"dvkn": 2}
    writes.fail = False
    announcer.flush()
    assert [(b, d["uploads"]) for b, d in writes.docs] == [("dvkn", 2)]


def test_the_receiver_rewrites_the_marker_of_the_announced_uploads_bucket() -> None:
    writes = Writes()
    settings = Settings(webhook_token=SecretStr(TOKEN))
    app = create_app(settings, RecordingSink(), announcer=Announcer(writes, every=0.05))
    with TestClient(app) as c:  # the context runs the app's lifespan (the flusher)
        resp = c.post(EVENTS_PATH, content=body("mixed-records.json"), headers=AUTH)
        assert resp.status_code == 200
        deadline = time.monotonic() + 10
        while not writes.docs and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [d["uploads"] for _, d in writes.docs] == [2]


def test_a_refused_notification_touches_no_marker() -> None:
    writes = Writes()
    settings = Settings(webhook_token=SecretStr(TOKEN))
    announcer = Announcer(writes, every=0.05)
    app = create_app(settings, RecordingSink(fail=True), announcer=announcer)
    with TestClient(app) as c:
        resp = c.post(EVENTS_PATH, content=body("mixed-records.json"), headers=AUTH)
    assert resp.status_code == 503
    assert writes.docs == [] and announcer.pending == {}
