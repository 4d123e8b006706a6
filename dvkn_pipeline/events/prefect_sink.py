"""Events from a one-shot command or a web request to the Prefect server, sent before returning.

A flow run emits through ``prefect.events.emit_event`` (its worker keeps the
websocket open); a command that exits a moment later would drop such an
event, so this sink posts it and returns only once the server has it
(:class:`~dvkn_pipeline.events.webhook.PrefectApiSink`, which raises otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import uuid4

from prefect.events import Event

from dvkn_pipeline.events.webhook import PrefectApiSink


class _Sender(Protocol):
    async def send(self, events: Sequence[Event]) -> None: ...


class PrefectPostSink:
    """The ``services.ports.EventSink`` of commands and console requests: one POST per event.

    Called from a thread that already runs an event loop (an ``async def`` route),
    it posts from a thread of its own rather than nest loops.
    """

    def __init__(self, api_url: str | None = None, sender: _Sender | None = None) -> None:
        self.api: _Sender = sender or PrefectApiSink(api_url, timeout=10.0, retries=2)

    def emit(self, event: str, resource: Mapping[str, str], payload: Mapping[str, Any]) -> None:
        sent = Event(
            event=event,
            resource=dict(resource),
            occurred=datetime.now(UTC),
            payload=dict(payload),
            id=uuid4(),
        )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self.api.send([sent]))
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, self.api.send([sent])).result()
