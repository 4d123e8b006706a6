"""In-memory stand-ins for the ports in ``dvkn_pipeline/services/ports.py``.

They make the intake and the drain loop testable in milliseconds. They do not
replace the real-server tests: conditional puts, Delta commits and Prefect
are still proven against SeaweedFS and a Prefect server in tests/integration.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.storage.tables import approvals_frame, ledger_frame, newest_judgements
from schemas.records import ApprovalRow, LedgerRow, UploadRef
from schemas.tables import COMPLETENESS_SCHEMA, empty_approvals, empty_facts, empty_marks

T0 = datetime(2025, 3, 16, 8, 0, tzinfo=UTC)


@dataclass
class _Object:
    data: bytes
    etag: str
    last_modified: datetime
    uploader: str | None = None


class MemoryBucket:
    """An unversioned bucket (so the intake also writes archive copies), with call counts."""

    def __init__(self, name: str = "mem") -> None:
        self.name = name
        self.objects: dict[str, _Object] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._clock = itertools.count()

    def _count(self, op: str) -> None:
        with self._lock:
            self.calls[op] = self.calls.get(op, 0) + 1

    def _put(self, key: str, data: bytes, uploader: str | None = None) -> str:
        etag = '"' + hashlib.md5(data + key.encode(), usedforsecurity=False).hexdigest() + '"'
        seconds = next(self._clock)
        self.objects[key] = _Object(data, etag, T0 + timedelta(seconds=seconds), uploader)
        return etag

    def upload(self, key: str, data: bytes, uploader: str | None = None) -> UploadRef:
        """What a commune's upload does (test setup, not part of the port)."""
        with self._lock:
            self._put(key, data, uploader)
        ref = self.head(key)
        assert ref is not None
        return ref

    # -- ObjectStore -------------------------------------------------------------

    def list_uploads(self, prefix: str) -> Iterator[UploadRef]:
        self._count("list_uploads")
        with self._lock:
            keys = sorted(k for k in self.objects if k.startswith(prefix))
        for key in keys:
            ref = self._ref(key)
            if ref is not None:
                yield ref.model_copy(update={"uploader": None})  # a listing has no metadata

    def list_versions(self, prefix: str) -> Iterator[UploadRef]:
        """An unversioned store keeps no earlier versions: nothing for the version sweep."""
        self._count("list_versions")
        return iter(())

    def _ref(self, key: str) -> UploadRef | None:
        obj = self.objects.get(key)
        if obj is None:
            return None
        return UploadRef(
            bucket=self.name,
            key=key,
            etag=obj.etag.strip('"'),
            size=len(obj.data),
            last_modified=obj.last_modified,
            uploader=obj.uploader,
        )

    def head(self, key: str) -> UploadRef | None:
        self._count("head")
        return self._ref(key)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def get_version(
        self, key: str, etag: str | None = None, max_bytes: int | None = None
    ) -> tuple[bytes, str | None] | None:
        self._count("get")
        obj = self.objects.get(key)
        if obj is None or (etag and obj.etag.strip('"') != etag.strip('"')):
            return None
        data = obj.data if max_bytes is None else obj.data[: max_bytes + 1]
        return data, None

    def get_object_version(self, key: str, version_id: str) -> bytes | None:
        return None  # unversioned: no version is ever named

    def get_json(self, key: str) -> Any | None:
        obj = self.objects.get(key)
        return None if obj is None else json.loads(obj.data)

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        with self._lock:
            return self._put(key, data).strip('"')

    def put_json(self, key: str, payload: Any) -> None:
        self.put_bytes(key, json.dumps(payload, default=str).encode())

    def copy(self, source_key: str, dest_key: str) -> None:
        with self._lock:
            self._put(dest_key, self.objects[source_key].data)

    def delete(self, key: str) -> None:
        with self._lock:
            self.objects.pop(key, None)

    def read_with_etag(self, key: str) -> tuple[bytes, str] | None:
        obj = self.objects.get(key)
        return None if obj is None else (obj.data, obj.etag)

    def put_conditional(self, key: str, data: bytes, if_match: str | None = None) -> str | None:
        with self._lock:
            current = self.objects.get(key)
            if (if_match is None and current is not None) or (
                if_match is not None and (current is None or current.etag != if_match)
            ):
                return None
            return self._put(key, data)


class MemoryTables:
    """The ledger, facts, roll-ups, completeness and marks as frames in memory."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.ledger: pl.DataFrame = ledger_frame([])
        self.facts = empty_facts(catalogue.dimension_columns)
        self.frames: dict[str, pl.DataFrame] = {}
        self.approvals = empty_approvals()
        self.ledger_reads = 0
        self._lock = threading.Lock()

    def read_ledger(self, period: str | None = None, all_attempts: bool = False) -> pl.DataFrame:
        self.ledger_reads += 1
        return newest_judgements(self.ledger, period, all_attempts)

    def add_to_ledger(self, rows: Sequence[LedgerRow]) -> None:
        if rows:
            with self._lock:
                self.ledger = pl.concat([self.ledger, ledger_frame(rows)])

    def add_facts(self, facts: pl.DataFrame) -> None:
        with self._lock:
            self.facts = pl.concat([self.facts, facts], how="diagonal_relaxed")

    def read_facts(self, period: str, submission_ids: list[str] | None = None) -> pl.DataFrame:
        pred = pl.col("period") == period
        if submission_ids is not None:
            pred = pred & pl.col("submission_id").is_in(submission_ids)
        return self.facts.filter(pred).unique(maintain_order=True)

    def scan_facts(self, period: str, submission_ids: list[str]) -> pl.LazyFrame:
        return self.read_facts(period, submission_ids).lazy()

    def add_approvals(self, rows: Sequence[ApprovalRow]) -> None:
        if rows:
            with self._lock:
                self.approvals = pl.concat([self.approvals, approvals_frame(rows)])

    def read_approvals(self, period: str | None = None) -> pl.DataFrame:
        rows = self.approvals.filter(pl.col("period") == period) if period else self.approvals
        return rows.sort("at", maintain_order=True)

    def _frame(self, name: str, empty: pl.DataFrame | None = None) -> pl.DataFrame:
        return self.frames.get(name, pl.DataFrame() if empty is None else empty)

    def read_marks(self, period: str | None = None) -> pl.DataFrame:
        marks = self._frame("refresh_marks", empty_marks())
        return marks.filter(pl.col("period") == period) if period else marks

    def write_marks(self, period: str, marks: pl.DataFrame, units: list[str] | None) -> None:
        if units is None:
            self.replace_period("refresh_marks", period, marks)
        else:
            self.replace_units("refresh_marks", period, units, marks)

    def read_rollup(self, period: str, as_of: datetime | None = None) -> pl.DataFrame:
        frame = self._frame("rollup")
        return frame.filter(pl.col("period") == period) if not frame.is_empty() else frame

    def read_rollup_units(self, period: str, units: list[str]) -> pl.DataFrame:
        frame = self.read_rollup(period)
        return frame.filter(pl.col("unit_code").is_in(units)) if not frame.is_empty() else frame

    def rollup_periods(self) -> list[str]:
        frame = self._frame("rollup")
        return [] if frame.is_empty() else sorted(set(frame["period"].to_list()))

    def read_completeness(self, period: str) -> pl.DataFrame:
        empty = pl.DataFrame(
            schema={n: c.dtype.type for n, c in COMPLETENESS_SCHEMA.columns.items()}
        )
        frame = self._frame("completeness")
        out = frame.filter(pl.col("period") == period) if not frame.is_empty() else frame
        return out if not out.is_empty() else empty

    def write_units(self, frame: pl.DataFrame) -> None:
        self.units = frame

    def replace_period(self, name: str, period: str, frame: pl.DataFrame) -> None:
        self._replace(name, frame, pl.col("period") == period)

    def replace_units(self, name: str, period: str, units: list[str], frame: pl.DataFrame) -> None:
        if units:
            self._replace(
                name, frame, (pl.col("period") == period) & pl.col("unit_code").is_in(units)
            )

    def _replace(self, name: str, frame: pl.DataFrame, matching: pl.Expr) -> None:
        with self._lock:
            current = self.frames.get(name)
            kept = current.filter(~matching) if current is not None else None
            self.frames[name] = (
                frame if kept is None else pl.concat([kept, frame], how="diagonal_relaxed")
            )


@dataclass
class RecordedEvents:
    """An event sink that remembers what it was told."""

    sent: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def emit(self, event: str, resource: Mapping[str, str], payload: Mapping[str, Any]) -> None:
        self.sent.append((event, dict(resource), dict(payload)))

    def named(self, event: str) -> list[dict[str, str]]:
        return [resource for name, resource, _ in self.sent if name == event]
