"""Process a batch of uploads and refresh the roll-ups they touch.

The order of writes is what gives an exactly-once effect under at-least-once
delivery: receipts (and, on an unversioned bucket, an archive copy) first, then
facts (inserted once per submission), then the ledger (inserted once per
upload) as the commit point. A crash anywhere before the ledger commit leaves
the upload pending, and the retry redoes the same idempotent writes; facts
without a ledger row are never live, so they cannot change a total.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from dvkn_pipeline.judging.judge import Judgement, Upload, judge_uploads, refused_before_parsing
from dvkn_pipeline.judging.receipt import render_markdown
from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, HierarchyCatalog
from dvkn_pipeline.reference.keys import parse_incoming_key
from dvkn_pipeline.reference.periods import Period, PeriodError
from dvkn_pipeline.rollup.freshness import marks_for, stale, upload_counts
from dvkn_pipeline.rollup.spatial import (
    affected_units,
    completeness,
    completeness_ancestors,
    live_submissions,
    rollup,
    rollup_ancestors,
    units_to_read,
)
from dvkn_pipeline.services.steering import ref_of, select_uploads, standing_override
from dvkn_pipeline.storage import leases, markers
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.leases import Lease, by_shard, in_upload_order
from dvkn_pipeline.storage.tables import Tables
from dvkn_pipeline.storage.uploader_records import recorded_uploader
from schemas.catalogue import Aggregation
from schemas.records import FileOutcome, ReprocessRequest, Status, UploadRef
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
class Intake:
    """Everything a batch needs, injected: store, tables, reference data, settings."""

    bucket: Bucket
    tables: Tables
    catalogue: Catalogue
    hierarchies: HierarchyCatalog
    settings: Settings
    #: Who holds this intake's refresh leases (with the thread, see ``_refresh_lock``).
    lease_owner: str = field(default_factory=lambda: uuid.uuid4().hex)

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
        return in_upload_order(out)

    def pending_by_shard(self) -> dict[int, list[UploadRef]]:
        """Pending uploads grouped by shard: one listing serves a whole round of batches."""
        return by_shard(self.pending(), self.settings.shards, self.settings.incoming_prefix)

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
        ledger = self.tables.read_ledger()
        done = set(ledger["upload_id"].to_list())
        todo = [r for r in {r.upload_id: r for r in refs}.values() if r.upload_id not in done]
        histories = self._histories(ledger, todo)
        with ThreadPoolExecutor(max_workers=self.settings.file_concurrency) as pool:
            fetched = list(pool.map(lambda r: self._fetch(r, histories), todo))
        uploads = [u for u in fetched if u is not None]
        result.skipped = [r.key for r, u in zip(todo, fetched, strict=True) if u is None]
        self._judge_and_commit(uploads, _first_accepted(ledger), flow_run_id, result)
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
        histories = self._histories(ledger, refs)

        def fetch(item: tuple[dict[str, object], UploadRef]) -> Upload | None:
            row, ref = item
            up = self._fetch(ref, histories, exact=True)
            if up is None:
                return None
            return Upload(
                up.ref,
                up.content,
                up.uploader_unit,
                up.history,
                attempt=int(str(row["attempt"])) + 1,
                reprocess_reason=request.reason,
                override=request.override or standing_override(row),
            )

        with ThreadPoolExecutor(max_workers=self.settings.file_concurrency) as pool:
            fetched = list(pool.map(fetch, zip(rows, refs, strict=True)))
        uploads = [u for u in fetched if u is not None]
        result.skipped = [r.key for r, u in zip(refs, fetched, strict=True) if u is None]
        # The uploads judged again must not count as their own earlier copies.
        others = _first_accepted(ledger.filter(~pl.col("upload_id").is_in(sorted(targets))))
        self._judge_and_commit(uploads, others, flow_run_id, result)
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
    ) -> None:
        judgements = _dedupe_within_batch(
            judge_uploads(
                uploads,
                catalogue=self.catalogue,
                hierarchies=self.hierarchies,
                settings=self.settings,
                accepted_submissions=accepted,
                flow_run_id=flow_run_id,
            )
        )
        with ThreadPoolExecutor(max_workers=self.settings.file_concurrency) as pool:
            list(pool.map(self._write_receipts, judgements))
        facts = [j.facts for j in judgements if j.facts is not None]
        if facts:
            batch = pl.concat(facts, how="vertical_relaxed")
            self.tables.add_facts(facts_schema(self.catalogue.dimension_columns).validate(batch))
        if judgements:
            self.tables.add_to_ledger(
                pl.DataFrame(
                    [j.ledger_row for j in judgements], schema=self.tables.empty_ledger().schema
                )
            )
        result.outcomes = [j.outcome for j in judgements]
        for j in judgements:
            period, unit = j.ledger_row["period"], j.ledger_row["unit_code"]
            if period is not None and unit is not None:
                result.changed.setdefault(str(period), set()).add(str(unit))

    def _histories(
        self, ledger: pl.DataFrame, refs: Iterable[UploadRef]
    ) -> dict[str, pl.DataFrame]:
        """Each unit's accepted indicator totals of earlier periods of the same type, newest first.

        Loaded once per batch for the periods its keys name, so the history
        warning costs one read per earlier period, not one per file.
        """
        depth = max(
            (r.history_periods for r in load_rules().rules if r.kind == "history_outlier"),
            default=0,
        )
        periods: set[Period] = set()
        for ref in refs:
            key = parse_incoming_key(ref.key, self.settings.incoming_prefix)
            if key is not None:
                with contextlib.suppress(PeriodError):
                    periods.add(Period.parse(key.period_text))
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
        self, ref: UploadRef, histories: dict[str, pl.DataFrame], exact: bool = False
    ) -> Upload | None:
        """The upload's bytes; ``exact``: the recorded version, even if the key was overwritten."""
        if refused_before_parsing(ref, 0, self.settings) is not None:
            # A bad key or a listed size over the limit: refused without downloading.
            return Upload(ref, b"", None, None, downloaded=False)
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
        if got is None:
            # Replaced or deleted since listed: its newer version has an event of its own.
            log.warning("skipping %s: object changed or gone since it was listed", ref.key)
            return None
        content, version = got
        ref = ref.model_copy(update={"version_id": version})
        if len(content) > limit:  # the size was not known in advance: stop at the limit
            ref = ref.model_copy(update={"size": ref.size or len(content)})
            return Upload(ref, b"", None, None, downloaded=False)
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
        key = parse_incoming_key(ref.key, self.settings.incoming_prefix)
        history = histories.get(key.unit_code) if key else None
        return Upload(ref, content, uploader_unit, history)

    def _write_receipts(self, j: Judgement) -> None:
        attempt = int(str(j.ledger_row["attempt"]))
        if attempt and j.ref.version_id is None and self.bucket.exists(j.receipt_key):
            # An unversioned bucket keeps no earlier receipt versions: copy it aside.
            self.bucket.client.copy_object(
                Bucket=self.bucket.name,
                Key=j.receipt_key.removesuffix(".json") + f".attempt-{attempt - 1}.json",
                CopySource={"Bucket": self.bucket.name, "Key": j.receipt_key},
            )
        self.bucket.put_json(j.receipt_key, j.receipt.model_dump(mode="json"))
        self.bucket.put_bytes(
            j.receipt_key.removesuffix(".json") + ".md",
            render_markdown(j.receipt).encode("utf-8"),
            "text/markdown; charset=utf-8",
        )
        if j.ref.version_id is None and not self.bucket.exists(j.archive_key):
            # An unversioned bucket: keep a content-addressed copy instead.
            self.bucket.client.copy_object(
                Bucket=self.bucket.name,
                Key=j.archive_key,
                CopySource={"Bucket": self.bucket.name, "Key": j.ref.key},
            )

    def refresh(
        self, periods: Iterable[str], changed: dict[str, set[str]] | None = None
    ) -> dict[str, pl.DataFrame]:
        """Bring the roll-up and completeness of each period up to date with the ledger.

        What to recompute comes from the ledger itself (see ``freshness``): the
        units with uploads no refresh has seen, including those of a worker
        that died between its ledger commit and its refresh. ``changed`` only
        adds units to revisit. A few units recompute only their ancestors,
        each from its children's stored totals; many units, or a period with
        no roll-up yet, recompute the whole period. Returns each period's
        completeness rows for the units it rewrote (none if nothing was stale).
        """
        out: dict[str, pl.DataFrame] = {}
        for code in sorted(set(periods)):
            with self._refresh_lock(code):
                comp = self._refresh_period(code, (changed or {}).get(code, set()))
            if comp is not None:
                out[code] = comp
        return out

    @contextlib.contextmanager
    def _refresh_lock(self, period: str) -> Iterator[None]:
        """One refresher per period at a time, whoever calls (flow, CLI, test worker).

        Two refreshes interleaving their writes could leave an older roll-up
        under newer marks; a lease on the object store orders them. A holder
        that dies frees the period when its lease expires. The owner is this
        intake in this thread, so a refresh that failed with the store away (its
        release failing too) and is retried takes its own lease back at once
        instead of waiting ``refresh_lease_seconds`` for it to expire.
        """
        key = f"{self.settings.state_prefix}leases/refresh-{period}.json"
        owner = f"{self.lease_owner}-{threading.get_ident()}"
        ttl = timedelta(seconds=self.settings.refresh_lease_seconds)
        delay = 0.1
        while (lease := leases.acquire(self.bucket, key, owner, ttl)) is None:
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 2.0)
        try:
            yield
        finally:
            leases.release(self.bucket, lease)

    def _refresh_period(self, code: str, changed: set[str]) -> pl.DataFrame | None:
        period = Period.parse(code)
        hierarchy = self.hierarchies.for_date(period.reference_date).scope(self.settings.root_unit)
        ledger = self.tables.read_ledger(code)
        counts = upload_counts(ledger)
        marks = self.tables.read_marks(code)
        units = stale(counts, marks).get(code, set()) | changed
        current = self.tables.read_completeness(code)
        if not units and not current.is_empty():
            return None
        if (
            units
            and not current.is_empty()
            and not marks.is_empty()
            and len(units) <= self.settings.incremental_max_units
        ):
            comp = self._refresh_ancestors(units, hierarchy, period, current, ledger)
            self.tables.write_marks(code, marks_for(counts, units), sorted(units))
            return comp
        live = live_submissions(ledger, code)
        facts = self.tables.read_facts(code, live["submission_id"].to_list())
        table = rollup(facts, hierarchy, self.catalogue, period)
        comp = completeness(ledger, hierarchy, self.catalogue, period)
        self.tables.replace_period("rollup", code, table)
        self.tables.replace_period("completeness", code, comp)
        self.tables.write_marks(code, marks_for(counts), None)  # last: the commit point
        return comp

    def stale_periods(self) -> dict[str, set[str]]:
        """Periods whose roll-up misses some recorded uploads, with the units concerned."""
        return stale(upload_counts(self.tables.read_ledger()), self.tables.read_marks())

    def _refresh_ancestors(
        self,
        units: set[str],
        hierarchy: Hierarchy,
        period: Period,
        current: pl.DataFrame,
        period_ledger: pl.DataFrame,
    ) -> pl.DataFrame:
        code = period.code
        affected = affected_units(units, hierarchy)
        needed = units_to_read(affected, hierarchy)
        leaves = sorted(u for u in units if u in hierarchy and not hierarchy.children(u))
        ledger = period_ledger.filter(pl.col("unit_code").is_in([*needed, *leaves]))
        live = live_submissions(ledger, code)
        facts = self.tables.read_facts(code, live["submission_id"].to_list())
        table = pl.concat(
            [
                rollup_ancestors(
                    units, hierarchy, self.catalogue, period, facts, self.tables.read_rollup(code)
                ),
                # A changed commune's own row is its own facts.
                rollup(
                    facts.filter(pl.col("unit_code").is_in(leaves)),
                    hierarchy,
                    self.catalogue,
                    period,
                ).filter(pl.col("unit_code").is_in(leaves)),
            ]
        )
        comp = pl.concat(
            [
                completeness_ancestors(units, hierarchy, self.catalogue, period, ledger, current),
                completeness(
                    ledger.filter(pl.col("unit_code").is_in(leaves)),
                    hierarchy,
                    self.catalogue,
                    period,
                ).filter(pl.col("unit_code").is_in(leaves)),
            ]
        )
        rewritten = sorted({u.code for u in affected} | set(leaves))
        self.tables.replace_units("rollup", code, rewritten, table)
        self.tables.replace_units("completeness", code, rewritten, comp)
        return comp


def _younger_than(ref: UploadRef, seconds: float) -> bool:
    if ref.last_modified is None:
        return False
    return (datetime.now(UTC) - ref.last_modified).total_seconds() < seconds


def _first_accepted(ledger: pl.DataFrame) -> dict[str, tuple[datetime, str]]:
    """Content hash -> (upload time, key) of its first accepted upload (for duplicates)."""
    first = (
        ledger.filter(pl.col("status") == "accepted")
        .sort("received_at", "key")
        .group_by("sha256", maintain_order=True)
        .first()
    )
    return {r["sha256"]: (r["received_at"], r["key"]) for r in first.iter_rows(named=True)}


def _dedupe_within_batch(judgements: list[Judgement]) -> list[Judgement]:
    """Two uploads of identical bytes in one batch: the first counts, the rest are duplicates."""
    seen: set[str] = set()
    out: list[Judgement] = []
    for j in sorted(
        judgements, key=lambda j: (j.ref.last_modified or datetime.now(UTC), j.ref.key)
    ):
        sha = j.receipt.sha256
        if j.receipt.status is Status.ACCEPTED and sha in seen:
            receipt = j.receipt.model_copy(
                update={
                    "status": Status.DUPLICATE,
                    "duplicate_of": sha,
                    "submission_id": None,
                    "summary_vi": "Tệp giống hệt một tệp khác trong cùng đợt; không có gì thay đổi.",
                    "summary_en": "Identical to another file of the same batch; nothing changed.",
                }
            )
            j = Judgement(
                j.ref,
                receipt,
                j.receipt_key,
                j.archive_key,
                {**j.ledger_row, "status": "duplicate", "submission_id": sha},
                None,
            )
        elif j.receipt.status is Status.ACCEPTED:
            seen.add(sha)
        out.append(j)
    return out
