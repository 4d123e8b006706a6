"""The end-to-end demo as library functions: generate, upload, wait, read back.

The CLI is a thin layer over these (``dvkn demo`` prints what :func:`run_demo`
returns), so tests and scripts can run the same steps without a terminal.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import polars as pl

from dvkn_pipeline.ops import local_env, local_stack
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.ops.notify_sink import configure_notifications, read_notifications
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key, receipt_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.queries import figures
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.tables import Tables
from schemas.records import Receipt, UploadRef
from schemas.roles import RoleName
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


def upload_all(
    bucket: Bucket,
    uploads: list[Upload],
    concurrency: int = 16,
    on_done: Callable[[], None] | None = None,
) -> list[str]:
    """PUT every file as a commune would; returns the upload ids (key and ETag) to wait for.

    ``on_done`` hears each finished PUT (a progress bar).
    """

    def put(u: Upload) -> str:
        etag = bucket.put_bytes(u.key, u.content, "text/csv; charset=utf-8")
        if on_done is not None:
            on_done()
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


LEDGER_STATUSES = ("accepted", "rejected", "duplicate")


def intake_runs() -> list[tuple[str, str, str]]:
    """The intake deployment's runs, oldest first: name, state name, state message."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId

    from schemas.deployments import INTAKE

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(INTAKE)
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id])
            )
        )
    ordered = sorted(runs, key=lambda r: str(r.start_time or r.created or ""))
    return [
        (r.name, r.state_name or "", (r.state.message or "") if r.state else "") for r in ordered
    ]


def wait_for_notifications(settings: Settings, wanted: int, timeout: float) -> list[dict[str, Any]]:
    """The local target's notifications about rejected reports, once ``wanted`` have arrived.

    Prefect's automation acts a few seconds after the event; waiting here lets
    the demo show the steward what the notification said. Returns what came in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        got = [n for n in read_notifications(settings) if "rejected" in str(n.get("subject", ""))]
        if len(got) >= wanted or time.monotonic() > deadline:
            return got
        time.sleep(1.0)


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced: counts, the roll-ups read back, the rejected uploads' receipts."""

    period: Period
    uploads: int
    ledger: dict[str, int]  # uploads per ledger status (accepted, rejected, duplicate)
    rejected_receipt_keys: list[str]
    rejected_receipts: list[Receipt]  # what the commune of each rejected upload sees
    #: What reached the steward's notification target (the local log) about rejections.
    notifications: list[dict[str, Any]]
    #: Where notifications go: the local log file, or "webhook" / "slack".
    notify_target: str
    #: The intake runs as the Prefect UI lists them: (name, state name, state message).
    runs: list[tuple[str, str, str]]
    city: dict[str, Any]  # services.queries.figures at the top level
    districts: dict[str, Any] | None  # the level below, when the hierarchy has three levels
    prefect_ui: str

    def to_json(self) -> dict[str, Any]:
        """The ``dvkn demo --json`` document."""
        return {
            "period": self.period.code,
            "uploads": self.uploads,
            "ledger": self.ledger,
            "rejected_receipts": self.rejected_receipt_keys,
            "notifications": self.notifications,
            "notify_target": self.notify_target,
            "runs": [{"name": n, "state": st, "message": m} for n, st, m in self.runs],
            "city": self.city,
            "districts": self.districts,
            "prefect_ui": self.prefect_ui,
        }


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: RoleName
    scope: str
    password: str


def demo_accounts(
    settings: Settings, hierarchy: Hierarchy, rejected_units: list[str]
) -> list[DemoLogin]:
    """Console accounts to try the demo with: a commune (one with a rejected report when
    there is one, so its receipt shows problems), its district's steward, the city's
    steward and a reader; random passwords, replaced on every demo."""
    from dvkn_pipeline.services.accounts import add_account
    from dvkn_pipeline.services.wiring import build_accounts

    leaves = hierarchy.units_at(hierarchy.levels[-1])
    commune = next((hierarchy.unit(u) for u in rejected_units if u in hierarchy), leaves[0])
    wanted: list[tuple[str, RoleName, str]] = [(f"xa-{commune.code}", "commune", commune.code)]
    if len(hierarchy.levels) > 2 and commune.parent_code:
        wanted.append((f"huyen-{commune.parent_code}", "district_steward", commune.parent_code))
    wanted += [
        (f"tp-{settings.root_unit}", "city_steward", settings.root_unit),
        (f"doc-{settings.root_unit}", "reader", settings.root_unit),
    ]
    store = build_accounts(settings)
    versions = load_hierarchies().versions
    out = []
    for username, role, scope in wanted:
        password = secrets.token_urlsafe(9)
        add_account(
            store,
            versions,
            username=username,
            role=role,
            scope=scope,
            password=password,
            display_name=hierarchy.unit(scope).name if scope in hierarchy else scope,
            replace=True,
        )
        out.append(DemoLogin(username, role, scope, password))
    return out


def run_demo(
    settings: Settings,
    period: Period,
    *,
    workers: int = 1,
    timeout: float = 900,
    keep_running: bool = False,
    say: Callable[[str], None] = print,
    show: Callable[[DemoResult], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoResult:
    """The whole pipeline on the embedded default: start, upload a period for every unit, roll up.

    ``say`` hears progress (rich markup); ``show`` gets the result while the
    services still run, before the demo waits for the last run and (unless
    ``keep_running``) stops them. ``progress(stage, done, total)`` hears the
    uploads ("upload") and the files the ledger has recorded ("process") as
    they advance. Raises :class:`TimeoutError` when processing
    or the roll-up takes longer than ``timeout`` seconds.
    """
    from schemas.contacts import SAMPLE_PATH

    # Synthetic reports, synthetic contacts: the console's missing list shows whom to call.
    settings = settings.model_copy(
        update={
            "intake_concurrency": workers,
            "contacts_file": settings.contacts_file or SAMPLE_PATH,
        }
    )
    say("[bold]1/5[/] starting SeaweedFS (S3), Prefect server and worker ...")
    info = local_stack.up(settings, workers=workers, with_sensor=False, with_console=keep_running)
    try:
        os.environ.update(local_env.prefect_env(settings))
        from dvkn_pipeline.services.orchestration import register

        register(settings)
        notify_to = configure_notifications(settings)
        local_stack.start_sensor(settings)
        say(f"      Prefect UI: [bold]{info.prefect_ui_url}[/]   S3: {info.s3_endpoint}")
        say(
            f"      rejected reports notify: [bold]{notify_to}[/] (automation dvkn-report-rejected)"
        )
        from dvkn_pipeline.services.wiring import build_intake

        intake = build_intake(settings)
        catalogue = intake.catalogue
        hierarchy = load_hierarchies().for_date(period.reference_date).scope(settings.root_unit)
        uploads = demo_uploads(hierarchy, period, catalogue, settings)
        target = f"s3://{settings.bucket}/{settings.incoming_prefix}"
        say(
            f"[bold]2/5[/] uploading {len(uploads)} reports for {period} ({period.label_vi}) "
            f"to {target} ..."
        )
        started = time.perf_counter()
        sent = 0

        def one_sent() -> None:
            nonlocal sent
            sent += 1
            if progress is not None:
                progress("upload", sent, len(uploads))

        upload_ids = upload_all(intake.bucket, uploads, on_done=one_sent)
        took = time.perf_counter() - started
        say(
            f"      uploaded in {took:.1f}s; the sensor announces them in batches (dvkn.report.uploaded events)"
        )
        say("[bold]3/5[/] waiting for the event-triggered deployment to process them ...")
        ledger = wait_for_ledger(
            intake.tables,
            upload_ids,
            timeout,
            on_progress=(lambda n: progress("process", n, len(upload_ids))) if progress else None,
        )
        n_units = sum(
            len(hierarchy.units_at(lvl)) for lvl in hierarchy.levels if catalogue.reported_by(lvl)
        )
        say("[bold]4/5[/] waiting for the roll-up ...")
        wait_for_rollup(intake.tables, period.code, settings.root_unit, n_units, timeout)
        rejected = ledger.filter(pl.col("status") == "rejected")
        say("[bold]5/5[/] results")
        city = figures(
            intake.tables, hierarchy, period, hierarchy.levels[0], None, settings.root_unit
        )
        districts = (
            figures(intake.tables, hierarchy, period, hierarchy.levels[1], None, settings.root_unit)
            if len(hierarchy.levels) > 2
            else None
        )
        receipts = [
            intake.bucket.get_json(
                receipt_key(key, settings.incoming_prefix, settings.receipts_prefix)
            )
            for key in rejected["key"].to_list()
        ]
        notes = (
            wait_for_notifications(settings, rejected.height, timeout=60)
            if settings.notify_target == "log"
            else []
        )
        from dvkn_pipeline.services.orchestration import wait_until_idle

        wait_until_idle(timeout=180)  # the runs end (named state, artifacts) before we show them
        result = DemoResult(
            period=period,
            runs=intake_runs(),
            notifications=notes,
            notify_target=notify_to,
            uploads=len(uploads),
            ledger={s: int(ledger.filter(pl.col("status") == s).height) for s in LEDGER_STATUSES},
            rejected_receipt_keys=rejected["receipt_key"].to_list(),
            rejected_receipts=[Receipt.model_validate(r) for r in receipts if r is not None],
            city=city,
            districts=districts,
            prefect_ui=info.prefect_ui_url,
        )
        if show is not None:
            show(result)
        say(f"\nPrefect UI (flow runs, artifacts, events): [bold]{info.prefect_ui_url}[/]")
        if keep_running:
            rejected_units = [u for u in rejected["unit_code"].to_list() if u]
            say(f"Web console: [bold]{info.console_url}[/]  (demo accounts, password shown once)")
            for login in demo_accounts(settings, hierarchy, rejected_units):
                say(
                    f"  {login.role:<17} {login.scope:<6} [bold]{login.username}[/] / {login.password}"
                )
        if not keep_running:
            from dvkn_pipeline.services.orchestration import wait_until_idle

            wait_until_idle(timeout=120)  # let the run finish and write its artifacts
        return result
    finally:
        if keep_running:
            say("Services are still running: stop them with [bold]uv run dvkn down[/].")
        else:
            local_stack.down(settings)
            say(
                "Services stopped. To keep them for the Prefect UI: [bold]uv run dvkn demo --keep-running[/]"
            )
            say("(or [bold]uv run dvkn up[/] later; [bold]uv run dvkn down[/] stops them).")
