"""Shard leases on the object store, so concurrent workers split a burst between them.

Uploads are spread over a fixed number of shards by a hash of their identity.
A flow run processes a shard only while it holds the shard's lease: an object
written with a conditional put (``If-None-Match: *`` to take a free lease,
``If-Match: <etag>`` to take over an expired one), so two workers never hold
the same shard. Leases only split the work; correctness does not depend on
them (every write is idempotent and Delta commits detect concurrent writers),
so a lease lost to a crash merely delays its shard until it expires. A
holder known to have ended (its flow run failed when the object store went
away, so its release failed too) does not even delay it: whoever asks with a
``gone`` predicate that says so takes the lease over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dvkn_pipeline.reference.keys import parse_incoming_key
from schemas.records import UploadRef

_EARLIEST = datetime.min.replace(tzinfo=UTC)


def shard_of(upload_id: str, shards: int) -> int:
    return int(hashlib.sha1(upload_id.encode()).hexdigest()[:8], 16) % shards


def in_upload_order(refs: Iterable[UploadRef]) -> list[UploadRef]:
    """Oldest upload first (then by key): the order in which copies of the same bytes are judged."""
    return sorted(refs, key=lambda r: (r.last_modified or _EARLIEST, r.key))


def by_shard(
    refs: Iterable[UploadRef], shards: int, incoming_prefix: str = "incoming/"
) -> dict[int, list[UploadRef]]:
    """Pending uploads by shard: all of a unit's uploads in one shard, oldest first.

    The same bytes sent twice count once, for the earlier upload; the later one
    is a duplicate only if it is judged after the earlier. Shards are taken in
    any order, by any run, so a unit's uploads must share one shard (copies
    under another unit's folder are refused anyway: the key names the unit).
    """
    out: dict[int, list[UploadRef]] = {}
    for ref in in_upload_order(refs):
        key = parse_incoming_key(ref.key, incoming_prefix)
        out.setdefault(shard_of(key.unit_code if key else ref.upload_id, shards), []).append(ref)
    return out


@dataclass(frozen=True)
class Lease:
    key: str
    etag: str
    owner: str
    expires_at: datetime


class LeaseStore(Protocol):
    """What a lease needs from a store: read with a version tag, and compare-and-swap."""

    def read_with_etag(self, key: str) -> tuple[bytes, str] | None: ...

    def put_conditional(self, key: str, data: bytes, if_match: str | None = None) -> str | None: ...


def acquire(
    store: LeaseStore,
    key: str,
    owner: str,
    ttl: timedelta,
    now: datetime | None = None,
    gone: Callable[[str], bool] | None = None,
) -> Lease | None:
    """Take the lease at ``key`` if it is free or expired; None if someone else holds it.

    ``gone(holder)`` is asked only about another holder's unexpired lease: True
    means that holder has ended for good and will write nothing more, so the
    lease is taken over instead of waited out.
    """
    now = now or datetime.now(UTC)
    expires = now + ttl
    body = json.dumps({"owner": owner, "expires_at": expires.isoformat()}).encode()
    current = store.read_with_etag(key)
    if current is None:
        etag = store.put_conditional(key, body)
    else:
        held = json.loads(current[0])
        other = str(held["owner"])
        live = other != owner and datetime.fromisoformat(held["expires_at"]) > now
        if live and (gone is None or not gone(other)):
            return None
        etag = store.put_conditional(key, body, if_match=current[1])
    if etag is None:
        return None  # another worker won the race
    return Lease(key, etag, owner, expires)


def release(store: LeaseStore, lease: Lease) -> None:
    """Hand the shard back at once (expire the lease) unless someone took it over."""
    body = json.dumps(
        {"owner": lease.owner, "expires_at": datetime(1970, 1, 1, tzinfo=UTC).isoformat()}
    )
    store.put_conditional(lease.key, body.encode(), if_match=lease.etag)
