"""The drain loop's scheduling policy, with a fake clock and in-memory ports (no Prefect)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta

import pytest

from dvkn_pipeline.services.drain import Drained, DrainPolicy, drain
from dvkn_pipeline.services.intake import BatchResult
from dvkn_pipeline.storage import leases
from dvkn_pipeline.storage.announced import DrainPresence, draining
from dvkn_pipeline.storage.leases import Lease
from schemas.records import EVENT_ACCEPTED, EVENT_ROLLUP_UPDATED, FileOutcome, Status, UploadRef
from tests.fakes import MemoryBucket, RecordedEvents

POLICY = DrainPolicy(idle_seconds=30.0, batch_max_files=3, refresh_every_seconds=10.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def ref(shard: int, n: int) -> UploadRef:
    return UploadRef(bucket="mem", key=f"incoming/0000{shard}/2025-Q1/{n}.csv", etag=f"{shard}-{n}")


class Backlog:
    """Pending uploads by shard; leases are real leases on an in-memory bucket."""

    def __init__(self, clock: Clock, work: dict[int, list[UploadRef]] | None = None) -> None:
        self.clock = clock
        self.work = work or {}
        self.token: str | None = None
        self.listed_at: list[float] = []
        self.store = MemoryBucket()

    def arrive(self, shard: int, *refs: UploadRef) -> None:
        self.work.setdefault(shard, []).extend(refs)
        self.token = f"t{self.clock.now}"

    def change_token(self) -> str | None:
        return self.token

    def pending_by_shard(self, sweep: bool = False) -> dict[int, list[UploadRef]]:
        self.listed_at.append(self.clock.now)
        return {s: list(rs) for s, rs in self.work.items() if rs}

    def lease(
        self, shard: int, owner: str, gone: Callable[[str], bool] | None = None
    ) -> Lease | None:
        return leases.acquire(self.store, f"shard-{shard}", owner, timedelta(minutes=5), gone=gone)

    def release(self, held: Iterable[Lease]) -> None:
        for lease in held:
            leases.release(self.store, lease)


class Processor:
    """Records each batch; takes ``seconds`` of fake time; its uploads leave the backlog."""

    def __init__(self, backlog: Backlog, seconds: float = 1.0) -> None:
        self.backlog, self.seconds = backlog, seconds
        self.batches: list[list[str]] = []

    def __call__(self, refs: list[UploadRef]) -> BatchResult:
        self.backlog.clock.sleep(self.seconds)
        self.batches.append([r.key for r in refs])
        for rs in self.backlog.work.values():
            rs[:] = [r for r in rs if r not in refs]
        outcomes = [
            FileOutcome(key=r.key, status=Status.ACCEPTED, receipt_key="x", period="2025-Q1")
            for r in refs
        ]
        units = {r.key.split("/")[1] for r in refs}
        return BatchResult(outcomes=outcomes, changed={"2025-Q1": units})


class Refresher:
    """Records each refresh; takes ``seconds`` of fake time."""

    def __init__(self, clock: Clock, seconds: float = 0.0) -> None:
        self.clock, self.seconds = clock, seconds
        self.calls: list[tuple[float, dict[str, set[str]]]] = []

    def __call__(self, changed: dict[str, set[str]]) -> dict[str, object]:
        self.calls.append((self.clock.now, {p: set(u) for p, u in changed.items()}))
        self.clock.sleep(self.seconds)
        return {p: {"units": len(u)} for p, u in changed.items()}


def run(
    backlog: Backlog,
    policy: DrainPolicy = POLICY,
    *,
    processor: Callable[[list[UploadRef]], BatchResult] | None = None,
    refresher: Refresher | None = None,
    events: RecordedEvents | None = None,
    stale: dict[str, set[str]] | None = None,
    during: Callable[[], None] | None = None,
    presence: DrainPresence | None = None,
) -> Drained:
    clock = backlog.clock

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if during is not None:
            during()

    return drain(
        backlog,
        "this-run",
        policy,
        process_batch=processor or Processor(backlog),
        refresh=refresher or Refresher(clock),
        events=events or RecordedEvents(),
        bucket="mem",
        stale=stale,
        clock=clock,
        sleep=sleep,
        shuffle=lambda shards: shards,
        presence=presence,
    )


def quiet_listings(backlog: Backlog, since: float) -> list[float]:
    """Listings once the quiet second after work (or the start) is over."""
    return [t for t in backlog.listed_at if t - since > POLICY.quiet_seconds]


def test_an_idle_run_ends_after_the_idle_timeout() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    drained = run(backlog)
    assert drained.outcomes == []
    assert clock.now - 1000.0 == pytest.approx(POLICY.idle_seconds, abs=POLICY.poll_seconds)


def test_while_idle_it_lists_only_every_list_at_least_every_seconds() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    policy = DrainPolicy(idle_seconds=50.0, batch_max_files=3, refresh_every_seconds=10.0)
    run(backlog, policy)
    # Right after the start it looks every poll (uploads may still be landing) ...
    assert [t - 1000.0 for t in backlog.listed_at[:3]] == [0.0, 0.5, 1.0]
    # ... then, with the change token still, only every list_at_least_every seconds.
    quiet = quiet_listings(backlog, 1000.0)
    gaps = [b - a for a, b in zip([1001.0, *quiet], quiet, strict=False)]
    assert len(quiet) == 3  # within 50 s
    assert all(
        g == pytest.approx(policy.list_at_least_every, abs=policy.poll_seconds) for g in gaps
    )


def test_a_moved_change_token_lists_at_once_and_the_new_upload_is_processed() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    late = ref(1, 1)

    def announce() -> None:
        if clock.now == 1005.0:
            backlog.arrive(1, late)

    processor = Processor(backlog)
    run(backlog, processor=processor, during=announce)
    assert 1005.0 in backlog.listed_at  # not 15 s later
    assert processor.batches == [[late.key]]


def test_batches_are_sliced_by_batch_max_files_in_order() -> None:
    clock = Clock()
    refs = [ref(0, n) for n in range(7)]
    backlog = Backlog(clock, {0: list(refs)})
    processor = Processor(backlog)
    drained = run(backlog, processor=processor)
    assert processor.batches == [[r.key for r in refs[i : i + 3]] for i in (0, 3, 6)]
    assert [o.key for o in drained.outcomes] == [r.key for r in refs]


def test_a_shard_leased_by_another_run_is_skipped() -> None:
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, 1)], 1: [ref(1, 1)]})
    leases.acquire(backlog.store, "shard-1", "other-run", timedelta(minutes=5))
    processor = Processor(backlog)
    run(backlog, processor=processor)
    assert processor.batches == [[ref(0, 1).key]]
    assert backlog.work[1] == [ref(1, 1)]  # still pending, for the run that holds it


def test_roll_ups_refresh_every_refresh_every_seconds_during_a_burst_and_after_it() -> None:
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, n) for n in range(12)]})
    refresher = Refresher(clock)
    events = RecordedEvents()
    run(backlog, processor=Processor(backlog, seconds=4.0), refresher=refresher, events=events)
    # Four batches of 4 s: refreshed once 10 s had passed (after the 3rd), and at the end.
    assert [t - 1000.0 for t, _ in refresher.calls] == [12.0, 16.0]
    assert [r["dvkn.period"] for r in events.named(EVENT_ROLLUP_UPDATED)] == ["2025-Q1"] * 2
    # One accepted event per batch (4 batches of 3 files), not one per file.
    accepted = events.named(EVENT_ACCEPTED)
    assert [r["dvkn.count"] for r in accepted] == ["3", "3", "3", "3"]


def test_a_slow_refresh_runs_less_often_while_work_is_pending() -> None:
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, n) for n in range(30)]})
    refresher = Refresher(clock, seconds=2.0)
    run(backlog, processor=Processor(backlog, seconds=4.0), refresher=refresher)
    # Ten batches of 4 s. The first refresh (after 12 s) takes 2 s, a tenth of 20 s:
    # the next waits 20 s of work, not 10 (it would have come at 26 and 40). The last
    # comes when nothing is left, without waiting.
    assert [t - 1000.0 for t, _ in refresher.calls] == [12.0, 34.0, 44.0]


def test_a_round_during_which_more_was_announced_takes_it_before_refreshing() -> None:
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, n) for n in range(3)]})
    processor = Processor(backlog)
    refresher = Refresher(clock)

    def first_batch_then_more_arrive(refs: list[UploadRef]) -> BatchResult:
        result = processor(refs)
        if len(processor.batches) == 1:
            backlog.arrive(1, *(ref(1, n) for n in range(3)))
        return result

    run(backlog, processor=first_batch_then_more_arrive, refresher=refresher)
    assert len(processor.batches) == 2
    # One refresh, once nothing was left, with both rounds' units (not one per round).
    assert [units for _, units in refresher.calls] == [{"2025-Q1": {"00000", "00001"}}]


def test_stale_roll_ups_of_a_crashed_run_are_refreshed_first() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    refresher = Refresher(clock)
    drained = run(backlog, refresher=refresher, stale={"2025-Q1": {"00004"}})
    assert refresher.calls == [(1000.0, {"2025-Q1": {"00004"}})]
    assert drained.summaries == {"2025-Q1": {"units": 1}}


def test_a_present_run_is_seen_while_it_drains_and_gone_when_it_ends() -> None:
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, n) for n in range(4)]})
    presence = DrainPresence(backlog.store, "_state/", "this-run", clock=clock)
    seen: list[bool] = []
    run(
        backlog,
        presence=presence,
        during=lambda: seen.append(draining(backlog.store, "_state/", clock())),
    )
    assert seen and all(seen)  # the sensor would wake no other run meanwhile
    assert not draining(backlog.store, "_state/", clock())


def test_work_that_arrives_as_a_run_leaves_is_not_stranded() -> None:
    """The sensor saw the run present and sent no event: the leaving run must take it."""
    clock = Clock()
    backlog = Backlog(clock)
    presence = DrainPresence(backlog.store, "_state/", "this-run", clock=clock)
    late = ref(1, 9)
    leave = presence.leave
    landed: list[UploadRef] = []

    def leave_as_an_upload_lands() -> None:
        leave()
        if not landed:  # announced without a change of token or an event, once
            landed.append(late)
            backlog.work[1] = [late]

    presence.leave = leave_as_an_upload_lands  # type: ignore[method-assign]
    processor = Processor(backlog)
    run(backlog, processor=processor, presence=presence)
    assert processor.batches == [[late.key]]
    assert not draining(backlog.store, "_state/", clock())


def test_work_another_present_run_will_see_is_left_to_it() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    other = DrainPresence(backlog.store, "_state/", "other-run", clock=clock)
    other.beat()
    leases.acquire(backlog.store, "shard-1", "other-run", timedelta(minutes=5))
    backlog.work[1] = [ref(1, 1)]  # on the other run's shard
    presence = DrainPresence(backlog.store, "_state/", "this-run", clock=clock)
    started = clock()
    run(backlog, presence=presence)
    assert clock() - started < POLICY.idle_seconds + 5  # ended after one idle period


def test_the_sweep_lists_nothing_while_another_run_drains() -> None:
    """The reconcile sweep is the only run that lists incoming/; beside a drain it waits."""
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, 1)]})
    DrainPresence(backlog.store, "_state/", "other-run", clock=clock).beat()
    sweep = replace(POLICY, sweep=True)
    processor = Processor(backlog)
    me = DrainPresence(backlog.store, "_state/", "this-run", clock=clock)
    drained = run(backlog, sweep, processor=processor, presence=me)
    assert processor.batches == [] and drained.outcomes == []
    # Once nobody drains, the same sweep takes the upload.
    clock.sleep(120)  # the other run's presence expired (it died, or left)
    run(backlog, sweep, processor=processor, presence=me)
    assert processor.batches == [[ref(0, 1).key]]


def test_a_sweep_that_goes_on_draining_lists_only_once() -> None:
    clock = Clock()
    backlog = Backlog(clock, {0: [ref(0, 1)]})
    asked: list[bool] = []
    look = backlog.pending_by_shard

    def pending_by_shard(sweep: bool = False) -> dict[int, list[UploadRef]]:
        asked.append(sweep)
        if len(asked) == 2:
            backlog.work[1] = [ref(1, 2)]  # a burst begins while the sweep works
        return look(sweep)

    backlog.pending_by_shard = pending_by_shard  # type: ignore[method-assign]
    processor = Processor(backlog)
    run(backlog, replace(POLICY, sweep=True, idle_seconds=0.0), processor=processor)
    assert sorted(k for b in processor.batches for k in b) == [ref(0, 1).key, ref(1, 2).key]
    assert asked[0] is True and not any(asked[1:])
