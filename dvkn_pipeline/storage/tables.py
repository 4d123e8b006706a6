"""Delta Lake tables on the object store: ledger, facts, roll-up, completeness, units.

Other tools open them with ``Settings().storage_options()`` (see the README,
"Reading the tables"); the ``units`` table is the dimension that names the
codes of the facts and roll-ups, one set of rows per hierarchy version.

Delta commits are atomic on S3 through conditional puts, so concurrent
writers cannot interleave a half-written batch. The ledger and the facts are
append-only and read back de-duplicated (an upload counts once, by its
upload id; a submission's facts once, as exact copies), and a period's roll-up
is replaced as a whole. Replaying a batch therefore changes nothing, which is
what makes at-least-once events give an exactly-once effect, and appends
never conflict or rescan the table, so a commit costs the same at the
10,000th file as at the first (a MERGE would rescan the whole table).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import polars as pl
from arro3.core import RecordBatchReader, Table
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from schemas.records import ApprovalRow, LedgerRow
from schemas.settings import Settings
from schemas.tables import (
    APPROVALS_SCHEMA,
    COMPLETENESS_SCHEMA,
    LEDGER_SCHEMA,
    PERIOD_PATTERN,
    UNITS_SCHEMA,
    empty_approvals,
    empty_facts,
    empty_marks,
    repeated_hashes,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

LEDGER = "ledger"
FACTS = "facts"
ROLLUP = "rollup"
COMPLETENESS = "completeness"
MARKS = "refresh_marks"
UNITS = "units"
APPROVALS = "approvals"


def ledger_polars_schema() -> dict[str, pl.DataType]:
    return {name: col.dtype.type for name, col in LEDGER_SCHEMA.columns.items()}


def _retry_commit(action: Callable[[], T], what: str, attempts: int = 12) -> T:
    """Retry a Delta commit that lost a race to another writer."""
    for attempt in range(attempts):
        try:
            return action()
        except CommitFailedError as exc:  # pragma: no cover - timing dependent
            if attempt == attempts - 1:
                raise
            delay = min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5)
            log.info("commit conflict on %s (%s), retrying in %.2fs", what, exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def version_at(table: DeltaTable, as_of: datetime) -> int | None:
    """The last version committed at or before ``as_of`` (naive means UTC), or None.

    Read from the commit history rather than ``load_as_version(datetime)``,
    which answers a time before the table's first commit with version 0, as if
    the table had existed then.
    """
    moment = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    limit_ms = moment.timestamp() * 1000
    versions = [
        int(c["version"])
        for c in table.history()
        if c.get("timestamp") is not None and c["timestamp"] <= limit_ms
    ]
    return max(versions) if versions else None


def parse_as_of(text: str) -> datetime:
    """A moment typed by a person: ISO date and time, with a zone or in local time.

    ``2025-04-20T10:00`` and ``2025-04-20 10:00`` are this machine's local
    time (a steward in Hanoi means Hanoi time), ``...+07:00`` or ``...Z`` are
    taken as given, and a bare date means the end of that day.
    """
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"thời điểm không hợp lệ {text!r} / not a date and time: {text!r} "
            "(use e.g. 2025-04-20T10:00 or 2025-04-20T10:00+07:00)"
        ) from None
    if len(raw) == 10:  # a date alone: the table as it stood at the end of that day
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    return moment if moment.tzinfo is not None else moment.astimezone()


class Tables:
    """The pipeline's tables, addressed by settings (bucket, prefix, credentials)."""

    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.options = settings.delta_options()
        self.scan_options = settings.scan_options()
        #: Open tables, per thread (a DeltaTable must not be updated by two threads at once).
        self._open = threading.local()

    def uri(self, name: str) -> str:
        return self.settings.table_uri(name)

    def _table(self, name: str) -> DeltaTable | None:
        """The table at its newest version, or None if it does not exist yet.

        Kept open and brought up to date incrementally: opening a table replays
        its log from the last checkpoint (up to a hundred commits, one GET each),
        and a single late upload's batch and refresh opened a dozen tables, twice
        each, which was most of its three seconds after a deadline burst. An
        update reads only the commits since the version held.
        """
        cache: dict[str, DeltaTable] = self._open.__dict__.setdefault("tables", {})
        table = cache.get(name)
        if table is not None:
            try:
                table.update_incremental()
                return table
            except Exception:  # replaced or removed underneath: open it afresh
                cache.pop(name, None)
        try:
            table = DeltaTable(self.uri(name), storage_options=self.options)
        except TableNotFoundError:
            return None
        cache[name] = table
        return table

    def _scan(
        self, name: str, empty: pl.DataFrame, predicate: pl.Expr | None = None, **kw: Any
    ) -> pl.LazyFrame:
        table = self._table(name)
        if table is None:
            return empty.lazy()
        # The open table, not its URI: polars would open (and replay) the log again.
        source: DeltaTable | str = self.uri(name) if kw else table
        lf = pl.scan_delta(source, storage_options=self.scan_options, **kw)
        return lf if predicate is None else lf.filter(predicate)

    def _read(
        self, name: str, empty: pl.DataFrame, predicate: pl.Expr | None = None, **kw: Any
    ) -> pl.DataFrame:
        return self._scan(name, empty, predicate, **kw).collect()

    # -- ledger ---------------------------------------------------------------

    def empty_ledger(self) -> pl.DataFrame:
        return pl.DataFrame(schema=ledger_polars_schema())

    def read_ledger(self, period: str | None = None, all_attempts: bool = False) -> pl.DataFrame:
        """One row per upload: its newest judgement (highest attempt).

        A replayed attempt's later rows are ignored (the first written wins).
        ``period`` selects the uploads whose newest judgement is in that period
        (a reprocess may move an upload to another unit or period).
        ``all_attempts`` keeps every judgement of every upload (its history).
        """
        return newest_judgements(self._read(LEDGER, self.empty_ledger()), period, all_attempts)

    def add_to_ledger(self, rows: Sequence[LedgerRow]) -> None:
        """Record processed uploads (the commit point of a batch)."""
        if not rows:
            return
        # A ledger written before attempts and overrides existed gains the columns.
        self._append(LEDGER, ledger_frame(rows), partition_by=None, schema_mode="merge")

    # -- facts ----------------------------------------------------------------

    def add_facts(self, facts: pl.DataFrame) -> None:
        """Append a batch's facts (a Delta commit holds all or none of them)."""
        if facts.is_empty():
            return
        self._append(FACTS, facts, partition_by=["period"])

    def scan_facts(self, period: str, submission_ids: list[str]) -> pl.LazyFrame:
        """The facts ``read_facts`` gives, as a query to stream rather than a frame to hold.

        A full refresh sums every live fact of a period (some 260,000 rows for
        10,051 communes); streamed, they are never all in memory at once.
        """
        empty = empty_facts(self.catalogue.dimension_columns)
        # Collect it before this thread opens the facts table again: the query reads the
        # open table as it is when collected, and ``without_copies`` has already read it once.
        return without_copies(self._scan(FACTS, empty, _facts_of(period, submission_ids)))

    def read_facts(self, period: str, submission_ids: list[str] | None = None) -> pl.DataFrame:
        """Facts of a period; a submission written twice (a replayed batch) counts once."""
        empty = empty_facts(self.catalogue.dimension_columns)
        return self._read(FACTS, empty, _facts_of(period, submission_ids)).unique(
            maintain_order=True
        )

    # -- approvals ------------------------------------------------------------------

    def add_approvals(self, rows: Sequence[ApprovalRow]) -> None:
        """Append stewards' actions (one commit for a bulk action): the history is never rewritten."""
        if rows:
            self._append(APPROVALS, approvals_frame(rows), partition_by=["period"])

    def read_approvals(self, period: str | None = None) -> pl.DataFrame:
        """Every recorded action (of one period), in the order they were taken."""
        pred = pl.col("period") == period if period else None
        return self._read(APPROVALS, empty_approvals(), pred).sort("at", maintain_order=True)

    # -- roll-up and completeness --------------------------------------------------

    def replace_period(self, name: str, period: str, frame: pl.DataFrame) -> None:
        """Atomically replace one period's rows (the roll-up is derived, so rewriting is safe)."""
        self._replace(name, frame, f"period = {_period_literal(period)}")

    def replace_units(self, name: str, period: str, units: list[str], frame: pl.DataFrame) -> None:
        """Atomically replace the rows of some units in one period (an incremental refresh)."""
        if not units:
            return
        listed = ", ".join("'" + u.replace("'", "''") + "'" for u in units)
        self._replace(
            name, frame, f"period = {_period_literal(period)} AND unit_code IN ({listed})"
        )

    def _replace(self, name: str, frame: pl.DataFrame, predicate: str) -> None:
        """Overwrite the rows matching ``predicate`` with ``frame`` in one commit (creating the table)."""

        def write() -> None:
            opts: dict[str, Any] = {"partition_by": ["period"]}
            table = self._table(name)
            if table is not None:
                opts["predicate"] = predicate
            _write(
                self.uri(name) if table is None else table,
                frame,
                mode="overwrite" if table is not None else "append",
                storage_options=self.options,
                **opts,
            )

        _retry_commit(write, name)

    def read_marks(self, period: str | None = None) -> pl.DataFrame:
        """What each unit's roll-up rows were last computed from (see ``freshness``)."""
        pred = pl.col("period") == period if period else None
        return self._read(MARKS, empty_marks(), pred)

    def write_marks(self, period: str, marks: pl.DataFrame, units: list[str] | None) -> None:
        """Replace a period's marks, or only those of ``units`` (an incremental refresh)."""
        if units is None:
            self.replace_period(MARKS, period, marks)
        else:
            self.replace_units(MARKS, period, units, marks)

    # -- the units dimension --------------------------------------------------------

    def write_units(self, frame: pl.DataFrame) -> None:
        """Write one hierarchy version's units (:func:`units_frame`), once per version.

        The rows of a version never change, so a version already in the table is
        left as it is (no commit), and a new one replaces nothing else.
        """
        versions = frame["hierarchy_version"].unique().to_list()
        if len(versions) != 1:
            raise ValueError(f"one hierarchy version at a time, got {versions}")
        version = str(versions[0])
        if self._table(UNITS) is not None:
            have = (
                pl.scan_delta(self.uri(UNITS), storage_options=self.scan_options)
                .filter(pl.col("hierarchy_version") == version)
                .select(pl.len())
                .collect()
                .item()
            )
            if have == frame.height:
                return
        literal = version.replace("'", "''")

        def write() -> None:
            exists = self._table(UNITS) is not None
            opts: dict[str, Any] = {"partition_by": ["hierarchy_version"]}
            if exists:
                opts["predicate"] = f"hierarchy_version = '{literal}'"
            _write(
                self.uri(UNITS),
                UNITS_SCHEMA.validate(frame),
                mode="overwrite" if exists else "append",
                storage_options=self.options,
                **opts,
            )

        _retry_commit(write, UNITS)

    def read_units(self, hierarchy_version: str | None = None) -> pl.DataFrame:
        empty = pl.DataFrame(schema={n: c.dtype.type for n, c in UNITS_SCHEMA.columns.items()})
        pred = pl.col("hierarchy_version") == hierarchy_version if hierarchy_version else None
        return self._read(UNITS, empty, pred)

    def rollup_periods(self) -> list[str]:
        """Periods that have a roll-up (the partitions of the roll-up table)."""
        if self._table(ROLLUP) is None:
            return []
        frame = (
            pl.scan_delta(self.uri(ROLLUP), storage_options=self.scan_options)
            .select("period")
            .unique()
        )
        return sorted(frame.collect()["period"].to_list())

    def read_rollup(self, period: str, as_of: datetime | None = None) -> pl.DataFrame:
        return self._read_period(ROLLUP, period, as_of)

    def read_rollup_units(self, period: str, units: list[str]) -> pl.DataFrame:
        """The current roll-up rows of some units of a period (the filter reaches the scan)."""
        if not units:
            return pl.DataFrame()
        return self._read(
            ROLLUP, pl.DataFrame(), (pl.col("period") == period) & pl.col("unit_code").is_in(units)
        )

    def read_completeness(self, period: str, as_of: datetime | None = None) -> pl.DataFrame:
        empty = pl.DataFrame(
            schema={n: c.dtype.type for n, c in COMPLETENESS_SCHEMA.columns.items()}
        )
        out = self._read_period(COMPLETENESS, period, as_of)
        return out if not out.is_empty() else empty

    def _read_period(self, name: str, period: str, as_of: datetime | None) -> pl.DataFrame:
        if as_of is None:  # ``_read`` checks the table exists: opening its log twice cost a read
            return self._read(name, pl.DataFrame(), pl.col("period") == period)
        table = self._table(name)
        if table is None:
            return pl.DataFrame()
        version = version_at(table, as_of)
        if version is None:  # the table did not exist yet: nothing had been reported upward
            return pl.DataFrame()
        return (
            pl.scan_delta(self.uri(name), version=version, storage_options=self.scan_options)
            .filter(pl.col("period") == period)
            .collect()
        )

    # -- helpers ----------------------------------------------------------------

    def _append(
        self,
        name: str,
        rows: pl.DataFrame,
        partition_by: list[str] | None,
        schema_mode: str | None = None,
    ) -> None:
        opts: dict[str, Any] = {"partition_by": partition_by} if partition_by else {}
        if schema_mode:
            opts["schema_mode"] = schema_mode

        def write() -> None:
            # Two writers creating the table at once: deltalake raises the loser's
            # CommitFailedError (version 0 already exists), which _retry_commit retries.
            table = self._table(name)
            _write(
                self.uri(name) if table is None else table,
                rows,
                mode="append",
                storage_options=self.options,
                **opts,
            )

        _retry_commit(write, name)


def units_frame(hierarchy: Hierarchy) -> pl.DataFrame:
    """A hierarchy version as rows of the units table (``UNITS_SCHEMA``)."""
    return hierarchy.units_frame().select(
        pl.lit(hierarchy.version_id).alias("hierarchy_version"),
        "unit_code",
        "name",
        pl.col("level").alias("unit_level"),
        "division_type",
        "parent_code",
        pl.lit(hierarchy.valid_from, dtype=pl.Date).alias("valid_from"),
        pl.lit(hierarchy.valid_to, dtype=pl.Date).alias("valid_to"),
    )


def approvals_frame(rows: Sequence[ApprovalRow]) -> pl.DataFrame:
    """Typed approval rows as the approvals table's frame, checked against its contract."""
    frame = pl.DataFrame([r.model_dump() for r in rows], schema=empty_approvals().schema)
    return APPROVALS_SCHEMA.validate(frame)


def ledger_frame(rows: Sequence[LedgerRow]) -> pl.DataFrame:
    """Typed rows as the ledger table's frame, checked against its contract."""
    frame = pl.DataFrame([r.as_record() for r in rows], schema=ledger_polars_schema())
    return LEDGER_SCHEMA.validate(frame)


def newest_judgements(
    rows: pl.DataFrame, period: str | None = None, all_attempts: bool = False
) -> pl.DataFrame:
    """The ledger as readers see it, from its raw rows (see ``Tables.read_ledger``)."""
    empty = pl.DataFrame(schema=ledger_polars_schema())
    rows = _with_attempt(rows, empty)
    rows = rows.sort("processed_at").unique(
        subset=["upload_id", "attempt"], keep="first", maintain_order=True
    )
    if not all_attempts:
        rows = (
            rows.sort("attempt", descending=True, maintain_order=True)
            .unique(subset="upload_id", keep="first", maintain_order=True)
            .sort("processed_at", maintain_order=True)
        )
    return rows.filter(pl.col("period") == period) if period else rows


#: Rows per Arrow batch handed to deltalake. Its partitioned writer copies and sorts each
#: batch it is given whole: a full refresh's roll-up (281,000 rows, 13 MiB) written as one
#: batch took ~90 MiB more at the write, the same rows in batches of 8,192 took ~18 MiB.
#: The table gets one file per partition either way.
WRITE_BATCH_ROWS = 8192


def _write(
    target: str | DeltaTable,
    frame: pl.DataFrame,
    *,
    mode: Literal["append", "overwrite"],
    storage_options: dict[str, str],
    **options: Any,
) -> None:
    """``frame.write_delta`` with the frame streamed in batches of ``WRITE_BATCH_ROWS``."""
    write_deltalake(target, _batches(frame), mode=mode, storage_options=storage_options, **options)


def _batches(frame: pl.DataFrame) -> RecordBatchReader:
    batches = [
        batch
        for part in frame.iter_slices(WRITE_BATCH_ROWS)
        for batch in Table.from_arrow(part).to_batches()
    ]
    return RecordBatchReader.from_batches(Table.from_arrow(frame.head(0)).schema, batches)


def without_copies(facts: pl.LazyFrame, row_hash: pl.Expr | None = None) -> pl.LazyFrame:
    """``facts.unique()`` without a hash table of every row while the facts stream.

    A submission's facts are repeated only when its batch was written twice (a crash
    between the facts and the ledger commit, then the retry), so nearly every row is
    unique. A first pass keeps only each row's 8-byte hash and finds the hashes that
    occur more than once; rows with a hash of their own are certainly unique and stream
    on, and only rows whose hash repeats (the copies, or rows that merely collide) go
    through an exact ``unique``. A full refresh of 10,051 communes held ~40 MiB less.
    ``row_hash``: the hash to use (a test forces collisions with it).
    """
    row_hash = pl.struct(pl.all()).hash() if row_hash is None else row_hash
    repeated = repeated_hashes(facts, row_hash)
    if repeated.is_empty():
        return facts
    copies = row_hash.is_in(repeated.implode())
    return pl.concat([facts.filter(~copies), facts.filter(copies).unique()])


def _facts_of(period: str, submission_ids: list[str] | None) -> pl.Expr:
    """The facts of a period, of the given submissions only when they are given."""
    pred = pl.col("period") == period
    return pred if submission_ids is None else pred & pl.col("submission_id").is_in(submission_ids)


def _period_literal(period: str) -> str:
    """A period as a SQL literal for a Delta predicate; anything but a period code is refused.

    The code is checked against the contract's pattern rather than escaped, so
    a malformed period can never widen the rows an overwrite replaces.
    """
    if re.fullmatch(PERIOD_PATTERN, period) is None:
        raise ValueError(f"not a period code: {period!r}")
    return f"'{period}'"


def _with_attempt(rows: pl.DataFrame, empty: pl.DataFrame) -> pl.DataFrame:
    """Rows of a ledger older than attempts read as first judgements without overrides."""
    missing = [
        pl.lit(None, dtype=empty.schema[c]).alias(c) for c in empty.columns if c not in rows.columns
    ]
    if missing:
        rows = rows.with_columns(missing)
    return rows.with_columns(pl.col("attempt").fill_null(0))
