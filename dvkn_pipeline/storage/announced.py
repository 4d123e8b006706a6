"""Uploads an event source announced, kept as small queue objects until intake has them.

Why: the intake run must not list ``incoming/`` to learn what the change feed
already told the sensor (a listing of ten thousand keys costs the store
seconds of directory scans, and it was done per poll during a burst). The
sensor writes one object per announcement under ``<state>/announced/``, naming
the object versions it saw; a run reads these few objects, keeps what the
ledger has not recorded, and removes an object once every upload it names is
in the ledger. Removing is safe at any time: a lost object only delays its
uploads until the reconciliation sweep, which still lists ``incoming/``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Protocol

from schemas.records import UploadRef

ANNOUNCED = "announced/"


class QueueStore(Protocol):
    def put_json(self, key: str, payload: Any) -> None: ...
    def get_json(self, key: str) -> Any | None: ...
    def delete(self, key: str) -> None: ...
    def list_uploads(self, prefix: str) -> Any: ...


def announce(store: QueueStore, state_prefix: str, refs: list[UploadRef]) -> str:
    """Write one announcement naming ``refs``; returns its key (time-ordered)."""
    names = "\n".join(sorted(r.upload_id for r in refs))
    digest = hashlib.sha256(names.encode()).hexdigest()[:12]
    key = f"{state_prefix}{ANNOUNCED}{time.time_ns():020d}-{digest}.json"
    store.put_json(key, {"uploads": [r.model_dump(mode="json") for r in refs]})
    return key


def announced(store: QueueStore, state_prefix: str) -> dict[str, list[UploadRef]]:
    """Every announcement still queued, oldest first, with the uploads it names."""
    out: dict[str, list[UploadRef]] = {}
    for obj in sorted(store.list_uploads(state_prefix + ANNOUNCED), key=lambda r: r.key):
        doc = store.get_json(obj.key)
        if doc is None:  # removed by another run since the listing
            continue
        out[obj.key] = [UploadRef.model_validate(u) for u in doc.get("uploads", [])]
    return out


def settle(store: QueueStore, queued: dict[str, list[UploadRef]], recorded: set[str]) -> int:
    """Remove the announcements whose uploads are all in the ledger; returns how many."""
    done = [key for key, refs in queued.items() if all(r.upload_id in recorded for r in refs)]
    for key in done:
        store.delete(key)
    return len(done)
