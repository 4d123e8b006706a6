"""The end-to-end demo as library functions: generate, upload, wait, read back.

The CLI is a thin layer over these, so tests and scripts can run the same
steps without a terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.tables import Tables
from schemas.records import UploadRef
from schemas.settings import Settings


@dataclass(frozen=True)
class Upload:
    key: str
    report: SyntheticReport | None
    content: bytes


def demo_uploads(
    hierarchy: Hierarchy, period: Period, catalogue: Catalogue, settings: Settings, seed: int = 2025
) -> list[Upload]:
    """One report per reporting unit, plus a commune that first sends a broken report.

    The broken one claims more recognized than registered economy models; its
    corrected version 2 follows, as happens in real reporting.
    """
    uploads: list[Upload] = []
    units = [
        u for lvl in hierarchy.levels if catalogue.reported_by(lvl) for u in hierarchy.units_at(lvl)
    ]
    for unit in units:
        report = generate_report(unit, period, catalogue, seed=seed)
        key = incoming_key(
            unit.code,
            period.code,
            f"bao-cao-{unit.code}-{period.code}.csv",
            settings.incoming_prefix,
        )
        uploads.append(Upload(key, report, report.to_csv(catalogue)))
    communes = hierarchy.units_at(hierarchy.levels[-1])
    if communes:
        unit = communes[0]
        good = generate_report(unit, period, catalogue, seed=seed, version=2)
        bad_rows = [dict(r) for r in good.rows]
        for r in bad_rows:
            if (
                r["indicator"] == "MH_CONG_NHAN"
                and r.get("field") == "KT"
                and r.get("holder") == "TT"
            ):
                r["value"] = int(good.value("MH_DANG_KY", field="KT")) + 5
        bad = SyntheticReport(unit, period, 1, {**good.header, "report_version": "1"}, bad_rows)
        base = f"bao-cao-{unit.code}-{period.code}"
        uploads = [u for u in uploads if u.report is None or u.report.unit.code != unit.code]
        uploads.append(
            Upload(
                incoming_key(unit.code, period.code, f"{base}-lan1.csv", settings.incoming_prefix),
                None,
                bad.to_csv(catalogue),
            )
        )
        uploads.append(
            Upload(
                incoming_key(unit.code, period.code, f"{base}-lan2.csv", settings.incoming_prefix),
                good,
                good.to_csv(catalogue),
            )
        )
    return uploads


def with_value(
    report: SyntheticReport, indicator: str, value: float, **dims: str
) -> SyntheticReport:
    """The report with one breakdown cell changed and its declared totals kept consistent."""
    rows = [dict(r) for r in report.rows]
    delta = value - report.value(indicator, **dims)
    for r in rows:
        if r["indicator"] != indicator:
            continue
        given = {d: r.get(d) for d in dims if r.get(d) is not None}
        if not r.get("total") and given == dims:
            r["value"] = value
        elif r.get("total") and all(dims[d] == v for d, v in given.items()):
            r["value"] = r["value"] + delta
    return SyntheticReport(report.unit, report.period, report.version, dict(report.header), rows)


def upload_all(bucket: Bucket, uploads: list[Upload], concurrency: int = 16) -> list[str]:
    """PUT every file as a commune would; returns the upload ids (key and ETag) to wait for."""

    def put(u: Upload) -> str:
        etag = bucket.put_bytes(u.key, u.content, "text/csv; charset=utf-8")
        return UploadRef(bucket=bucket.name, key=u.key, etag=etag).upload_id

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(put, uploads))


def wait_for_ledger(
    tables: Tables,
    upload_ids: list[str],
    timeout: float,
    on_progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """Poll the ledger until every upload in ``upload_ids`` is recorded; returns their rows."""
    deadline = time.monotonic() + timeout
    wanted = set(upload_ids)
    while True:
        ledger = tables.read_ledger().filter(pl.col("upload_id").is_in(list(wanted)))
        if on_progress:
            on_progress(ledger.height)
        if ledger.height >= len(wanted):
            return ledger
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"only {ledger.height}/{len(wanted)} uploads processed after {timeout:.0f}s; "
                "see the Prefect UI and the logs under the state directory"
            )
        time.sleep(1.0)


def wait_for_rollup(
    tables: Tables, period: str, root_unit: str, accepted_units: int, timeout: float
) -> pl.DataFrame:
    """Poll until the root unit's completeness for ``period`` counts ``accepted_units``."""
    deadline = time.monotonic() + timeout
    while True:
        comp = tables.read_completeness(period)
        accepted = (
            int(comp.filter(pl.col("unit_code") == root_unit)["accepted"].sum())
            if comp.height
            else 0
        )
        if accepted >= accepted_units:
            return comp
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"roll-up of {period} counts {accepted}/{accepted_units} units after {timeout:.0f}s"
            )
        time.sleep(1.0)
