"""Events posted to Prefect's ``/api/events`` without Prefect: body, auth, retries, refusals.

Against a real HTTP server on loopback that answers with scripted statuses.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import UUID

import pytest
import urllib3

from dvkn_pipeline.events import prefect_events_api
from dvkn_pipeline.events.prefect_events_api import (
    EventsRefusedError,
    PrefectEventsApi,
    auth_headers,
)
from dvkn_pipeline.events.upload_events import upload_batch_events
from schemas.records import EVENT_UPLOADED, UploadRef

REFS = [
    UploadRef(bucket="dvkn", key=f"incoming/0000{i}/2025-Q1/a.csv", etag=f"e{i}", version_id="v")
    for i in range(3)
]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    """What the server will answer, in order, and what it was sent."""

    url: str
    answers: list[int] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.seen.append(Seen(self.path, dict(self.headers.items()), body))
            self.send_response(state.answers.pop(0))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _api(server: Server, answers: list[int], auth_string: str | None = None) -> PrefectEventsApi:
    server.answers[:] = answers
    return PrefectEventsApi(server.url, attempts=3, auth_string=auth_string)


def test_a_batch_is_one_post_of_the_events_the_server_model_reads(server: Server) -> None:
    specs = upload_batch_events(REFS)
    _api(server, [204]).post(specs)
    assert [r.path for r in server.seen] == ["/api/events"]
    assert server.seen[0].headers["Content-Type"] == "application/json"
    body = json.loads(server.seen[0].body)
    assert len(body) == 1 and body[0]["event"] == EVENT_UPLOADED
    assert UUID(body[0]["id"]) == specs[0]["id"]
    assert body[0]["payload"]["keys"] == [r.key for r in REFS]
    assert datetime.fromisoformat(body[0]["occurred"]).tzinfo is not None
    assert body[0]["resource"]["prefect.resource.id"].startswith("dvkn.upload.dvkn/_batch/")


def test_a_failing_server_is_retried_then_the_error_is_raised(server: Server) -> None:
    _api(server, [503, 204]).post(upload_batch_events(REFS))
    assert len(server.seen) == 2
    server.seen.clear()
    with pytest.raises(EventsRefusedError) as refused:
        _api(server, [503, 503, 503]).post(upload_batch_events(REFS))
    assert refused.value.status == 503 and len(server.seen) == 3


def test_a_refusal_is_raised_at_once(server: Server) -> None:
    with pytest.raises(EventsRefusedError) as refused:
        _api(server, [422, 204]).post(upload_batch_events(REFS))
    assert refused.value.status == 422 and len(server.seen) == 1


def test_no_server_is_retried_then_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # the module's backoff sleeps
    with pytest.raises(urllib3.exceptions.HTTPError):
        PrefectEventsApi("http://127.0.0.1:1/api", attempts=3).post(upload_batch_events(REFS))
    assert slept == [2.0, 4.0]


def test_nothing_to_announce_posts_nothing(server: Server) -> None:
    _api(server, []).post([])
    assert server.seen == []


def test_auth_is_sent_as_prefect_clients_send_it(server: Server) -> None:
    _api(server, [204], auth_string="admin:pass").post(upload_batch_events(REFS))
    expected = "Basic " + base64.b64encode(b"admin:pass").decode()
    assert server.seen[0].headers["Authorization"] == expected
    assert auth_headers(None, "pnu_key") == {"Authorization": "Bearer pnu_key"}
    assert auth_headers(None, None) == {}


def test_an_upload_without_a_time_is_stamped_now() -> None:
    spec = upload_batch_events(REFS)[0] | {"occurred": None}
    now = datetime(2026, 11, 24, tzinfo=UTC)
    assert prefect_events_api.event_json(spec, now=now)["occurred"] == now.isoformat()  # type: ignore[arg-type]
