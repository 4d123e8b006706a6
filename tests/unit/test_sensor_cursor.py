from datetime import UTC, datetime, timedelta

from dvkn_pipeline.events.sensor_cursor import SensorCursor, advance
from schemas.records import UploadRef

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def ref(key: str, etag: str = "e1", at: datetime = T0) -> UploadRef:
    return UploadRef(bucket="b", key=key, etag=etag, last_modified=at)


def test_first_poll_announces_everything() -> None:
    new, _ = advance(SensorCursor(), [ref("a"), ref("b")])
    assert [r.key for r in new] == ["a", "b"]


def test_second_poll_announces_only_new_objects() -> None:
    _, cur = advance(SensorCursor(), [ref("a")])
    new, _ = advance(cur, [ref("a"), ref("b", at=T0 + timedelta(seconds=1))])
    assert [r.key for r in new] == ["b"]


def test_an_object_in_the_same_second_as_the_watermark_is_not_missed() -> None:
    _, cur = advance(SensorCursor(), [ref("a")])
    new, _ = advance(cur, [ref("a"), ref("late-listed", at=T0)])
    assert [r.key for r in new] == ["late-listed"]


def test_an_overwritten_object_is_announced_again_as_a_new_version() -> None:
    _, cur = advance(SensorCursor(), [ref("a", "e1")])
    new, _ = advance(cur, [ref("a", "e2", T0 + timedelta(seconds=5))])
    assert [(r.key, r.etag) for r in new] == [("a", "e2")]


def test_old_entries_leave_the_cursor_so_it_stays_small() -> None:
    _, cur = advance(SensorCursor(), [ref(f"k{i}", at=T0) for i in range(100)])
    _, cur = advance(cur, [ref("new", at=T0 + timedelta(hours=1))])
    assert list(cur.recent) == ["new#e1"]


def test_cursor_survives_a_json_round_trip() -> None:
    _, cur = advance(SensorCursor(), [ref("a")])
    again = SensorCursor.model_validate_json(cur.model_dump_json())
    assert advance(again, [ref("a")])[0] == []
