"""The drain loop: when to list, which shard to take, how to slice it, when to refresh.

Plain Python over injected callables, so the scheduling policy is tested with
a fake clock and in-memory ports (``tests/unit/test_drain.py``); the
``process-uploads`` flow wires its Prefect tasks into it. The policy:

- a run drains the pending uploads of every shard it can lease (in a random
  order, so concurrent runs spread over the shards) in batches of at most
  ``batch_max_files``, and stays until nothing has been pending for
  ``idle_seconds``, so a late upload soon after a burst needs no new run;
- while idle it lists ``incoming/`` again only when the event sources' change
  token moved, or every ``list_at_least_every`` seconds in case an event was
  missed: listing thousands of objects twice a second would load the store;
- roll-ups are refreshed during a long burst every ``refresh_every_seconds``,
  or less often when a refresh would otherwise take more than
  ``refresh_max_share`` of the run's time, and at once when nothing is left
  pending (a late upload's roll-up waits for no interval); a crashed run's
  stale periods join this run's first refresh;
- the reconciliation sweep (the only run that lists ``incoming/``) does nothing
  while another run is draining, and lists once: if it goes on draining (a burst
  began), it reads the announcements like any run.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dvkn_pipeline.services.intake import BatchResult
from dvkn_pipeline.services.ports import EventSink
from dvkn_pipeline.storage.leases import Lease
from schemas.records import (
    EVENT_ACCEPTED,
    EVENT_REJECTED,
    EVENT_ROLLUP_UPDATED,
    FileOutcome,
    Status,
    UploadRef,
)

#: While idle, list ``incoming/`` at least this often even if no event source said anything.
LIST_AT_LEAST_EVERY = 15.0

#: Brings the roll-ups of the given periods up to date; returns summaries by period. The units
#: are what this run's batches changed, and the refresh does not use them: it recomputes
#: whatever the ledger's marks say is stale, which another run may already have covered.
Refresh = Callable[[dict[str, set[str]]], Mapping[str, Any]]


class Presence(Protocol):
    """A draining run's presence, as the event source sees it (``storage.announced``)."""

    def beat(self) -> None: ...

    def leave(self) -> None: ...

    def others_present(self) -> bool: ...


class Backlog(Protocol):
    """Where the pending uploads are, and who may work on which shard."""

    def change_token(self) -> str | None: ...

    def pending_by_shard(self, sweep: bool = False) -> dict[int, list[UploadRef]]: ...

    def lease(
        self, shard: int, owner: str, gone: Callable[[str], bool] | None = None
    ) -> Lease | None: ...

    def release(self, held: Iterable[Lease]) -> None: ...


@dataclass(frozen=True)
class DrainPolicy:
    idle_seconds: float
    batch_max_files: int
    refresh_every_seconds: float
    list_at_least_every: float = LIST_AT_LEAST_EVERY
    #: How long an idle loop sleeps between looks at the change token.
    poll_seconds: float = 0.5
    #: Right after work, list again at once (more may have arrived meanwhile).
    quiet_seconds: float = 1.0
    #: The reconciliation sweep: list ``incoming/`` whatever the event source announced.
    sweep: bool = False
    #: While work is pending, a refresh may take at most this share of the run's time:
    #: after one of D seconds the next waits at least D / share. A full refresh of a
    #: national period in a burst (1.3-2.4 s on a loaded machine, measured) then runs
    #: every 13-24 s, and a small one still every ``refresh_every_seconds``.
    refresh_max_share: float = 0.1


@dataclass
class Drained:
    outcomes: list[FileOutcome] = field(default_factory=list)
    #: Completeness summaries by period, of every refresh this run made.
    summaries: dict[str, Any] = field(default_factory=dict)


def _shuffled(shards: list[int]) -> list[int]:
    return random.sample(shards, k=len(shards))


def drain(
    backlog: Backlog,
    owner: str,
    policy: DrainPolicy,
    *,
    process_batch: Callable[[list[UploadRef]], BatchResult],
    refresh: Refresh,
    events: EventSink,
    bucket: str,
    stale: dict[str, set[str]] | None = None,
    gone: Callable[[str], bool] | None = None,
    on_batch: Callable[[BatchResult], None] = lambda _: None,
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    shuffle: Callable[[list[int]], list[int]] = _shuffled,
    presence: Presence | None = None,
) -> Drained:
    """Process pending uploads until none has been pending for ``policy.idle_seconds``.

    ``stale``: roll-ups a crashed run left behind (ledger committed, refresh
    never ran), refreshed before anything else. ``gone`` tells whether a
    shard's lease holder has ended for good (see ``leases.acquire``).
    ``on_batch`` sees each batch's result after its outcome events.
    ``presence`` tells the event source this run is draining (so it wakes no
    other run); before the run ends it withdraws, then looks for work once more.
    """
    log = log or logging.getLogger(__name__)
    out = Drained()
    if policy.sweep and presence is not None and presence.others_present():
        # A draining run reads the announcements and leaves only once nothing is pending;
        # listing incoming/ beside it would cost the store seconds per listing in a burst
        # and find what that run is about to take. Lost events wait for the next sweep.
        log.info("a run is draining: this sweep is left to the next interval")
        return out
    dirty: dict[str, set[str]] = {p: set(u) for p, u in (stale or {}).items()}
    last_work = last_refresh = clock()
    refresh_took = 0.0

    def refresh_dirty() -> None:
        nonlocal last_refresh, refresh_took
        began = clock()
        out.summaries.update(refresh_and_announce(refresh, events, dirty))
        dirty.clear()
        last_refresh = clock()
        refresh_took = last_refresh - began

    def refresh_due() -> bool:
        wait = max(policy.refresh_every_seconds, refresh_took / policy.refresh_max_share)
        return bool(dirty) and last_work - last_refresh >= wait

    token: str | None = None
    listed_at = 0.0
    sweeping = policy.sweep

    def done() -> bool:
        """Idle long enough: leave, unless work arrived that no event will announce.

        Work another present run will see is left to it (it looks again before
        it leaves); otherwise this run stays one more idle period.
        """
        nonlocal token, listed_at, last_work
        if presence is None:
            return True
        presence.leave()
        if presence.others_present() or not any(backlog.pending_by_shard(sweeping).values()):
            return True
        presence.beat()
        token, listed_at, last_work = None, 0.0, clock()
        return False

    while True:
        if presence is not None:
            presence.beat()
        looked = not dirty and clock() - last_work > policy.quiet_seconds
        if looked:
            now_token = backlog.change_token()
            if now_token == token and clock() - listed_at < policy.list_at_least_every:
                if clock() - last_work >= policy.idle_seconds:
                    if done():
                        break
                    continue
                sleep(policy.poll_seconds)
                continue
            token = now_token
        listed_at = clock()
        # What had been announced when this round listed: an idle run has just looked.
        round_token = token if looked else backlog.change_token()
        work = backlog.pending_by_shard(sweeping)
        worked = False
        # The sweep lists once; what arrives while it works is announced like any upload.
        # A sweep that started as a burst began otherwise listed incoming/ every round
        # (seen: 5,686 of 10,051 files drained by the reconcile run, listing each time).
        sweeping = False
        for shard in shuffle(sorted(work)):
            lease = backlog.lease(shard, owner, gone)
            if lease is None:
                continue  # another run is on this shard
            try:
                refs = work[shard]
                for start in range(0, len(refs), policy.batch_max_files):
                    result = process_batch(refs[start : start + policy.batch_max_files])
                    announce_outcomes(events, result.outcomes, bucket)
                    on_batch(result)
                    out.outcomes.extend(result.outcomes)
                    for period, units in result.changed.items():
                        dirty.setdefault(period, set()).update(units)
                    last_work, worked = clock(), True
                    if refresh_due():
                        refresh_dirty()
            finally:
                _release(backlog, lease, log)
        # In a burst more is announced during every round: take it first, and leave the
        # refresh to its interval. Otherwise (nothing announced meanwhile, or nothing this
        # run could take) refresh now: a late upload's roll-up waits for no interval.
        if dirty and (not worked or refresh_due() or backlog.change_token() == round_token):
            refresh_dirty()
        elif dirty:
            continue
        elif clock() - last_work >= policy.idle_seconds:
            if done():
                break
        else:
            sleep(policy.poll_seconds)
    return out


def _release(
    backlog: Backlog, lease: Lease, log: logging.Logger | logging.LoggerAdapter[logging.Logger]
) -> None:
    """Hand a lease back; with the store away the release fails, and must not hide why the
    batch failed (a later run takes the lease over once this run has ended)."""
    try:
        backlog.release([lease])
    except Exception:
        log.warning("could not release %d lease(s)", 1, exc_info=True)


def refresh_and_announce(
    refresh: Refresh, events: EventSink, changed: dict[str, set[str]]
) -> dict[str, Any]:
    """Refresh the changed periods, then say so: the one place ``dvkn.rollup.updated`` is sent."""
    summaries = dict(refresh(changed))
    for period in changed:
        events.emit(
            EVENT_ROLLUP_UPDATED,
            {"prefect.resource.id": f"dvkn.rollup.{period}", "dvkn.period": period},
            summaries.get(period, {}),
        )
    return summaries


#: Files named in one outcome event's payload: enough for a notification, bounded for Prefect.
FILES_PER_EVENT = 200


def announce_outcomes(events: EventSink, outcomes: Iterable[FileOutcome], bucket: str) -> None:
    """One event per batch and outcome (accepted, rejected), not one per file.

    Prefect's SQLite server stalls under thousands of events a minute, so a
    burst must not become one event per file; per-file outcomes live in the
    ledger, the receipts and the run's artifact. The rejected event names the
    rejected files (up to ``FILES_PER_EVENT``) for the steward's notification;
    its resource id follows from the files it names.
    """
    done = list(outcomes)
    groups = {
        EVENT_ACCEPTED: [o for o in done if o.status is not Status.REJECTED],
        EVENT_REJECTED: [o for o in done if o.status is Status.REJECTED],
    }
    for event, group in groups.items():
        if not group:
            continue
        first = group[0]
        digest = hashlib.sha256("\n".join(sorted(o.key for o in group)).encode()).hexdigest()
        events.emit(
            event,
            {
                "prefect.resource.id": f"dvkn.batch.{bucket}/{digest[:16]}",
                "dvkn.count": str(len(group)),
                "dvkn.key": first.key,
                "dvkn.unit": first.unit_code or "",
                "dvkn.period": first.period or "",
            },
            {
                "count": len(group),
                "statuses": {s.value: sum(o.status is s for o in group) for s in Status},
                "files": [
                    o.model_dump(mode="json", include=_EVENT_FIELDS)
                    for o in group[:FILES_PER_EVENT]
                ],
            },
        )


_EVENT_FIELDS = {
    "key",
    "status",
    "unit_code",
    "period",
    "n_errors",
    "first_problem",
    "first_problem_vi",
    "receipt_key",
}
