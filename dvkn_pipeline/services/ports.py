"""What the intake, the refresh and the drain loop need from the world, as Protocols.

The services are written against these, not against boto3, Delta Lake or
Prefect, so their policy (what is pending, what is judged, what is written in
which order, when to list and when to refresh) can be unit-tested with
in-memory stand-ins (``tests/fakes.py``). The real adapters are
``storage.bucket.Bucket``, ``storage.tables.Tables`` and the Prefect event
sink in ``flows/process_uploads.py``; the fakes only add speed: the
exactly-once guarantees are still proven against the real servers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import polars as pl

from dvkn_pipeline.storage.leases import LeaseStore
from schemas.records import ApprovalRow, LedgerRow, UploadRef
from schemas.roles import AccountBook


class ObjectStore(LeaseStore, Protocol):
    """One bucket: uploads, receipts, archive copies, markers and leases."""

    @property
    def name(self) -> str: ...

    def list_uploads(self, prefix: str) -> Iterator[UploadRef]: ...

    def list_versions(self, prefix: str) -> Iterator[UploadRef]: ...

    def head(self, key: str) -> UploadRef | None: ...

    def exists(self, key: str) -> bool: ...

    def get_version(
        self, key: str, etag: str | None = None, max_bytes: int | None = None
    ) -> tuple[bytes, str | None] | None: ...

    def get_object_version(self, key: str, version_id: str) -> bytes | None: ...

    def get_json(self, key: str) -> Any | None: ...

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str: ...

    def put_json(self, key: str, payload: Any) -> None: ...

    def copy(self, source_key: str, dest_key: str) -> None: ...

    def delete(self, key: str) -> None: ...


class LedgerTables(Protocol):
    """What a batch reads and commits: the ledger (the commit point) and the facts."""

    def read_ledger(
        self, period: str | None = None, all_attempts: bool = False
    ) -> pl.DataFrame: ...

    def add_to_ledger(self, rows: Sequence[LedgerRow]) -> None: ...

    def add_facts(self, facts: pl.DataFrame) -> None: ...

    def read_facts(self, period: str, submission_ids: list[str] | None = None) -> pl.DataFrame: ...


class RollupTables(Protocol):
    """What a refresh reads and rewrites: the ledger and facts in, roll-ups and marks out."""

    def read_ledger(
        self, period: str | None = None, all_attempts: bool = False
    ) -> pl.DataFrame: ...

    def read_facts(self, period: str, submission_ids: list[str] | None = None) -> pl.DataFrame: ...

    def scan_facts(self, period: str, submission_ids: list[str]) -> pl.LazyFrame: ...

    def read_marks(self, period: str | None = None) -> pl.DataFrame: ...

    def write_marks(self, period: str, marks: pl.DataFrame, units: list[str] | None) -> None: ...

    def read_rollup_units(self, period: str, units: list[str]) -> pl.DataFrame: ...

    def read_completeness(self, period: str) -> pl.DataFrame: ...

    def replace_period(self, name: str, period: str, frame: pl.DataFrame) -> None: ...

    def write_units(self, frame: pl.DataFrame) -> None: ...

    def replace_units(
        self, name: str, period: str, units: list[str], frame: pl.DataFrame
    ) -> None: ...


class ApprovalTables(Protocol):
    """What approvals read and append: the ledger and facts, and the approvals history."""

    def read_ledger(
        self, period: str | None = None, all_attempts: bool = False
    ) -> pl.DataFrame: ...

    def read_facts(self, period: str, submission_ids: list[str] | None = None) -> pl.DataFrame: ...

    def read_approvals(self, period: str | None = None) -> pl.DataFrame: ...

    def add_approvals(self, rows: Sequence[ApprovalRow]) -> None: ...


class EventSink(Protocol):
    """Where batch-level events go (Prefect's event bus in a flow run)."""

    def emit(self, event: str, resource: Mapping[str, str], payload: Mapping[str, Any]) -> None: ...


class AccountStore(Protocol):
    """The console's account book, read with its version and written only if unchanged."""

    def load(self) -> tuple[AccountBook, str | None]: ...

    def save(self, book: AccountBook, etag: str | None) -> bool: ...


class UploadSigner(Protocol):
    """Signs a browser's upload of one exact key and size, straight to the object store."""

    def presigned_put(self, key: str, size: int, expires_in: int) -> str:
        """A URL the browser PUTs exactly ``size`` bytes to, at exactly ``key``."""
        ...
