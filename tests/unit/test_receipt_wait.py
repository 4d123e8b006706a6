"""``dvkn upload --wait`` / ``dvkn receipt --wait``: the waiting itself (issue 11, point 7)."""

from __future__ import annotations

from typing import Any

from dvkn_pipeline.services.uploads import wait_for_receipt
from schemas.settings import Settings

KEY = "incoming/00004/2025-Q1/bc.xlsx"


class _Store:
    """A bucket whose receipt appears after some polls (``get_json`` is all the wait reads)."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls = 0

    def get_json(self, key: str) -> Any:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _wait(store: _Store, **kw: Any) -> Any:
    clock = _Clock()
    return wait_for_receipt(
        store,  # type: ignore[arg-type]
        Settings(),
        KEY,
        clock=clock,
        sleep=clock.sleep,
        **kw,
    )


def test_the_receipt_is_returned_when_it_arrives() -> None:
    receipt = {"etag": "abc", "processed_at": "t1", "key": KEY, "attempt": 0}
    store = _Store([None, None, receipt])
    assert _wait(store, timeout=10, etag='"abc"') == receipt
    assert store.calls == 3


def test_a_same_name_reupload_waits_for_its_own_receipt_not_the_old_one() -> None:
    old = {"etag": "abc", "processed_at": "t1", "key": KEY, "attempt": 0}
    new = {"etag": "abc", "processed_at": "t2", "key": KEY, "attempt": 0}
    store = _Store([old, old, new])
    assert _wait(store, timeout=10, etag="abc", before=old) == new


def test_no_receipt_in_time_gives_none_after_the_timeout() -> None:
    store = _Store([None])
    assert _wait(store, timeout=5, poll=1.0) is None
    assert 5 <= store.calls <= 7
