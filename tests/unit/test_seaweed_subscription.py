"""The gRPC subscription hands on what ``weed filer.meta.tail`` printed, so both read alike.

The recording (tests/fixtures/seaweedfs/meta-tail.txt, see test_seaweed_feed.py) is
turned back into the filer's protobuf responses, as the subscription receives them.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf.json_format import ParseDict

from dvkn_pipeline.events.filer_pb import filer_pb2
from dvkn_pipeline.events.seaweed_feed import FeedDecoder, event_time_ns, uploads_in
from dvkn_pipeline.events.seaweed_subscription import feed_event

RECORDING = (Path(__file__).parents[1] / "fixtures" / "seaweedfs" / "meta-tail.txt").read_text()


def _responses() -> list[filer_pb2.SubscribeMetadataResponse]:
    return [
        ParseDict(event, filer_pb2.SubscribeMetadataResponse(), ignore_unknown_fields=True)
        for event in FeedDecoder().feed(RECORDING)
    ]


def test_the_subscription_finds_the_uploads_the_tail_printed() -> None:
    tail = FeedDecoder().feed(RECORDING)
    subscribed = [feed_event(r) for r in _responses()]
    from_tail = list(uploads_in(tail, "dvkn", "incoming/"))
    assert len(from_tail) == 4
    assert list(uploads_in(subscribed, "dvkn", "incoming/")) == from_tail


def test_events_that_cannot_be_uploads_keep_only_their_position() -> None:
    responses = _responses()
    events = [feed_event(r) for r in responses]
    assert [event_time_ns(e) for e in events] == [r.ts_ns for r in responses]
    skipped = [e for e in events if set(e) == {"tsNs"}]
    # Directories, the .versions pointer and versions turning non-current: most of the feed.
    assert len(skipped) >= len(events) // 2
    assert all(event_time_ns(e) > 0 for e in skipped)
