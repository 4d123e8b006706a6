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


#: Runs that are draining right now, one small object each (``<owner>.json``).
DRAINING = "draining/"


class DrainPresence:
    """A draining run's presence on the store, so the sensor need not wake another run.

    During a burst every announcement used to become a Prefect event and every
    event a queued flow run that later started a process only to find nothing
    to do. While a run is present it will read the announcements itself, so the
    sensor writes the announcement but emits no event (unless a burst calls for
    one more run, see ``wake_another_run``). Ordering makes this safe:
    the sensor writes its announcement before it looks for a present run, and a
    run that leaves removes its presence before it looks for work one last time,
    so an upload is either seen by that last look or announced by an event. A run
    that dies without leaving stops counting after ``ttl_seconds``.
    """

    def __init__(
        self,
        store: QueueStore,
        state_prefix: str,
        owner: str,
        ttl_seconds: float = 60.0,
        clock: Any = time.time,
    ) -> None:
        self.store, self.owner, self.ttl, self.clock = store, owner, ttl_seconds, clock
        self.key = f"{state_prefix}{DRAINING}{owner}.json"
        self._beaten = float("-inf")

    def beat(self) -> None:
        """Say the run is still draining (written at most every third of the TTL)."""
        now = self.clock()
        if now - self._beaten >= self.ttl / 3:
            self.store.put_json(self.key, {"owner": self.owner, "until": now + self.ttl})
            self._beaten = now

    def leave(self) -> None:
        self.store.delete(self.key)
        self._beaten = float("-inf")

    def others_present(self) -> bool:
        return draining(self.store, self.key.rsplit(DRAINING, 1)[0], self.clock(), self.key)


def draining(
    store: QueueStore, state_prefix: str, now: float | None = None, besides: str = ""
) -> bool:
    """Whether some run (other than the one at key ``besides``) is draining, unexpired."""
    return draining_runs(store, state_prefix, now, besides) > 0


def draining_runs(
    store: QueueStore, state_prefix: str, now: float | None = None, besides: str = ""
) -> int:
    """How many runs (other than the one at key ``besides``) are draining, unexpired."""
    now = time.time() if now is None else now
    count = 0
    for obj in store.list_uploads(state_prefix + DRAINING):
        if obj.key == besides:
            continue
        doc = store.get_json(obj.key)
        if doc is not None and float(doc.get("until", 0)) > now:
            count += 1
    return count


def wake_another_run(
    present: int, starting: int, announced: int, concurrency: int, scale_out: int
) -> bool:
    """Whether an announcement of ``announced`` uploads should wake an intake run.

    With no run draining, always: someone must take the uploads. With some, only
    for a burst (``scale_out`` uploads or more in one announcement) and while
    the runs draining and those woken but not yet started (``starting``) are
    fewer than ``concurrency``: one run is one Python process, which judges on
    one core whatever the machine has, so a deadline burst left to one run used
    half of a 2-core machine. A trickle stays with the runs present.
    """
    if present == 0:
        return True
    return present + starting < concurrency and announced >= scale_out
