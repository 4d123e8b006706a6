"""Events from a one-shot command (``dvkn approve``) to the Prefect server, sent before it exits.

A flow run emits through ``prefect.events.emit_event`` (its worker keeps the
websocket open); a command that exits a moment later would drop such an
event, so this sink posts it and returns only once the server has it
(:class:`~dvkn_pipeline.events.webhook.PrefectApiSink`, which raises otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from prefect.events import Event

from dvkn_pipeline.events.webhook import PrefectApiSink


class PrefectPostSink:
    """The ``services.ports.EventSink`` of commands: one POST per event."""

    def __init__(self, api_url: str | None = None) -> None:
        self.api = PrefectApiSink(api_url, timeout=10.0, retries=2)

    def emit(self, event: str, resource: Mapping[str, str], payload: Mapping[str, Any]) -> None:
        sent = Event(
            event=event,
            resource=dict(resource),
            occurred=datetime.now(UTC),
            payload=dict(payload),
            id=uuid4(),
        )
        asyncio.run(self.api.send([sent]))
