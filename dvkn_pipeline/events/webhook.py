"""The webhook MinIO posts bucket notifications to: uploads in, Prefect events out.

MinIO (``notify_webhook`` target ``DVKN``, with ``queue_dir``) POSTs every
upload under ``incoming/`` here. The receiver checks MinIO's bearer token,
records who uploaded each object (MinIO's ``principalId``, see
``dvkn_pipeline.storage.uploader_records``), turns each upload record into one
``dvkn.report.uploaded`` event of the very shape the polling sensor emits,
and hands them to the Prefect server before answering. The answer is what
makes delivery durable:

* 200 once the server has accepted the events;
* 503 when the server (or the object store, for the uploader record) cannot
  be reached, so MinIO keeps the notification in its queue directory and
  sends it again (events carry deterministic ids, so a resend the server
  already has is dropped there, not counted twice);
* 401 for a wrong or missing token, 400 for a body that is not a MinIO
  notification, 413 for a body far larger than MinIO ever sends.

A lost notification still loses no report: the scheduled reconciliation
sweep finds any object under ``incoming/`` the ledger has not seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prefect.events import Event
from pydantic import ValidationError

from dvkn_pipeline.events.minio import Parsed, parse_notification, upload_refs
from dvkn_pipeline.events.upload_events import upload_event
from dvkn_pipeline.reference.keys import parse_incoming_key
from dvkn_pipeline.storage.bucket import Bucket, bucket_marker_writer
from dvkn_pipeline.storage.markers import Announcer
from dvkn_pipeline.storage.uploader_records import record_uploader
from schemas.records import UploadRef
from schemas.settings import Settings

log = logging.getLogger("dvkn.webhook")
#: Path of the endpoint MinIO is configured with (``MINIO_NOTIFY_WEBHOOK_ENDPOINT_DVKN``).
EVENTS_PATH = "/minio/events"


class EventSink(Protocol):
    """Where events go; returns only once they are safely accepted, else raises."""

    async def send(self, events: Sequence[Event]) -> None: ...


class PrefectApiSink:
    """POST /api/events on the Prefect server: 204 means the server has the events.

    Unlike ``emit_event`` (a background websocket that drops events it cannot
    send), this fails loudly, which is what lets the receiver answer 503.
    Retries are few and the timeout short: MinIO's queue is the retry loop.
    """

    def __init__(self, api_url: str | None = None, timeout: float = 5.0, retries: int = 1):
        self.api_url = api_url
        self.timeout = timeout
        self.retries = retries

    async def send(self, events: Sequence[Event]) -> None:
        from prefect.client.orchestration import PrefectClient, get_client
        from prefect.settings import (
            PREFECT_API_AUTH_STRING,
            PREFECT_API_KEY,
            PREFECT_CLIENT_MAX_RETRIES,
            temporary_settings,
        )

        httpx_settings: dict[str, Any] = {"timeout": self.timeout}
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: self.retries}):
            client = (
                PrefectClient(
                    self.api_url,
                    auth_string=PREFECT_API_AUTH_STRING.value(),
                    api_key=PREFECT_API_KEY.value(),
                    httpx_settings=httpx_settings,
                )
                if self.api_url
                else get_client(httpx_settings=httpx_settings)
            )
            async with client:
                await client.request(
                    "POST", "/events", json=[e.model_dump(mode="json") for e in events]
                )


def upload_events(refs: Sequence[UploadRef]) -> list[Event]:
    out = []
    for ref in refs:
        spec = upload_event(ref)
        out.append(
            Event(
                event=spec["event"],
                resource=spec["resource"],
                occurred=spec["occurred"] or datetime.now(UTC),
                payload=spec["payload"],
                id=spec["id"],
            )
        )
    return out


def authorized(header: str | None, token: str) -> bool:
    """MinIO sends ``Authorization: Bearer <auth_token>``; compared in constant time."""
    expected = f"Bearer {token}".encode()
    return header is not None and hmac.compare_digest(header.encode(), expected)


def _warn_foreign_folder(parsed: Parsed, incoming_prefix: str) -> None:
    """A unit writing into another unit's folder means its MinIO policy is wrong."""
    for ref in parsed.uploads:
        key = parse_incoming_key(ref.key, incoming_prefix)
        if ref.uploader and ref.uploader.isdigit() and key and key.unit_code != ref.uploader:
            log.warning(
                "unit %s wrote into unit %s's folder (%s): check its MinIO policy",
                ref.uploader,
                key.unit_code,
                ref.key,
            )


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` bytes (without reading the rest)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


class UploaderStore(Protocol):
    """Where the receiver keeps who uploaded what (see ``dvkn_pipeline.storage.uploader_records``)."""

    def record(self, ref: UploadRef) -> None: ...


class BucketUploaderStore:
    """Records in the uploads' own bucket, through the pipeline's S3 client."""

    def __init__(self, client: Any, state_prefix: str) -> None:
        self.client = client
        self.state_prefix = state_prefix

    def record(self, ref: UploadRef) -> None:
        if ref.uploader:
            record_uploader(Bucket(self.client, ref.bucket), ref, self.state_prefix)


def create_app(
    settings: Settings,
    sink: EventSink | None = None,
    uploaders: UploaderStore | None = None,
    announcer: Announcer | None = None,
) -> FastAPI:
    """The receiver's ASGI app. Refuses to exist without a token: no open endpoint by mistake.

    With ``uploaders``, who uploaded each object is recorded before it is
    announced (a failure there is a 503 too, so MinIO resends). With
    ``announcer``, the bucket's change marker is rewritten (at most once a
    second) so that an idle intake run lists ``incoming/`` at once.
    """
    token = settings.webhook_token.get_secret_value()
    if not token:
        raise ValueError("DVKN_WEBHOOK_TOKEN is empty: set MinIO's auth_token for the DVKN target")
    events_sink: EventSink = sink or PrefectApiSink(settings.prefect_api_url)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        flusher = asyncio.create_task(announcer.run()) if announcer else None
        try:
            yield
        finally:
            if flusher is not None:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher

    app = FastAPI(
        title="DVKN MinIO webhook",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    def unauthorized() -> Response:
        return JSONResponse(
            {"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.head(EVENTS_PATH)
    async def liveness(request: Request) -> Response:
        # MinIO probes its target with HEAD before sending; any answer means "up".
        if not authorized(request.headers.get("authorization"), token):
            return unauthorized()
        return Response(status_code=200)

    @app.post(EVENTS_PATH)
    async def receive(request: Request) -> Response:
        if not authorized(request.headers.get("authorization"), token):
            log.warning("rejected a notification with a wrong or missing token")
            return unauthorized()
        body = await _read_capped(request, settings.webhook_max_body_bytes)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            notification = parse_notification(body)
        except ValidationError as exc:
            log.warning("not a MinIO notification: %d problem(s)", exc.error_count())
            return JSONResponse({"error": "not a MinIO bucket notification"}, status_code=400)
        parsed = upload_refs(notification, settings.incoming_prefix, settings.uploader_unit_pattern)
        _warn_foreign_folder(parsed, settings.incoming_prefix)
        events = upload_events(parsed.uploads)
        if events:
            try:
                if uploaders is not None:
                    for ref in parsed.uploads:
                        await asyncio.to_thread(uploaders.record, ref)
                await events_sink.send(events)
            except Exception as exc:  # any failure: MinIO must keep the notification
                log.error("could not take %d upload(s): %s", len(events), type(exc).__name__)
                return JSONResponse(
                    {"error": "event store unavailable"},
                    status_code=503,
                    headers={"Retry-After": "5"},
                )
        for ref in parsed.uploads:
            log.info("announced %s (uploader %s)", ref.key, ref.uploader or "-")
        if announcer is not None:
            announcer.note(ref.bucket for ref in parsed.uploads)
        return JSONResponse(
            {
                "announced": [r.key for r in parsed.uploads],
                "ignored": [{"reason": i.reason, "event": i.event_name} for i in parsed.ignored],
            }
        )

    return app


def serve(settings: Settings) -> None:
    """Run the receiver with uvicorn (one process; MinIO's queue absorbs bursts)."""
    import uvicorn

    from dvkn_pipeline.storage.s3_client import make_s3_client

    client = make_s3_client(settings)
    uploaders = BucketUploaderStore(client, settings.state_prefix)
    announcer = Announcer(bucket_marker_writer(client, settings.state_prefix))
    uvicorn.run(
        create_app(settings, uploaders=uploaders, announcer=announcer),
        host=settings.webhook_host,
        port=settings.webhook_port,
        log_level="info",
        proxy_headers=False,
    )
