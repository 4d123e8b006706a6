"""The receiver under uvicorn against the session's real Prefect server.

A recorded MinIO body is posted over HTTP; the ``dvkn.report.uploaded`` events
must then be readable from Prefect's event store, with the resource the
intake trigger matches. The bucket name is made unique per test so that no
deployment trigger fires and no other test's events are counted.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prefect import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.schemas.events import ReceivedEvent
from pydantic import SecretStr

from dvkn_pipeline.events.webhook import (
    EVENTS_PATH,
    BucketUploaderStore,
    PrefectApiSink,
    create_app,
)
from dvkn_pipeline.storage.bucket import bucket_marker_writer
from dvkn_pipeline.storage.markers import Announcer
from schemas.records import EVENT_UPLOADED
from schemas.settings import Settings

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "minio"
TOKEN = "integration-" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Receiver:
    def __init__(
        self,
        settings: Settings,
        sink: PrefectApiSink | None = None,
        uploaders: BucketUploaderStore | None = None,
        announcer: Announcer | None = None,
    ) -> None:
        self.port = _free_port()
        app = create_app(settings, sink, uploaders, announcer)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{EVENTS_PATH}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def receiver_settings(stack_settings: Settings) -> Settings:
    return stack_settings.model_copy(update={"webhook_token": SecretStr(TOKEN)})


@pytest.fixture
def receiver(receiver_settings: Settings) -> Iterator[Receiver]:
    with Receiver(receiver_settings) as r:
        yield r


def payload(name: str, bucket: str) -> dict[str, Any]:
    """A recorded body as MinIO would send it now, for a bucket of this test alone."""
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for record in body["Records"]:
        record["s3"]["bucket"]["name"] = bucket
        record["eventTime"] = now  # Prefect reads back recent events only (and trims old ones)
    return body


def read_upload_events(bucket: str, expect: int, timeout: float = 30.0) -> list[ReceivedEvent]:
    """Events of this bucket from Prefect's store (persisted a moment after they arrive)."""
    event_filter = EventFilter(
        event=EventNameFilter(name=[EVENT_UPLOADED]),
        resource=EventResourceFilter(id_prefix=[f"dvkn.upload.{bucket}/"]),
    )
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            events = client.read_events(filter=event_filter, limit=50).events
            if len(events) >= expect or time.monotonic() > deadline:
                return sorted(events, key=lambda e: e.resource["dvkn.key"])
            time.sleep(0.5)


def test_posted_minio_records_reach_prefect_as_upload_events(receiver: Receiver) -> None:
    bucket = f"wh-{uuid.uuid4().hex[:10]}"
    body = payload("mixed-records.json", bucket)
    resp = httpx.post(receiver.url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200, resp.text
    events = read_upload_events(bucket, expect=2)
    assert [e.resource["dvkn.key"] for e in events] == [
        "incoming/00004/2025-Q2/bao cao.xlsx",
        "incoming/00007/2025-Q2/Phường Giảng Võ.xlsx",
    ]
    first = events[0]
    assert first.resource.id == f"dvkn.upload.{bucket}/incoming/00004/2025-Q2/bao cao.xlsx"
    assert first.resource["dvkn.bucket"] == bucket
    assert first.resource["dvkn.uploader"] == "00004"
    assert first.resource["dvkn.etag"] == "1a79a4d60de6718e8e5b326e338ae533"
    assert first.resource["dvkn.version_id"] == "11111111-2222-4333-8444-555555555555"
    assert first.payload == {"size": 18801, "etag": "1a79a4d60de6718e8e5b326e338ae533"}


def test_a_resent_notification_is_one_event_in_prefect(receiver: Receiver) -> None:
    bucket = f"wh-{uuid.uuid4().hex[:10]}"
    body = payload("put-vietnamese-name.json", bucket)
    for _ in range(3):  # MinIO resending from its queue
        resp = httpx.post(receiver.url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status_code == 200
    other = payload("put.json", bucket)  # a marker: once it is stored, the resends are too
    httpx.post(receiver.url, json=other, headers={"Authorization": f"Bearer {TOKEN}"})
    events = read_upload_events(bucket, expect=2)
    keys = [e.resource["dvkn.key"] for e in events]
    assert keys.count("incoming/00070/2025-Q1/Báo cáo quý 1 (bản sửa) 50%+final.csv") == 1
    assert len(keys) == 2


def test_a_bad_token_gets_401_and_nothing_reaches_prefect(receiver: Receiver) -> None:
    bucket = f"wh-{uuid.uuid4().hex[:10]}"
    body = payload("put.json", bucket)
    for headers in ({"Authorization": "Bearer nope"}, {}):
        assert httpx.post(receiver.url, json=body, headers=headers).status_code == 401
    # A good request afterwards shows the server is reading events, and only that one arrived.
    marker = payload("unversioned.json", bucket)
    ok = httpx.post(receiver.url, json=marker, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    events = read_upload_events(bucket, expect=1)
    assert [e.resource["dvkn.key"] for e in events] == ["incoming/00001/2025-M03/bc.csv"]


def test_prefect_unreachable_gives_503_for_minio_to_retry(receiver_settings: Settings) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/api"
    with Receiver(receiver_settings, PrefectApiSink(dead, timeout=2.0, retries=0)) as r:
        resp = httpx.post(
            r.url,
            json=payload("put.json", "dvkn"),
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
    assert resp.status_code == 503


def test_the_uploader_minio_names_is_recorded_for_intake(
    fresh_bucket: Settings,
) -> None:
    from dvkn_pipeline.storage.bucket import Bucket
    from dvkn_pipeline.storage.s3_client import make_s3_client
    from dvkn_pipeline.storage.uploader_records import recorded_uploader
    from schemas.records import UploadRef

    settings = fresh_bucket.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    client = make_s3_client(settings)
    store = BucketUploaderStore(client, settings.state_prefix)
    body = payload("put.json", settings.bucket)
    with Receiver(settings, uploaders=store) as r:
        resp = httpx.post(r.url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    bucket = Bucket(client, settings.bucket)
    ref = UploadRef(
        bucket=settings.bucket,
        key="incoming/00004/2025-Q1/bao-cao-quy-1.xlsx",
        etag="6b1f0c3f2d7e4f2a9d1c5b8e7a6f3d21",
    )
    assert recorded_uploader(bucket, ref, settings.state_prefix) == "00004"
    other_version = ref.model_copy(update={"etag": "0" * 32})
    assert recorded_uploader(bucket, other_version, settings.state_prefix) is None


def test_an_idle_intake_run_sees_the_webhook_announce_uploads(fresh_bucket: Settings) -> None:
    """Without a polling sensor, the receiver's marker is what wakes an idle drain run."""
    from dvkn_pipeline.services.wiring import build_intake
    from dvkn_pipeline.storage.s3_client import make_s3_client

    settings = fresh_bucket.model_copy(update={"webhook_token": SecretStr(TOKEN)})
    intake = build_intake(settings)
    before = intake.change_token()
    announcer = Announcer(
        bucket_marker_writer(make_s3_client(settings), settings.state_prefix), every=0.1
    )
    tokens = [before]
    with Receiver(settings, announcer=announcer) as r:
        for _ in range(2):
            body = payload("put.json", settings.bucket)
            resp = httpx.post(r.url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            assert resp.status_code == 200
            deadline = time.monotonic() + 10
            while intake.change_token() == tokens[-1]:
                assert time.monotonic() < deadline, "the marker was not rewritten"
                time.sleep(0.1)
            tokens.append(intake.change_token())
    assert before is None and len(set(tokens)) == 3
