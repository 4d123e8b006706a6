"""How pending uploads are split into shards (pure: no store involved)."""

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dvkn_pipeline.storage.leases import by_shard
from schemas.records import UploadRef

T0 = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def ref(unit: str, name: str, second: int) -> UploadRef:
    return UploadRef(
        bucket="b",
        key=f"incoming/{unit}/2025-Q1/{name}",
        etag=f"{unit}{name}",
        last_modified=T0 + timedelta(seconds=second),
    )


uploads = st.lists(
    st.builds(
        ref,
        st.sampled_from(["00004", "00007", "00016", "00019", "00022"]),
        st.sampled_from(["bao-cao.csv", "gui-lai.csv", "a.csv", "z.xlsx"]),
        st.integers(0, 5),
    ),
    unique_by=lambda r: r.key,
    max_size=20,
)


@given(refs=uploads, shards=st.integers(1, 8), order=st.randoms())
def test_a_units_uploads_share_one_shard_oldest_first_whatever_the_listing_order(
    refs: list[UploadRef], shards: int, order: random.Random
) -> None:
    """A re-send must be judged after its original, whichever run takes which shard first."""
    listed = list(refs)
    order.shuffle(listed)
    got = by_shard(listed, shards)
    assert sorted(r.key for rs in got.values() for r in rs) == sorted(r.key for r in refs)
    for rs in got.values():
        assert rs == sorted(rs, key=lambda r: (r.last_modified, r.key))
    home = {r.key.split("/")[1]: s for s, rs in got.items() for r in rs}
    for s, rs in got.items():
        assert all(home[r.key.split("/")[1]] == s for r in rs)


def test_a_re_send_listed_before_its_original_is_still_queued_after_it() -> None:
    original = ref("00016", "bao-cao.csv", 0)
    resend = ref("00016", "a-gui-lai.csv", 3)  # listed first: its name sorts first
    assert by_shard([resend, original], 4) == by_shard([original, resend], 4)
    [queue] = by_shard([resend, original], 4).values()
    assert queue == [original, resend]


def test_keys_outside_the_layout_still_get_a_shard() -> None:
    stray = UploadRef(bucket="b", key="incoming/loose.csv", etag="e")
    assert [r for rs in by_shard([stray], 4).values() for r in rs] == [stray]
