"""Events posted to Prefect's ``/api/events`` without Prefect: body, auth, retries, refusals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest

from dvkn_pipeline.events import prefect_events_api
from dvkn_pipeline.events.prefect_events_api import PrefectEventsApi, auth_headers
from dvkn_pipeline.events.upload_events import upload_batch_events
from schemas.records import EVENT_UPLOADED, UploadRef

REFS = [
    UploadRef(bucket="dvkn", key=f"incoming/0000{i}/2025-Q1/a.csv", etag=f"e{i}", version_id="v")
    for i in range(3)
]


def _api(answers: list[int], seen: list[httpx.Request], **kw: str) -> PrefectEventsApi:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answers.pop(0))

    headers = auth_headers(kw.get("auth_string"), kw.get("api_key"))
    client = httpx.Client(transport=httpx.MockTransport(handler), headers=headers)
    return PrefectEventsApi("http://127.0.0.1:1/api/", client=client, attempts=3)


def test_a_batch_is_one_post_of_the_events_the_server_model_reads() -> None:
    seen: list[httpx.Request] = []
    specs = upload_batch_events(REFS)
    _api([204], seen).post(specs)
    assert [str(r.url) for r in seen] == ["http://127.0.0.1:1/api/events"]
    body = json.loads(seen[0].content)
    assert len(body) == 1 and body[0]["event"] == EVENT_UPLOADED
    assert UUID(body[0]["id"]) == specs[0]["id"]
    assert body[0]["payload"]["keys"] == [r.key for r in REFS]
    assert datetime.fromisoformat(body[0]["occurred"]).tzinfo is not None
    assert body[0]["resource"]["prefect.resource.id"].startswith("dvkn.upload.dvkn/_batch/")


def test_a_failing_server_is_retried_then_the_error_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prefect_events_api.time, "sleep", lambda s: None)
    seen: list[httpx.Request] = []
    _api([503, 204], seen).post(upload_batch_events(REFS))
    assert len(seen) == 2
    seen.clear()
    with pytest.raises(httpx.HTTPStatusError):
        _api([503, 503, 503], seen).post(upload_batch_events(REFS))
    assert len(seen) == 3


def test_a_refusal_is_raised_at_once() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(httpx.HTTPStatusError):
        _api([422, 204], seen).post(upload_batch_events(REFS))
    assert len(seen) == 1


def test_nothing_to_announce_posts_nothing() -> None:
    seen: list[httpx.Request] = []
    _api([], seen).post([])
    assert seen == []


def test_auth_is_sent_as_prefect_clients_send_it() -> None:
    seen: list[httpx.Request] = []
    _api([204], seen, auth_string="admin:pass").post(upload_batch_events(REFS))
    expected = "Basic " + base64.b64encode(b"admin:pass").decode()
    assert seen[0].headers["Authorization"] == expected
    assert auth_headers(None, "pnu_key") == {"Authorization": "Bearer pnu_key"}
    assert auth_headers(None, None) == {}


def test_an_upload_without_a_time_is_stamped_now() -> None:
    spec = upload_batch_events(REFS)[0] | {"occurred": None}
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert prefect_events_api.event_json(spec, now=now)["occurred"] == now.isoformat()  # type: ignore[arg-type]
