"""The receiver's HTTP contract with MinIO: auth, limits, and 5xx when events cannot be kept."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.events import Event
from pydantic import SecretStr

from dvkn_pipeline.events.webhook import EVENTS_PATH, create_app
from schemas.records import EVENT_UPLOADED, UploadRef
from schemas.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "minio"
TOKEN = "s3cr3t-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class RecordingSink:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Event] = []
        self.fail = fail

    async def send(self, events: Sequence[Event]) -> None:
        if self.fail:
            raise ConnectionError("prefect is down")
        self.sent.extend(events)


def client(sink: RecordingSink, **overrides: object) -> TestClient:
    settings = Settings(webhook_token=SecretStr(TOKEN), **overrides)  # type: ignore[arg-type]
    return TestClient(create_app(settings, sink))


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_each_upload_record_becomes_one_uploaded_event() -> None:
    sink = RecordingSink()
    resp = client(sink).post(EVENTS_PATH, content=body("mixed-records.json"), headers=AUTH)
    assert resp.status_code == 200
    assert [e.event for e in sink.sent] == [EVENT_UPLOADED, EVENT_UPLOADED]
    assert [e.resource["dvkn.key"] for e in sink.sent] == [
        "incoming/00004/2025-Q2/bao cao.xlsx",
        "incoming/00007/2025-Q2/Phường Giảng Võ.xlsx",
    ]
    assert len(resp.json()["ignored"]) == 3


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_a_wrong_or_missing_token_gets_401_and_emits_nothing(headers: dict[str, str]) -> None:
    sink = RecordingSink()
    resp = client(sink).post(EVENTS_PATH, content=body("put.json"), headers=headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    assert sink.sent == []


def test_prefect_outage_answers_503_so_minio_keeps_the_event_queued() -> None:
    resp = client(RecordingSink(fail=True)).post(
        EVENTS_PATH, content=body("put.json"), headers=AUTH
    )
    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"


class FailingStore:
    def record(self, ref: UploadRef) -> None:
        raise ConnectionError("object store is down")


def test_uploader_not_recorded_means_503_and_no_event() -> None:
    sink = RecordingSink()
    settings = Settings(webhook_token=SecretStr(TOKEN))
    c = TestClient(create_app(settings, sink, FailingStore()))
    assert c.post(EVENTS_PATH, content=body("put.json"), headers=AUTH).status_code == 503
    assert sink.sent == []


def test_a_notification_with_no_upload_needs_no_prefect_and_succeeds() -> None:
    only_delete = json.loads(body("mixed-records.json"))
    only_delete["Records"] = [only_delete["Records"][1]]
    resp = client(RecordingSink(fail=True)).post(EVENTS_PATH, json=only_delete, headers=AUTH)
    assert resp.status_code == 200 and resp.json()["announced"] == []


def test_a_body_that_is_not_a_notification_gets_400() -> None:
    resp = client(RecordingSink()).post(EVENTS_PATH, content=b"{not json", headers=AUTH)
    assert resp.status_code == 400


def test_an_oversized_body_gets_413_before_parsing() -> None:
    sink = RecordingSink()
    big = b'{"Records": [], "pad": "' + b"x" * 5000 + b'"}'
    resp = client(sink, webhook_max_body_bytes=4096).post(EVENTS_PATH, content=big, headers=AUTH)
    assert resp.status_code == 413 and sink.sent == []


def test_minio_liveness_probe_is_answered() -> None:
    c = client(RecordingSink())
    assert c.head(EVENTS_PATH, headers=AUTH).status_code == 200
    assert c.head(EVENTS_PATH).status_code == 401


def test_no_token_configured_means_no_receiver() -> None:
    with pytest.raises(ValueError, match="DVKN_WEBHOOK_TOKEN"):
        create_app(Settings(webhook_token=SecretStr("")), RecordingSink())


def test_the_token_never_appears_in_settings_output() -> None:
    settings = Settings(webhook_token=SecretStr(TOKEN))
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
