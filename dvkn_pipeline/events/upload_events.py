"""The one shape of a ``dvkn.report.uploaded`` event, whichever source saw the upload.

The polling sensor (``dvkn_pipeline/events/sensor.py``) and the MinIO webhook receiver
(``dvkn_pipeline/events/webhook.py``) both build their events here, so the intake
deployment's trigger (it matches ``prefect.resource.id`` on
``dvkn.upload.<bucket>/*``) accepts either. Pure: the result is the keyword
arguments of ``prefect.events.emit_event`` and of ``prefect.events.Event``.

The event id is derived from the upload's identity (bucket, key, ETag), so
the same upload announced twice (a MinIO retry from its queue, or the sensor
and the webhook both running) is one event to the Prefect server, which keeps
the first and ignores the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict
from uuid import UUID, uuid5

from schemas.records import EVENT_UPLOADED, UploadRef

#: Namespace of the deterministic event ids (uuid5 of "<bucket>/<upload id>").
UPLOAD_EVENT_NAMESPACE = UUID("5b0f3f4e-5d1a-4c1e-9b8e-64766b6e0001")


class UploadEventSpec(TypedDict):
    event: str
    resource: dict[str, str]
    occurred: datetime | None
    payload: dict[str, Any]
    id: UUID


def upload_resource_id(bucket: str, key: str) -> str:
    return f"dvkn.upload.{bucket}/{key}"


def upload_event_resource(ref: UploadRef) -> dict[str, str]:
    """The event's resource: one id per object, plus what processing needs."""
    return {
        "prefect.resource.id": upload_resource_id(ref.bucket, ref.key),
        "prefect.resource.name": ref.key,
        "dvkn.bucket": ref.bucket,
        "dvkn.key": ref.key,
        "dvkn.etag": ref.etag,
        "dvkn.size": str(ref.size or 0),
        "dvkn.uploader": ref.uploader or "",
        "dvkn.version_id": ref.version_id or "",
    }


def upload_event_id(ref: UploadRef) -> UUID:
    return uuid5(UPLOAD_EVENT_NAMESPACE, f"{ref.bucket}/{ref.upload_id}")


def upload_event(ref: UploadRef) -> UploadEventSpec:
    """Everything ``emit_event(**spec)`` or ``Event(**spec)`` needs for one upload."""
    return UploadEventSpec(
        event=EVENT_UPLOADED,
        resource=upload_event_resource(ref),
        occurred=ref.last_modified,
        payload={"size": ref.size, "etag": ref.etag},
        id=upload_event_id(ref),
    )


#: Uploads one announcement names in its payload: a burst is a few events, each bounded in size.
UPLOADS_PER_EVENT = 1000


def upload_batch_events(refs: list[UploadRef]) -> list[UploadEventSpec]:
    """One ``dvkn.report.uploaded`` event per ``UPLOADS_PER_EVENT`` uploads a poll found.

    Prefect's SQLite server stalls under thousands of events a minute, and the
    intake does not need one event per file: any event wakes the deployment,
    whose run drains every pending upload. The resource id still falls under
    ``dvkn.upload.<bucket>/*`` (the trigger) and, like the event id, follows from
    the uploads named, so announcing the same uploads twice is one event.
    """
    out: list[UploadEventSpec] = []
    for start in range(0, len(refs), UPLOADS_PER_EVENT):
        chunk = refs[start : start + UPLOADS_PER_EVENT]
        first = chunk[0]
        names = "\n".join(sorted(f"{r.bucket}/{r.upload_id}" for r in chunk))
        event_id = uuid5(UPLOAD_EVENT_NAMESPACE, names)
        resource = upload_event_resource(first) | {
            "prefect.resource.id": upload_resource_id(first.bucket, f"_batch/{event_id}"),
            "prefect.resource.name": f"{len(chunk)} uploads from {first.key}",
            "dvkn.count": str(len(chunk)),
        }
        out.append(
            UploadEventSpec(
                event=EVENT_UPLOADED,
                resource=resource,
                occurred=max((r.last_modified for r in chunk if r.last_modified), default=None),
                payload={"count": len(chunk), "keys": [r.key for r in chunk]},
                id=event_id,
            )
        )
    return out
