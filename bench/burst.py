"""Deadline burst benchmark: prints figures, writes them to bench/results/. Not a test.

    uv run python -m bench.burst                 # 10,051 national communes, 2 workers
    uv run python -m bench.burst --n 2000 --naive 100 --trials 20

On a fresh embedded stack (SeaweedFS + Prefect server on free loopback ports,
warm workers, the change-feed sensor), it measures:

1. the burst: N commune reports uploaded as fast as possible, from the first
   PUT until the national roll-up counts all N (seconds, files per second);
2. single-file latency: a corrected report uploaded after the burst, from PUT
   until the province roll-up shows the new figure (p50, p95 over trials);
3. the naive baseline in the same invocation, first: one flow run per file, each in a
   new process, both as a deployment (Prefect's process worker, on a pool of its own)
   and under ``flow.serve`` (bench/naive_serve.py), and the burst's speed-up over each;
4. peak memory during the burst and the latency trials: the largest sum of RSS over the
   pipeline's processes (the benchmark's own apart).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import psutil

from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.ops.demo import with_value
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.ops.resources import project_root
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import COUNTRY, load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.bucket import Bucket
from schemas.deployments import NAIVE_DEPLOYMENT, NAIVE_FLOW, NAIVE_SERVE_DEPLOYMENT
from schemas.records import UploadRef
from schemas.settings import Settings

print = functools.partial(print, flush=True)

RESULTS = Path(__file__).resolve().parent / "results"
PERIOD = Period.parse("2025-Q1")
T = TypeVar("T")


class RssSampler(threading.Thread):
    """Largest total RSS of the pipeline's processes (servers, workers, event source, their
    children), and apart from it the benchmark's own; CPU seconds by process."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.peak = 0
        #: The same sum in proportional set size: a page shared by N processes (the
        #: ``weed`` binary mapped by the store and the change-feed tail, the Python and
        #: polars libraries of every worker) counts 1/N in each, not once in each.
        self.peak_pss = 0
        self.bench_peak = 0
        #: Largest RSS each kind of process reached (summed over its processes at that moment).
        self.peak_by_service: dict[str, int] = {}
        #: What each kind of process held at the moment of the largest total: which one to
        #: shrink (the per-kind peaks above fall at different moments and do not add up).
        self.at_peak: dict[str, int] = {}
        #: (seconds since the last reset, MiB by kind): when memory rises, against the
        #: roll-up's progress and the intake runs' timeline.
        self.timeline: list[tuple[float, dict[str, int]]] = []
        self.since = time.perf_counter()
        self.stop = threading.Event()
        #: (service, pid) -> CPU seconds last seen: where the machine's time went.
        self.cpu: dict[tuple[str, int], float] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            me = psutil.Process()
            with contextlib.suppress(psutil.NoSuchProcess):
                self.bench_peak = max(self.bench_peak, me.memory_info().rss)
                t = me.cpu_times()
                self.cpu[("benchmark", me.pid)] = t.user + t.system
            procs: list[tuple[str, psutil.Process]] = []
            for s in processes.service_status(self.settings):
                if s.alive and s.pid:
                    try:
                        p = psutil.Process(s.pid)
                        procs += [(s.name, c) for c in [p, *p.children(recursive=True)]]
                    except psutil.NoSuchProcess:
                        continue
            total = total_pss = 0
            now: dict[str, int] = {}
            for name, p in {p.pid: (n, p) for n, p in procs}.values():
                try:
                    with p.oneshot():
                        full = p.memory_full_info()
                        rss = full.rss
                        total += rss
                        total_pss += full.pss
                        kind = "worker" if name.startswith("worker") else name
                        now[kind] = now.get(kind, 0) + rss
                        t = p.cpu_times()
                    self.cpu[(name, p.pid)] = t.user + t.system
                except psutil.NoSuchProcess:
                    continue
            if total > self.peak:
                self.at_peak = dict(now)
            self.peak = max(self.peak, total)
            self.timeline.append(
                (round(time.perf_counter() - self.since, 1), {k: v >> 20 for k, v in now.items()})
            )
            self.peak_pss = max(self.peak_pss, total_pss)
            for kind, rss in now.items():
                self.peak_by_service[kind] = max(self.peak_by_service.get(kind, 0), rss)
            time.sleep(0.5)

    def cpu_by_service(self, since: dict[tuple[str, int], float] | None = None) -> dict[str, float]:
        """CPU seconds per kind of process, in total or since a ``snapshot()``."""
        out: dict[str, float] = {}
        for (name, pid), total in self.cpu.items():
            seconds = total - (since or {}).get((name, pid), 0.0)
            key = "worker" if name.startswith("worker") else name
            out[key] = round(out.get(key, 0.0) + seconds, 1)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def snapshot(self) -> dict[tuple[str, int], float]:
        return dict(self.cpu)

    def reset_peaks(self) -> None:
        """Measure memory from here on (the naive baseline's processes are not the pipeline)."""
        self.peak, self.peak_pss, self.peak_by_service = 0, 0, {}
        self.at_peak, self.timeline, self.since = {}, [], time.perf_counter()


def _patiently(call: Callable[[], T], budget: float = 300.0) -> T:
    """``call()``, again while the server answers 5xx or not at all.

    The naive baselines drive Prefect's SQLite server into "database is locked"
    storms (a write waits up to 60 s); the retiring calls then get 503s (seen:
    the benchmark ended there, before the burst). The server recovers once its
    queue drains, so waiting is the fix.
    """
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    deadline = time.monotonic() + budget
    while True:
        try:
            return call()
        except (PrefectHTTPStatusError, httpx.TransportError) as exc:
            server_side = not isinstance(exc, PrefectHTTPStatusError) or (
                exc.response.status_code >= 500
            )
            if not server_side or time.monotonic() > deadline:
                raise
            print(f"  Prefect server busy ({exc.__class__.__name__}); trying again in 10 s")
            time.sleep(10.0)


def retire_deployment(deployment: str) -> int:
    """Stop a deployment for good: no new runs from its trigger, none left to run.

    Its automation goes first: events still queued in the server's trigger
    service would otherwise keep creating runs after the cancellation (seen: 132
    naive runs created during the burst that followed, and the Prefect server
    spending 51 CPU-seconds on them). Then every unfinished run is cancelled,
    page by page, and the deployment deleted. Returns the runs cancelled.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    busy = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]
    cancelled = 0
    with get_client(sync_client=True) as client:
        found = _patiently(lambda: client.read_deployment_by_name(deployment))
        _patiently(
            lambda: client.delete_resource_owned_automations(f"prefect.deployment.{found.id}")
        )
        time.sleep(2.0)  # runs the trigger service was creating as the automation went
        for _ in range(100):  # pages of 200; a run that will not leave must not loop forever
            runs = _patiently(
                lambda: client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=busy))
                    ),
                    limit=200,
                )
            )
            if not runs:
                break
            for r in runs:
                _patiently(lambda: client.set_flow_run_state(r.id, Cancelled(), force=True))  # noqa: B023
            cancelled += len(runs)
        _patiently(lambda: client.delete_deployment(found.id))
    return cancelled


def naive_baseline(
    kind: str, settings: Settings, bucket: Bucket, items: list[tuple[str, bytes]], args: Any
) -> dict[str, Any]:
    """Files per second of one flow run per uploaded file, on a bucket of its own.

    ``deployment``: the pattern as deployed before, Prefect's process worker (a new
    process per run) on a pool of its own. ``served``: the same flow under
    ``flow.serve`` (bench/naive_serve.py), which also starts a process per run.
    Afterwards the deployment is retired and its processes stopped, so nothing of
    it runs during the burst.
    """
    naive = settings.model_copy(
        update={
            "bucket": f"bench-naive-{kind}",
            "event_per_upload": True,
            "work_pool": f"{settings.work_pool}-naive",
            "worker_kind": "process",
        }
    )
    # Imported here, not at the top: Prefect reads its settings when first imported, and the
    # stack's PREFECT_API_URL is set only once the stack is up (else: a temporary server).
    from dvkn_pipeline.services.orchestration import register_naive

    local_stack.ensure_bucket(naive)
    services: list[str] = []
    if kind == "deployment":
        register_naive(naive, concurrency=args.workers)
        deployment = f"{NAIVE_FLOW}/{NAIVE_DEPLOYMENT}"
        for i in range(args.workers):
            processes.start_service(local_stack.worker_spec(naive, 90 + i), naive)
            services.append(f"worker-{90 + i}")
    else:
        deployment = f"{NAIVE_FLOW}/{NAIVE_SERVE_DEPLOYMENT}"
        spec = processes.ServiceSpec(
            "naive-served",
            [sys.executable, "-m", "bench.naive_serve", str(args.workers)],
            local_env.prefect_env(naive) | local_env.dvkn_env(naive),
            cwd=project_root(),
            ready=lambda: _deployment_exists(deployment),
            timeout=120,
        )
        processes.start_service(spec, naive)
        services.append("naive-served")
    processes.start_service(local_stack.sensor_spec(naive, name="sensor-naive"), naive)
    n0 = time.perf_counter()
    ids = upload(Bucket(bucket.client, naive.bucket), items)
    done, n_last = count_in_ledger(naive, ids, budget=args.naive_seconds)
    processes.stop_service("sensor-naive", naive)
    cancelled = retire_deployment(deployment)
    for name in services:
        processes.stop_service(name, naive)
    return {
        "files_uploaded": len(items),
        "files_done": done,
        "seconds": round(n_last - n0, 2),
        "files_per_second": round(done / (n_last - n0), 3) if done else 0.0,
        "runs_cancelled": cancelled,
    }


def wait_until_quiet(
    below_percent: float = 15.0, for_seconds: int = 5, at_most: float = 300.0
) -> float:
    """Wait until the machine's CPU stays under ``below_percent`` for ``for_seconds``.

    The naive baselines leave work behind (the Prefect server storing their
    events and ending their cancelled runs): measured straight after them, the
    burst shared the machine with it (Prefect server 14 CPU-s in the burst
    instead of 6-9). Returns the seconds waited.
    """
    started, calm = time.perf_counter(), 0
    while calm < for_seconds and time.perf_counter() - started < at_most:
        calm = calm + 1 if psutil.cpu_percent(interval=1.0) < below_percent else 0
    return time.perf_counter() - started


def _deployment_exists(name: str) -> bool:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        client.read_deployment_by_name(name)
    return True


def prefect_db(settings: Settings) -> Path:
    return local_env.state_dir(settings) / "prefect" / "prefect.db"


def prefect_db_figures(settings: Settings) -> dict[str, int]:
    """Events and flow runs the Prefect server holds (asked through its API), and its
    database's size on disk.

    Through the API, not a read-only SQLite connection of its own: a benchmark should
    measure the server, not reach into its database. (That reader was once blamed for
    the server's 60 s stalls; they came back without it, and their cause was the
    garbage collector on the server's event loop, see ``ops/prefect_server.py``.)
    """
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    failed = FlowRunFilter(
        state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
        )
    )
    with get_client(sync_client=True) as client:
        runs = client.count_flow_runs()
        bad = client.count_flow_runs(flow_run_filter=failed)
        # The stack is this benchmark's own: a month back holds all its events (and the
        # server refuses a window of more than 1,000 days).
        since = (datetime.now(UTC) - timedelta(days=30)).isoformat()
        counted = client.request(
            "POST",
            "/events/count-by/{countable}",
            path_params={"countable": "event"},
            json={"filter": {"occurred": {"since": since}}},
        )
        counted.raise_for_status()
        events = sum(int(c["count"]) for c in counted.json())
    db = prefect_db(settings)
    size = sum(f.stat().st_size for f in db.parent.glob(db.name + "*"))
    return {"events": events, "flow_runs": runs, "failed_or_crashed": bad, "db_bytes": size}


def reports_for(n: int, seed: int) -> list[SyntheticReport]:
    catalogue = load_catalogue()
    hierarchy = load_hierarchies().for_date(PERIOD.reference_date)
    communes = hierarchy.units_at("commune")[:n]
    return [generate_report(u, PERIOD, catalogue, seed=seed) for u in communes]


def upload(bucket: Bucket, items: list[tuple[str, bytes]], threads: int = 32) -> list[str]:
    def put(item: tuple[str, bytes]) -> str:
        etag = bucket.put_bytes(item[0], item[1], "text/csv")
        return UploadRef(bucket=bucket.name, key=item[0], etag=etag).upload_id

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(put, items))


def count_in_ledger(settings: Settings, ids: list[str], budget: float) -> tuple[int, float]:
    """How many of ``ids`` reached the ledger, and when the last did, within ``budget`` seconds.

    The naive baseline is slow by design; a fixed time box measures its rate
    without letting it dominate the benchmark's wall time.
    """
    tables = build_intake(settings).tables
    wanted = set(ids)
    started = time.perf_counter()
    done, last = 0, started
    while time.perf_counter() - started < budget:
        seen = len(wanted & set(tables.read_ledger()["upload_id"].to_list()))
        if seen > done:
            done, last = seen, time.perf_counter()
        if done == len(wanted):
            break
        time.sleep(1.0)
    return done, last


def wait_rollup_count(
    settings: Settings, n: int, timeout: float, progress: list[tuple[float, int]] | None = None
) -> float:
    """When the national roll-up counts ``n`` communes; ``progress`` gets (time, count) on
    each change, so a stall shows where it happened."""
    tables = build_intake(settings).tables
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        comp = tables.read_completeness(PERIOD.code)
        if comp.height:
            top = comp.filter(
                (pl.col("unit_code") == COUNTRY) & (pl.col("reporter_level") == "commune")
            )
            count = int(top["accepted"][0]) if top.height else 0
            if progress is not None and count != last:
                progress.append((time.perf_counter(), count))
                last = count
            if count >= n:
                return time.perf_counter()
        time.sleep(0.25)
    raise TimeoutError(f"roll-up did not reach {n} communes in {timeout:.0f}s")


def intake_runs_timeline(since: datetime) -> list[dict[str, Any]]:
    """The intake deployment's flow runs that started after ``since``: when, how long, state."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)),
            limit=200,
        )
    out = []
    started = [r for r in runs if r.start_time is not None]  # not the schedule's future runs
    for r in sorted(started, key=lambda r: r.start_time or since):
        start = r.start_time.timestamp() - since.timestamp() if r.start_time else None
        end = r.end_time.timestamp() - since.timestamp() if r.end_time else None
        out.append(
            {
                "name": r.name,
                "state": r.state_name,
                "started_s": round(start, 1) if start is not None else None,
                "ended_s": round(end, 1) if end is not None else None,
                "worker_pid": r.infrastructure_pid,
            }
        )
    return out


def province_value(settings: Settings, province: str, indicator: str) -> float:
    table = build_intake(settings).tables.read_rollup(PERIOD.code)
    sel = table.filter((pl.col("unit_code") == province) & (pl.col("indicator") == indicator))
    return float(sel["value"].sum())


def latency_trials(settings: Settings, reports: list[SyntheticReport], trials: int) -> list[float]:
    catalogue = load_catalogue()
    hierarchy = load_hierarchies().for_date(PERIOD.reference_date)
    bucket = build_intake(settings).bucket
    rng = random.Random(7)
    out: list[float] = []
    for i in range(trials):
        report = rng.choice(reports)
        province = hierarchy.ancestors(report.unit.code)[-1].code
        before = province_value(settings, province, "TIEN_VAN_DONG")
        old = report.value("TIEN_VAN_DONG")
        new = old + 1_000_000 * (i + 1)
        corrected = with_value(report, "TIEN_VAN_DONG", new)
        corrected = SyntheticReport(
            corrected.unit,
            PERIOD,
            100 + i,
            {**corrected.header, "report_version": str(100 + i)},
            corrected.rows,
        )
        key = incoming_key(report.unit.code, PERIOD.code, f"sua-lan-{i}.csv")
        # The live version before this trial may already be a corrected one.
        expected_delta = new - _live_value(settings, report.unit.code)
        started = time.perf_counter()
        bucket.put_bytes(key, corrected.to_csv(catalogue), "text/csv")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (
                abs(province_value(settings, province, "TIEN_VAN_DONG") - (before + expected_delta))
                < 0.5
            ):
                out.append(time.perf_counter() - started)
                break
            time.sleep(0.1)
        else:
            raise TimeoutError(f"trial {i}: roll-up never showed the corrected figure")
    return out


def _live_value(settings: Settings, unit: str) -> float:
    from dvkn_pipeline.rollup.spatial import live_submissions

    tables = build_intake(settings).tables
    live = live_submissions(tables.read_ledger(PERIOD.code), PERIOD.code)
    sub = live.filter(pl.col("unit_code") == unit)["submission_id"].to_list()
    facts = tables.read_facts(PERIOD.code, sub)
    return float(facts.filter(pl.col("indicator") == "TIEN_VAN_DONG")["value"].sum())


def run(args: argparse.Namespace) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="dvkn-bench-"))
    # DVKN_BASE_PORT, when set, is the block to use (a machine's firewall rules, say).
    base = int(os.environ.get("DVKN_BASE_PORT") or local_env.find_free_port_block())
    settings = Settings(
        base_port=base,
        state_dir=state,
        root_unit=COUNTRY,
        bucket="bench-burst",
        work_pool="dvkn-bench",
        intake_concurrency=args.workers,
        batch_window_seconds=2.0,
        drain_idle_seconds=60.0,
        batch_max_files=args.batch,
        file_concurrency=16,
    )
    sampler = RssSampler(settings)
    catalogue = load_catalogue()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "parameters": vars(args),
    }
    print(f"starting the embedded stack on 127.0.0.1:{base}.. in {state}")
    local_stack.up(settings, workers=args.workers, with_sensor=False, with_console=False)
    try:
        os.environ.update(local_env.prefect_env(settings))
        from dvkn_pipeline.services.orchestration import register

        register(settings)
        local_stack.start_sensor(settings)
        sampler.start()

        print(f"generating {args.n} commune reports ...")
        reports = reports_for(args.n, seed=1)
        items = [
            (incoming_key(r.unit.code, PERIOD.code, "bao-cao.csv"), r.to_csv(catalogue))
            for r in reports
        ]
        bucket = build_intake(settings).bucket

        if args.naive > 0:
            # First, on the quiet stack: the burst must not slow the baselines it is compared
            # with. Both shapes of the naive pattern, one flow run (one new process) per file.
            naive_items = items[: args.naive]
            for kind in ("deployment", "served"):
                print(f"naive baseline ({kind}): one flow run per file, {args.naive} files ...")
                found = naive_baseline(kind, settings, bucket, naive_items, args)
                results["naive" if kind == "deployment" else "naive_served"] = found
                print(
                    f"  {found['files_done']}/{found['files_uploaded']} files in "
                    f"{found['seconds']:.0f}s ({found['files_per_second']} files/s); "
                    f"{found['runs_cancelled']} runs left unfinished were cancelled"
                )

        if args.naive > 0:
            print(f"  machine quiet again after {wait_until_quiet():.0f}s")
        before_db = prefect_db_figures(settings)
        cpu_before = sampler.snapshot()
        sampler.reset_peaks()
        print("burst: uploading ...")
        t0 = time.perf_counter()
        started_at = datetime.now(UTC)
        upload(bucket, items)
        t_uploaded = time.perf_counter()
        progress: list[tuple[float, int]] = []
        t_done = wait_rollup_count(settings, len(reports), timeout=args.timeout, progress=progress)
        burst = t_done - t0
        after_db = prefect_db_figures(settings)
        events = after_db["events"] - before_db["events"]
        results["burst"] = {
            "files": len(reports),
            "upload_seconds": round(t_uploaded - t0, 2),
            "seconds_to_rolled_up": round(burst, 2),
            "files_per_second": round(len(reports) / burst, 1),
            "prefect_events": events,
            "prefect_events_per_file": round(events / len(reports), 3),
            "prefect_db_growth_mib": round(
                (after_db["db_bytes"] - before_db["db_bytes"]) / 2**20, 1
            ),
            "flow_runs": after_db["flow_runs"] - before_db["flow_runs"],
            "flow_runs_failed_or_crashed": after_db["failed_or_crashed"]
            - before_db["failed_or_crashed"],
            "cpu_seconds_by_process": sampler.cpu_by_service(since=cpu_before),
            "rolled_up_over_time": [(round(t - t0, 1), c) for t, c in progress],
            "flow_runs_timeline": intake_runs_timeline(started_at),
        }
        print(
            f"  {len(reports)} files rolled up in {burst:.1f}s ({len(reports) / burst:.0f} files/s); "
            f"{events} Prefect events ({events / len(reports):.3f}/file), "
            f"database +{results['burst']['prefect_db_growth_mib']} MiB, "
            f"{results['burst']['flow_runs']} flow runs "
            f"({results['burst']['flow_runs_failed_or_crashed']} failed or crashed)"
        )
        print(f"  CPU seconds in the burst: {results['burst']['cpu_seconds_by_process']}")
        print(
            f"  communes in the roll-up over time (s, n): {results['burst']['rolled_up_over_time']}"
        )
        for r in results["burst"]["flow_runs_timeline"]:
            print(f"  flow run {r['name']}: {r['state']}, {r['started_s']}s -> {r['ended_s']}s")
        for key, label in (("naive", "deployment"), ("naive_served", "flow.serve")):
            rate = results.get(key, {}).get("files_per_second")
            if rate:
                ratio = round(results["burst"]["files_per_second"] / rate, 1)
                results[f"speedup_vs_{key}"] = ratio
                print(f"  batched is {ratio}x the naive baseline's rate ({label})")

        if args.trials > 0:
            print(f"latency: {args.trials} corrected reports, one at a time ...")
            cpu_before = sampler.snapshot()
            lat = latency_trials(settings, reports, args.trials)
            q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else lat * 19
            results["latency"] = {
                "trials": len(lat),
                "p50_seconds": round(statistics.median(lat), 2),
                "p95_seconds": round(q[18], 2),
                "max_seconds": round(max(lat), 2),
                "cpu_seconds_by_process": sampler.cpu_by_service(since=cpu_before),
            }
            print(
                f"  p50 {results['latency']['p50_seconds']}s, "
                f"p95 {results['latency']['p95_seconds']}s"
            )
    finally:
        sampler.stop.set()
        results["peak_rss_mib"] = round(sampler.peak / 2**20)
        results["peak_pss_mib"] = round(sampler.peak_pss / 2**20)
        results["benchmark_rss_mib"] = round(sampler.bench_peak / 2**20)
        results["peak_rss_mib_by_process"] = {
            k: round(v / 2**20) for k, v in sorted(sampler.peak_by_service.items())
        }
        results["rss_mib_at_peak"] = {
            k: round(v / 2**20) for k, v in sorted(sampler.at_peak.items())
        }
        results["rss_mib_over_time"] = sampler.timeline
        results["cpu_seconds_by_process"] = sampler.cpu_by_service()
        local_stack.down(settings)
    print(
        f"peak memory (RSS) of the pipeline's processes: {results['peak_rss_mib']} MiB "
        f"(PSS, shared pages counted once: {results['peak_pss_mib']} MiB) "
        f"(the benchmark itself: {results['benchmark_rss_mib']} MiB)"
    )
    print(f"peak RSS by process (MiB): {results['peak_rss_mib_by_process']}")
    print(f"RSS by process at the peak (MiB): {results['rss_mib_at_peak']}")
    print(f"CPU seconds by process: {results['cpu_seconds_by_process']}")
    return results


def write(results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"burst-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    b, lat, naive = results.get("burst", {}), results.get("latency", {}), results.get("naive", {})
    served = results.get("naive_served", {})
    md = [
        f"# Burst benchmark, {results['date']}",
        "",
        f"Machine: {results['machine']['cpus']} CPUs, {results['machine']['memory_gib']} GiB, "
        f"{results['machine']['platform']}, Python {results['machine']['python']}",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| burst: files | {b.get('files')} | 10,051 |",
        f"| burst: seconds from first PUT to national roll-up | {b.get('seconds_to_rolled_up')} | <= 60 |",
        f"| burst: files per second | {b.get('files_per_second')} | |",
        f"| single-file latency p50 (s) | {lat.get('p50_seconds')} | |",
        f"| single-file latency p95 (s) | {lat.get('p95_seconds')} | <= 3 |",
        f"| burst: Prefect events per file | {b.get('prefect_events_per_file')} | <= 0.1 |",
        f"| burst: Prefect database growth (MiB) | {b.get('prefect_db_growth_mib')} | |",
        f"| burst: flow runs (failed or crashed) | {b.get('flow_runs')} "
        f"({b.get('flow_runs_failed_or_crashed')}) | 0 failed |",
        f"| naive baseline, deployment: files per second ({naive.get('files_done')} files) "
        f"| {naive.get('files_per_second')} | |",
        f"| naive baseline, flow.serve: files per second ({served.get('files_done')} files) "
        f"| {served.get('files_per_second')} | |",
        f"| speed-up over naive (deployment / flow.serve) | {results.get('speedup_vs_naive')}x"
        f" / {results.get('speedup_vs_naive_served')}x | |",
        f"| peak RSS, pipeline processes (MiB) | {results.get('peak_rss_mib')} | < 1536 |",
        f"| peak PSS, same processes, shared pages once (MiB) | {results.get('peak_pss_mib')} | |",
        "",
        "RSS by process at the peak (MiB): "
        + ", ".join(f"{k} {v}" for k, v in results.get("rss_mib_at_peak", {}).items()),
        "",
        "CPU seconds by process in the burst: "
        + ", ".join(f"{k} {v}" for k, v in b.get("cpu_seconds_by_process", {}).items()),
        "",
        "CPU seconds by process (whole run): "
        + ", ".join(f"{k} {v}" for k, v in results.get("cpu_seconds_by_process", {}).items()),
        "",
    ]
    path.with_suffix(".md").write_text("\n".join(md))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10051, help="commune reports in the burst")
    parser.add_argument("--workers", type=int, default=2, help="Prefect worker processes")
    parser.add_argument("--batch", type=int, default=1000, help="files per batch")
    parser.add_argument(
        "--naive", type=int, default=200, help="files for the one-run-per-file baseline"
    )
    parser.add_argument(
        "--naive-seconds",
        type=float,
        default=300,
        help="time box for the baseline: its rate is files done / time",
    )
    parser.add_argument("--trials", type=int, default=20, help="single-file latency trials")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds to wait for each stage"
    )
    results = run(parser.parse_args())
    path = write(results)
    print(f"results: {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
