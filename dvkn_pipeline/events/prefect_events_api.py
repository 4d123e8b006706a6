"""Events to the Prefect server by ``POST /api/events``, from a process that does not import Prefect.

The sensor is a small, always-on process: importing Prefect to emit (its
client, settings and the websocket worker behind ``emit_event``) made it
~100 MiB, nearly all of the sensor. The server's events endpoint takes a batch
of events as JSON; this posts one and fails loudly if the server did not take
it, where ``emit_event`` would drop it in the background. The sensor then
stops before moving its feed position and, restarted, announces again (the
event ids are derived from the uploads, so the server keeps one of each).

It posts with urllib3, which the sensor loads anyway for the MinIO SDK: httpx
(and the rich and click its command line pulls in) was ~8 MiB more of the sensor.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import urllib3

from dvkn_pipeline.events.upload_events import UploadEventSpec
from dvkn_pipeline.storage.minio_client import ca_bundle


def event_json(spec: UploadEventSpec, now: datetime | None = None) -> dict[str, Any]:
    """The event as the server's ``Event`` model reads it."""
    occurred = spec["occurred"] or now or datetime.now(UTC)
    return {
        "id": str(spec["id"]),
        "event": spec["event"],
        "occurred": occurred.isoformat(),
        "resource": spec["resource"],
        "related": [],
        "payload": spec["payload"],
    }


def auth_headers(auth_string: str | None, api_key: str | None) -> dict[str, str]:
    """What Prefect's own client sends: basic auth for a self-hosted server, a key for Cloud."""
    if auth_string:
        token = base64.b64encode(auth_string.encode()).decode()
        return {"Authorization": f"Basic {token}"}
    if api_key:
        return {"Authorization": f"Bearer {api_key}"}
    return {}


class EventsRefusedError(RuntimeError):
    """The server answered the post with an error status."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the Prefect server answered {status}: {body[:500]}")
        self.status = status


class PrefectEventsApi:
    """``post(specs)`` returns once the server answered 2xx; raises after ``attempts`` tries."""

    def __init__(
        self,
        api_url: str,
        *,
        auth_string: str | None = None,
        api_key: str | None = None,
        timeout: float = 10.0,
        attempts: int = 3,
    ) -> None:
        self.url = api_url.rstrip("/") + "/events"
        self.attempts = max(1, attempts)
        self.headers = {"Content-Type": "application/json", **auth_headers(auth_string, api_key)}
        # Retries are this class's own: a refusal is not retried, a server error is.
        # CAs as the MinIO client finds them, for a Prefect API over TLS.
        self.http = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=timeout),
            retries=False,
            ca_certs=ca_bundle(),
        )

    def post(self, specs: Sequence[UploadEventSpec]) -> None:
        if not specs:
            return
        body = json.dumps([event_json(s) for s in specs]).encode()
        for attempt in range(1, self.attempts + 1):
            try:
                resp = self.http.request("POST", self.url, body=body, headers=self.headers)
            except urllib3.exceptions.HTTPError:  # no answer: connection, timeout, protocol
                if attempt == self.attempts:
                    raise
                time.sleep(min(2.0**attempt, 10.0))
                continue
            if 200 <= resp.status < 300:
                return
            # A refusal (4xx) will not change on a retry; the server failing may.
            if attempt == self.attempts or resp.status < 500:
                raise EventsRefusedError(resp.status, resp.data.decode(errors="replace"))
