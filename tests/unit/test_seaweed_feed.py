"""SeaweedFS's change feed read as uploads, on a recording of ``weed filer.meta.tail``.

The recording (tests/fixtures/seaweedfs/meta-tail.txt) is what the feed printed
while f0, f1, f2 (10 bytes "x") were PUT to a versioned bucket and f0 again
(10 bytes "y"), on weed 4.48 as ``local_stack`` starts it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dvkn_pipeline.events.seaweed_feed import FeedDecoder, event_time_ns, uploads_in

RECORDING = (Path(__file__).parents[1] / "fixtures" / "seaweedfs" / "meta-tail.txt").read_text()
PREFIX = "incoming/00004/2025-Q1/"


def test_every_new_object_version_is_an_upload_with_its_version_and_etag() -> None:
    events = FeedDecoder().feed(RECORDING)
    refs = list(uploads_in(events, "dvkn", "incoming/"))
    assert [r.key for r in refs] == [PREFIX + n for n in ("f0.csv", "f1.csv", "f2.csv", "f0.csv")]
    x, y = hashlib.md5(b"x" * 10).hexdigest(), hashlib.md5(b"y" * 10).hexdigest()
    assert [r.etag for r in refs] == [x, x, x, y]
    # The overwrite of f0 is a version of its own: both are uploads to judge.
    assert len({r.upload_id for r in refs}) == 4 and len({r.version_id for r in refs}) == 4
    assert all(r.size == 10 and r.last_modified is not None for r in refs)


def test_the_feed_may_arrive_in_any_pieces() -> None:
    decoder = FeedDecoder()
    whole = FeedDecoder().feed(RECORDING)
    pieces = []
    for start in range(0, len(RECORDING), 777):
        pieces += decoder.feed(RECORDING[start : start + 777])
    assert pieces == whole
    assert [event_time_ns(e) for e in pieces] == sorted(event_time_ns(e) for e in pieces)


def test_other_buckets_and_prefixes_announce_nothing() -> None:
    events = FeedDecoder().feed(RECORDING)
    assert list(uploads_in(events, "other", "incoming/")) == []
    assert list(uploads_in(events, "dvkn", "incoming/00008/")) == []
