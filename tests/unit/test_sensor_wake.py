"""When an announcement also starts an intake run: always with none draining, more only for a burst."""

from __future__ import annotations

from dvkn_pipeline.events.sensor import STARTING_SECONDS, Waker
from dvkn_pipeline.storage.announced import DrainPresence, wake_another_run
from schemas.settings import Settings
from tests.fakes import MemoryBucket
from tests.loaded_modules import loaded_by

TWO = Settings(intake_concurrency=2, scale_out_uploads=500)


def test_with_no_run_draining_every_announcement_wakes_one() -> None:
    assert wake_another_run(0, 0, 1, concurrency=2, scale_out=500)
    # even when one was woken a moment ago: an upload must never wait for the sweep
    assert wake_another_run(0, 5, 1, concurrency=2, scale_out=500)


def test_a_trickle_stays_with_the_run_draining() -> None:
    assert not wake_another_run(1, 0, 499, concurrency=2, scale_out=500)


def test_a_burst_wakes_runs_up_to_the_concurrency() -> None:
    assert wake_another_run(1, 0, 500, concurrency=2, scale_out=500)
    assert not wake_another_run(2, 0, 5000, concurrency=2, scale_out=500)
    assert not wake_another_run(1, 1, 5000, concurrency=2, scale_out=500)  # one on its way


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_sensor_counts_a_woken_run_until_it_has_had_time_to_start() -> None:
    bucket, clock = MemoryBucket(), Clock()
    DrainPresence(bucket, TWO.state_prefix, "first-run", clock=lambda: 1e12).beat()
    wake = Waker(clock)
    assert wake(bucket, TWO, 800)  # a burst beside one draining run: one more
    clock.now += 2
    assert not wake(bucket, TWO, 800)  # that one is still starting
    clock.now += STARTING_SECONDS
    assert wake(bucket, TWO, 800)  # it never said it was draining: wake again


def test_the_sensor_wakes_no_run_for_a_trickle_beside_a_draining_one() -> None:
    bucket = MemoryBucket()
    DrainPresence(bucket, TWO.state_prefix, "first-run", clock=lambda: 1e12).beat()
    assert not Waker(Clock())(bucket, TWO, 3)
    assert Waker(Clock())(MemoryBucket(), TWO, 3)  # nobody draining


def test_a_woken_run_that_is_draining_counts_once() -> None:
    bucket, clock = MemoryBucket(), Clock()
    wake = Waker(clock)
    assert wake(bucket, TWO, 800)  # nobody draining: the first run
    DrainPresence(bucket, TWO.state_prefix, "first-run", clock=lambda: 1e12).beat()
    clock.now += 3
    assert wake(bucket, TWO, 800)  # it drains now; the burst gets its second run
    clock.now += 3
    assert not wake(bucket, TWO, 800)  # and no third


def test_the_sensor_process_loads_neither_prefect_nor_boto3_nor_httpx() -> None:
    """The always-on sensor stays small: Prefect's client (~100 MiB) and boto3 with its
    service model (~20 MiB) were most of its resident size; httpx, with the rich and
    click its command line imports, ~8 MiB (it posts with the MinIO SDK's urllib3)."""
    unwanted = ["prefect", "boto3", "botocore", "httpx", "rich"]
    assert loaded_by("dvkn_pipeline.events.sensor", unwanted) == []
