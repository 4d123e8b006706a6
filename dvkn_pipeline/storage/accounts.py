"""Console accounts kept as one JSON document on the object store.

``<state prefix>console/accounts.json`` in the report bucket: the embedded
default and production (MinIO) both have the store already, the console needs
its credentials anyway (it signs uploads and reads receipts), and no extra
volume or database has to be backed up. Writes are compare-and-swap on the
document's ETag, so two ``dvkn users add`` at once never lose an account.
Only the pipeline's own credential can read ``_state/`` (a commune's MinIO
policy is limited to its ``incoming/<unit>/``); passwords are stored only as
argon2 hashes.
"""

from __future__ import annotations

from typing import Protocol

from schemas.roles import AccountBook


class _Cas(Protocol):
    def read_with_etag(self, key: str) -> tuple[bytes, str] | None: ...

    def put_conditional(self, key: str, data: bytes, if_match: str | None = None) -> str | None: ...


def accounts_key(state_prefix: str = "_state/") -> str:
    return f"{state_prefix}console/accounts.json"


class StoredAccounts:
    """The account book on a bucket: read it with its version, write it if unchanged."""

    def __init__(self, bucket: _Cas, state_prefix: str = "_state/") -> None:
        self.bucket = bucket
        self.key = accounts_key(state_prefix)

    def load(self) -> tuple[AccountBook, str | None]:
        found = self.bucket.read_with_etag(self.key)
        if found is None:
            return AccountBook(), None
        data, etag = found
        return AccountBook.model_validate_json(data), etag

    def save(self, book: AccountBook, etag: str | None) -> bool:
        """Write ``book`` if the document is still at ``etag`` (absent: None); False if not."""
        data = book.model_dump_json(indent=1).encode("utf-8")
        return self.bucket.put_conditional(self.key, data, etag) is not None
