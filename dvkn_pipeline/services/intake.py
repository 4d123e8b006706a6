"""Process a batch of uploads: what is pending, fetch, judge, write receipts, commit.

The order of writes is what gives an exactly-once effect under at-least-once
delivery: receipts (and, on an unversioned bucket, an archive copy) first, then
facts (inserted once per submission), then the ledger (inserted once per
upload) as the commit point. A crash anywhere before the ledger commit leaves
the upload pending, and the retry redoes the same idempotent writes; facts
without a ledger row are never live, so they cannot change a total.

``IntakeService`` does the work over ports (``services/ports.py``);
``Intake`` is the handle ``services/wiring.build_intake`` gives callers: the
intake and the refresher over one bucket and one set of tables.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from dvkn_pipeline.judging.judge import Judgement, Screening, Upload, judge_uploads, screen
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import HierarchyCatalog
from dvkn_pipeline.reference.keys import version_archive_key
from dvkn_pipeline.reference.periods import Period, PeriodError
from dvkn_pipeline.rollup.spatial import live_submissions
from dvkn_pipeline.services.ports import LedgerTables, ObjectStore
from dvkn_pipeline.services.refresh import Refresher
from dvkn_pipeline.services.steering import ref_of, select_uploads, standing_override
from dvkn_pipeline.storage import leases, markers
from dvkn_pipeline.storage.announced import announced, settle
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.leases import Lease, by_shard, in_upload_order
from dvkn_pipeline.storage.tables import Tables
from dvkn_pipeline.storage.uploader_records import recorded_uploader
from schemas.catalogue import Aggregation
from schemas.records import FileOutcome, ReplacedVersion, ReprocessRequest, Status, UploadRef
from schemas.rules import RuleSet
from schemas.settings import Settings
from schemas.tables import facts_schema

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    outcomes: list[FileOutcome] = field(default_factory=list)
    #: Period -> units whose uploads this batch recorded (what a refresh must revisit).
    changed: dict[str, set[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def periods(self) -> set[str]:
        return set(self.changed)

    def count(self, status: Status) -> int:
        return sum(o.status is status for o in self.outcomes)


@dataclass(frozen=True)
class IntakeService:
    """Everything a batch needs, injected: store, tables, reference data, settings."""

    bucket: ObjectStore
    tables: LedgerTables
    catalogue: Catalogue
    hierarchies: HierarchyCatalog
    rules: RuleSet
    settings: Settings

    def pending(
        self, ledger: pl.DataFrame | None = None, limit: int | None = None
    ) -> list[UploadRef]:
        """Uploads under ``incoming/`` the ledger has not recorded (the reconciliation sweep).

        Oldest first, so a batch judges the earlier of two identical uploads first.
        """
        ledger = self.tables.read_ledger() if ledger is None else ledger
        seen = set(ledger["upload_id"].to_list())
        out: list[UploadRef] = []
        for ref in self.bucket.list_uploads(self.settings.incoming_prefix):
            if ref.upload_id not in seen:
                out.append(ref)
                if limit is not None and len(out) >= limit:
                    break
        if limit is None or len(out) < limit:
            out.extend(self.unrecorded_versions(seen | {r.upload_id for r in out}))
        return in_upload_order(out[:limit] if limit is not None else out)

    def unrecorded_versions(self, seen: set[str]) -> list[UploadRef]:
        """Versions under ``incoming/`` the ledger lacks that the listing of keys cannot show.

        A key overwritten before any event named its earlier version, and the
        same bytes uploaded again under the same name (same ETag, so the same
        ``key#etag`` as the first), are only visible in the bucket's version
        listing; each gets its ledger row and receipt like any upload (the
        repeat as a duplicate). Empty on a store that keeps no versions.
        """
        return [
            ref
            for ref in self.bucket.list_versions(self.settings.incoming_prefix)
            if ref.upload_id not in seen
        ]

    def pending_announced(self) -> list[UploadRef]:
        """Uploads the change-feed sensor announced that the ledger has not recorded.

        A few small announcement objects instead of a listing of ``incoming/``;
        announcements whose uploads are all recorded are removed on the way.
        An announced version whose ``key#etag`` is already recorded is either the
        same upload announced again or the same bytes uploaded again under the
        same name; only that key's version listing tells, so it is read for those
        keys alone (a repeat then counts as an upload of its own, a duplicate).
        Oldest first, like ``pending``.
        """
        queued = announced(self.bucket, self.settings.state_prefix)
        if not queued:
            return []
        ledger = self.tables.read_ledger()
        recorded = set(ledger["upload_id"].to_list())
        # The exact versions recorded: an announced version among them is that upload again
        # (an announcement not yet settled), and needs no version listing. Listing the
        # versions of every recorded key of a half-done announcement was ~90% of this
        # call's time in a burst (one LIST per file, every round).
        versions = set(ledger["archive_key"].drop_nulls().to_list())
        repeats = self._repeats(
            {
                r.key
                for refs in queued.values()
                for r in refs
                if r.upload_id in recorded
                and r.version_id
                and version_archive_key(r.key, r.version_id) not in versions
            },
            recorded,
        )
        resolved = {
            key: [repeats.get((r.key, r.version_id), r) for r in refs]
            for key, refs in queued.items()
        }
        settle(self.bucket, resolved, recorded)
        fresh = {
            r.upload_id: r
            for refs in resolved.values()
            for r in refs
            if r.upload_id not in recorded
        }
        return in_upload_order(list(fresh.values()))

    def _repeats(
        self, keys: set[str], recorded: set[str]
    ) -> dict[tuple[str, str | None], UploadRef]:
        """Unrecorded repeat versions of ``keys`` (same bytes again), by key and version."""
        out: dict[tuple[str, str | None], UploadRef] = {}
        for key in sorted(keys):
            for v in self.bucket.list_versions(key):
                if v.key == key and v.repeat and v.upload_id not in recorded:
                    out[(key, v.version_id)] = v
        return out

    def pending_by_shard(self, sweep: bool = False) -> dict[int, list[UploadRef]]:
        """Pending uploads grouped by shard: one read serves a whole round of batches.

        With the change feed, what was announced; a ``sweep`` (the reconciliation
        run) and the other event sources list ``incoming/``.
        """
        from_feed = self.settings.event_source == "seaweedfs-feed" and not sweep
        refs = self.pending_announced() if from_feed else self.pending()
        return by_shard(refs, self.settings.shards, self.settings.incoming_prefix)

    def change_token(self) -> str | None:
        """Changes whenever an event source (sensor or webhook) announces new uploads.

        Lets an idle run wait on two HEAD requests instead of listing every
        object under ``incoming/`` again and again.
        """
        return markers.change_token(self.bucket, self.settings.state_prefix)

    def lease(
        self, shard: int, owner: str, gone: Callable[[str], bool] | None = None
    ) -> Lease | None:
        """The shard's lease for ``owner``; ``gone`` may free one a finished holder left behind."""
        key = f"{self.settings.state_prefix}leases/shard-{shard:03d}.json"
        return leases.acquire(
            self.bucket, key, owner, timedelta(seconds=self.settings.lease_seconds), gone=gone
        )

    def release(self, held: Iterable[Lease]) -> None:
        for lease in held:
            leases.release(self.bucket, lease)

    def process(self, refs: Iterable[UploadRef], flow_run_id: str | None = None) -> BatchResult:
        result = BatchResult()
        ledger = self.tables.read_ledger()  # the batch's one read of the ledger
        done = set(ledger["upload_id"].to_list())
        todo = [r for r in {r.upload_id: r for r in refs}.values() if r.upload_id not in done]
        screened = {r.upload_id: screen(r, self.settings) for r in todo}
        histories = self._histories(ledger, screened.values())
        with ThreadPoolExecutor(max_workers=self.settings.file_concurrency) as pool:
            fetched = list(
                pool.map(
                    lambda r: self._fetch(r, screened[r.upload_id], histories, exact=r.pinned),
                    todo,
                )
            )
        uploads = [u for u in fetched if u is not None]
        result.skipped = [r.key for r, u in zip(todo, fetched, strict=True) if u is None]
        self._judge_and_commit(
            uploads, _first_accepted(ledger), flow_run_id, result, _LiveVersions(ledger)
        )
        return result

    def rejudge(self, request: ReprocessRequest, flow_run_id: str | None = None) -> BatchResult:
        """Judge recorded uploads again with today's rules (and a steward's decision, if any).

        Appends each upload's next attempt to the ledger; the newest attempt is
        what every reader sees. The units they were and are now recorded under
        become stale, so the next refresh recomputes them. Raises
        ``NothingToReprocessError`` when no recorded upload matches.
        """
        result = BatchResult()
        ledger = self.tables.read_ledger()
        rows = select_uploads(ledger, request).to_dicts()
        targets = {r["upload_id"] for r in rows}
        refs = [ref_of(r, self.bucket.name) for r in rows]
        screened = [screen(r, self.settings) for r in refs]
        histories = self._histories(ledger, screened)

        def fetch(item: tuple[dict[str, object], UploadRef, Screening]) -> Upload | None:
            row, ref, screening = item
            up = self._fetch(ref, screening, histories, exact=True)
            if up is None:
                return None
            attempt = row["attempt"]
            assert isinstance(attempt, int)  # the ledger's attempt column is Int64, never null
            return Upload(
                up.ref,
                up.content,
                up.uploader_unit,
                up.history,
                attempt=attempt + 1,
                reprocess_reason=request.reason,
                override=request.override or standing_override(row),
                screening=up.screening,
            )

        with ThreadPoolExecutor(max_workers=self.settings.file_concurrency) as pool:
            fetched = list(pool.map(fetch, zip(rows, refs, screened, strict=True)))
        uploads = [u for u in fetched if u is not None]
        result.skipped = [r.key for r, u in zip(refs, fetched, strict=True) if u is None]
        # The uploads judged again must not count as their own earlier copies.
        others = _first_accepted(ledger.filter(~pl.col("upload_id").is_in(sorted(targets))))
        kept = ledger.filter(~pl.col("upload_id").is_in(sorted(targets)))
        self._judge_and_commit(uploads, others, flow_run_id, result, _LiveVersions(kept))
        for row in rows:  # where they were recorded before also changes
            if row["period"] is not None and row["unit_code"] is not None:
                result.changed.setdefault(str(row["period"]), set()).add(str(row["unit_code"]))
        return result

    def _judge_and_commit(
        self,
        uploads: list[Upload],
        accepted: dict[str, tuple[datetime, str]],
        flow_run_id: str | None,
        result: BatchResult,
        live: Mapping[tuple[str, str], ReplacedVersion] | None = None,
    ) -> None:
        judgements = judge_uploads(
            uploads,
            catalogue=self.catalogue,
            hierarchies=self.hierarchies,
            settings=self.settings,
            accepted_submissions=accepted,
            flow_run_id=flow_run_id,
            one_copy_per_batch=True,
            live_versions=live,
        )
        with ThreadPoolExecutor(max_workers=self.settings.file_concurrency) as pool:
            list(pool.map(self._write_receipts, judgements))
        facts = [j.facts for j in judgements if j.facts is not None]
        if facts:
            batch = pl.concat(facts, how="vertical_relaxed")
            self.tables.add_facts(facts_schema(self.catalogue.dimension_columns).validate(batch))
        if judgements:
            self.tables.add_to_ledger([j.row for j in judgements])
        result.outcomes = [j.outcome for j in judgements]
        for j in judgements:
            if j.row.period is not None and j.row.unit_code is not None:
                result.changed.setdefault(j.row.period, set()).add(j.row.unit_code)

    def _histories(
        self, ledger: pl.DataFrame, screened: Iterable[Screening]
    ) -> dict[str, pl.DataFrame]:
        """Each unit's accepted indicator totals of earlier periods of the same type, newest first.

        Loaded once per batch for the periods its keys name, so the history
        warning costs one read per earlier period, not one per file.
        """
        depth = max(
            (r.history_periods for r in self.rules.rules if r.kind == "history_outlier"),
            default=0,
        )
        periods: set[Period] = set()
        for s in screened:
            if s.key is not None:
                with contextlib.suppress(PeriodError):
                    periods.add(Period.parse(s.key.period_text))
        earlier = sorted({q for p in periods for q in p.previous(depth)}, reverse=True)
        sums = [i.code for i in self.catalogue.reported if i.aggregation is Aggregation.SUM]
        frames = []
        for q in earlier:
            live = live_submissions(ledger, q.code)
            if live.is_empty():
                continue
            facts = self.tables.read_facts(q.code, live["submission_id"].to_list())
            frames.append(
                facts.filter(pl.col("indicator").is_in(sums))
                .group_by("unit_code", "indicator")
                .agg(pl.col("value").sum())
                .with_columns(pl.lit(q.code).alias("period"))
            )
        if not frames:
            return {}
        history = pl.concat(frames).sort("period", descending=True)
        return {str(unit[0]): frame for unit, frame in history.group_by("unit_code")}

    def _fetch(
        self,
        ref: UploadRef,
        screening: Screening,
        histories: dict[str, pl.DataFrame],
        exact: bool = False,
    ) -> Upload | None:
        """The upload's bytes; ``exact``: the recorded version, even if the key was overwritten."""
        if screening.refusal is not None:
            # A bad key or a listed size over the limit: refused without downloading.
            return Upload(ref, b"", None, None, downloaded=False, screening=screening)
        if self.settings.uploader_records:
            # Before downloading: a file still waiting for its record is not fetched in vain.
            recorded = recorded_uploader(self.bucket, ref, self.settings.state_prefix)
            young = _younger_than(ref, self.settings.uploader_record_grace_seconds)
            if recorded is None and young and not exact:
                log.info("waiting for the uploader record of %s", ref.key)
                return None  # still pending: the next listing takes it
            ref = ref.model_copy(update={"uploader": recorded or ref.uploader})
        limit = self.settings.limits.max_file_bytes
        got: tuple[bytes, str | None] | None
        if exact and ref.version_id:
            data = self.bucket.get_object_version(ref.key, ref.version_id)
            got = None if data is None else (data, ref.version_id)
        else:
            got = self.bucket.get_version(ref.key, ref.etag or None, max_bytes=limit)
            if got is None and ref.version_id:
                # Announced by its version (change feed, webhook) and overwritten since:
                # judge that version, its receipt beside the newer one's. Skipping it would
                # leave it pending for good, and its announcement with it.
                data = self.bucket.get_object_version(ref.key, ref.version_id)
                if data is not None:
                    got = (data, ref.version_id)
                    ref = ref.model_copy(update={"pinned": True})
        if got is None:
            # Replaced or deleted since listed: its newer version has an event of its own.
            log.warning("skipping %s: object changed or gone since it was listed", ref.key)
            return None
        content, version = got
        ref = ref.model_copy(update={"version_id": version})
        if len(content) > limit:  # the size was not known in advance: stop at the limit
            ref = ref.model_copy(update={"size": ref.size or len(content)})
            return Upload(ref, b"", None, None, downloaded=False, screening=screening)
        if ref.last_modified is None:
            # Take only what the reference lacks: its version and recorded uploader stay.
            head = self.bucket.head(ref.key)
            if head is not None:
                ref = ref.model_copy(
                    update={
                        "last_modified": head.last_modified,
                        "size": ref.size or head.size,
                        "uploader": ref.uploader or head.uploader,
                    }
                )
        uploader_unit = ref.uploader if ref.uploader and ref.uploader.isdigit() else None
        history = histories.get(screening.key.unit_code) if screening.key else None
        return Upload(ref, content, uploader_unit, history, screening=screening)

    def _write_receipts(self, j: Judgement) -> None:
        attempt = j.row.attempt
        if attempt and j.ref.version_id is None and self.bucket.exists(j.receipt_key):
            # An unversioned bucket keeps no earlier receipt versions: copy it aside.
            self.bucket.copy(
                j.receipt_key, j.receipt_key.removesuffix(".json") + f".attempt-{attempt - 1}.json"
            )
        # One object per receipt: the human form is rendered on read (``dvkn receipt``,
        # ``judging.receipt.render_markdown``). A second PUT per file was a quarter of a
        # batch's store time in a burst.
        self.bucket.put_json(j.receipt_key, j.receipt.model_dump(mode="json"))
        if j.ref.version_id is None and not self.bucket.exists(j.archive_key):
            # An unversioned bucket: keep a content-addressed copy instead.
            self.bucket.copy(j.ref.key, j.archive_key)


@dataclass(frozen=True)
class Intake:
    """The intake and the refresher over one bucket and one set of tables.

    What ``build_intake`` hands to flows, the CLI and tests: one object that
    holds the clients and reference data, with the two services' operations.
    """

    bucket: Bucket
    tables: Tables
    catalogue: Catalogue
    hierarchies: HierarchyCatalog
    rules: RuleSet
    settings: Settings
    #: Who holds this intake's refresh leases (with the thread, see ``_refresh_lock``).
    lease_owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    @functools.cached_property
    def uploads(self) -> IntakeService:
        return IntakeService(
            self.bucket, self.tables, self.catalogue, self.hierarchies, self.rules, self.settings
        )

    @functools.cached_property
    def refresher(self) -> Refresher:
        return Refresher(
            self.bucket,
            self.tables,
            self.catalogue,
            self.hierarchies,
            self.settings,
            self.lease_owner,
        )

    def pending(
        self, ledger: pl.DataFrame | None = None, limit: int | None = None
    ) -> list[UploadRef]:
        return self.uploads.pending(ledger, limit)

    def pending_by_shard(self, sweep: bool = False) -> dict[int, list[UploadRef]]:
        return self.uploads.pending_by_shard(sweep)

    def change_token(self) -> str | None:
        return self.uploads.change_token()

    def lease(
        self, shard: int, owner: str, gone: Callable[[str], bool] | None = None
    ) -> Lease | None:
        return self.uploads.lease(shard, owner, gone)

    def release(self, held: Iterable[Lease]) -> None:
        self.uploads.release(held)

    def process(self, refs: Iterable[UploadRef], flow_run_id: str | None = None) -> BatchResult:
        return self.uploads.process(refs, flow_run_id)

    def rejudge(self, request: ReprocessRequest, flow_run_id: str | None = None) -> BatchResult:
        return self.uploads.rejudge(request, flow_run_id)

    def refresh(self, periods: Iterable[str]) -> dict[str, pl.DataFrame]:
        return self.refresher.refresh(periods)

    def stale_periods(self) -> dict[str, set[str]]:
        return self.refresher.stale_periods()

    def _refresh_lock(self, period: str) -> contextlib.AbstractContextManager[None]:
        return self.refresher.refresh_lock(period)


def _younger_than(ref: UploadRef, seconds: float) -> bool:
    if ref.last_modified is None:
        return False
    return (datetime.now(UTC) - ref.last_modified).total_seconds() < seconds


def _first_accepted(ledger: pl.DataFrame) -> dict[str, tuple[datetime, str]]:
    """Content hash -> (upload time, key) of its first accepted upload (for duplicates).

    Built from the columns, not row by row: a batch builds it from the whole ledger,
    and ``iter_rows`` made a dict per accepted upload (~10,000 after one burst).
    """
    first = (
        ledger.filter(pl.col("status") == "accepted")
        .sort("received_at", "key")
        .group_by("sha256", maintain_order=True)
        .first()
    )
    return dict(
        zip(
            first["sha256"].to_list(),
            zip(first["received_at"].to_list(), first["key"].to_list(), strict=True),
            strict=True,
        )
    )


class _LiveVersions(Mapping[tuple[str, str], ReplacedVersion]):
    """(unit, period) -> the accepted upload in force, for "replaces version N" on a receipt.

    The same order as ``rollup.spatial.live_submissions``: highest report
    version, then the latest upload. A batch reads it for its own accepted files
    only, so a version is made on lookup: building one per unit and period of the
    ledger (~10,000 after one burst) took each batch a few hundred milliseconds.
    """

    def __init__(self, ledger: pl.DataFrame) -> None:
        self._live = (
            ledger.filter(pl.col("status") == "accepted")
            .sort(["unit_code", "period", "report_version", "received_at", "key"])
            .group_by(["unit_code", "period"], maintain_order=True)
            .last()
        )
        pairs = zip(self._live["unit_code"].to_list(), self._live["period"].to_list(), strict=True)
        self._row = {pair: i for i, pair in enumerate(pairs)}

    def __getitem__(self, pair: tuple[str, str]) -> ReplacedVersion:
        r = self._live.row(self._row[pair], named=True)
        return ReplacedVersion(
            key=r["key"],
            report_version=r["report_version"],
            received_at=r["received_at"],
            submission_id=r["submission_id"],
        )

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
