"""Console page benchmark at Hanoi scale: each steward page's server time. Not a test.

    uv run python -m bench.console                  # 3 periods, 20 requests per page
    DVKN_BASE_PORT=24000 uv run python -m bench.console --requests 50

It starts SeaweedFS alone on the ``DVKN_BASE_PORT`` block (no Prefect: the
reports are judged and rolled up in this process by the same intake and
refresh services a worker runs), loads Hanoi: every reporting unit of
2025-Q1 and 2025-Q2 (526 communes, 30 districts, the city; about 10% missing,
3% rejected, 2% corrected, 1% with a rejected correction) and 2025-Q3 under
the two-level hierarchy (126 communes), then asks each page through the
console app in process (FastAPI's TestClient: the server's own time, routing,
session, queries on the real Delta tables, templates; no network) and prints
the median, p95 and max per page against the 300 ms target.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable

import psutil

from dvkn_pipeline.ops import local_env, local_stack
from dvkn_pipeline.ops.demo import with_value
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.wiring import build_intake
from schemas.contacts import SAMPLE_PATH
from schemas.settings import Settings

print = functools.partial(print, flush=True)

PERIODS = ("2025-Q1", "2025-Q2", "2025-Q3")
TARGET_MS = 300.0


def load_hanoi(settings: Settings, seed: int = 15) -> dict[str, int]:
    """Upload, judge and roll up Hanoi's reports of :data:`PERIODS`; returns files per period."""
    catalogue = load_catalogue()
    hierarchies = load_hierarchies()
    intake = build_intake(settings)
    rng = random.Random(seed)
    sent: dict[str, int] = {}
    for code in PERIODS:
        p = Period.parse(code)
        h = hierarchies.for_date(p.reference_date).scope(settings.root_unit)
        units = [u for lvl in h.levels if catalogue.reported_by(lvl) for u in h.units_at(lvl)]
        n = 0
        for u in units:
            roll = rng.random()
            if roll < 0.10:
                continue  # missing
            report = generate_report(u, p, catalogue, seed=seed)
            key = incoming_key(u.code, p.code, "bao-cao.csv")
            if roll < 0.13:  # totals that do not add up: rejected
                bad = with_value(report, "MH_DANG_KY", report.value("MH_DANG_KY") + 5)
                bad.rows[:] = [r | {"value": 1} if r.get("total") else r for r in bad.rows]
                intake.bucket.put_bytes(key, bad.to_csv(catalogue))
            else:
                intake.bucket.put_bytes(key, report.to_csv(catalogue))
            n += 1
            if 0.13 <= roll < 0.16:  # a correction, accepted (or rejected for the last third)
                v2 = generate_report(u, p, catalogue, seed=seed, version=2)
                if roll >= 0.15:
                    v2.rows[:] = [r | {"value": 1} if r.get("total") else r for r in v2.rows]
                intake.bucket.put_bytes(
                    incoming_key(u.code, p.code, "bao-cao-sua.csv"), v2.to_csv(catalogue)
                )
                n += 1
        sent[code] = n
        t0 = time.perf_counter()
        while refs := intake.pending(limit=500):
            result = intake.process(refs, flow_run_id=f"bench-{code}")
            intake.refresh(result.periods)
        print(f"  {code}: {n} files judged and rolled up in {time.perf_counter() - t0:.1f} s")
    return sent


def measure(call: Callable[[], object], requests: int) -> tuple[float, list[float]]:
    """The first call's milliseconds (cold: receipts not yet read, templates not compiled),
    then each further call's."""
    t0 = time.perf_counter()
    call()
    cold = (time.perf_counter() - t0) * 1000
    out = []
    for _ in range(requests):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
    return cold, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    args = parser.parse_args()
    base_port = int(os.environ.get("DVKN_BASE_PORT", "24000"))
    with tempfile.TemporaryDirectory(prefix="dvkn-bench-console-") as state:
        settings = local_env.local_settings(
            state, base_port, bucket="bench-console", contacts_file=SAMPLE_PATH
        )
        print(f"SeaweedFS on {settings.s3_endpoint_url}; loading Hanoi ({', '.join(PERIODS)})")
        local_stack.start_object_store(settings)
        try:
            local_stack.ensure_bucket(settings)
            load_hanoi(settings)
            pages = service_calls(settings) | page_calls(settings)
            rows = []
            for name, call in pages.items():
                cold, ms = measure(call, args.requests)
                rows.append((name, cold, statistics.median(ms), _p95(ms), max(ms)))
        finally:
            local_stack.down(settings)
    mem = psutil.virtual_memory().total / 2**30
    print(
        f"\nMachine: {os.cpu_count()} cores, {mem:.1f} GiB, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"{'page':<44} {'first ms':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}"
        f"  p95 < {TARGET_MS:.0f} ms"
    )
    for name, cold, med, p95, top in rows:
        flag = "ok" if p95 < TARGET_MS else "OVER"
        print(f"{name:<44} {cold:>9.1f} {med:>10.1f} {p95:>8.1f} {top:>8.1f}  {flag}")


def _p95(ms: list[float]) -> float:
    return sorted(ms)[max(0, round(0.95 * len(ms)) - 1)]


def service_calls(settings: Settings) -> dict[str, Callable[[], object]]:
    """The steward service behind each page alone: what the page's time is made of."""
    from dvkn_pipeline.services.wiring import build_steward

    steward = build_steward(settings)
    q2, q3 = Period.parse("2025-Q2"), Period.parse("2025-Q3")
    commune = steward.hierarchy(q2).children("001")[1].code
    root = settings.root_unit
    return {
        "service: overview city 2025-Q2": lambda: steward.overview(q2, root),
        "service: overview district 001": lambda: steward.overview(q2, root, "001"),
        "service: list missing city": lambda: steward.state_list(q2, "missing", root),
        "service: list rejected city": lambda: steward.state_list(q2, "rejected", root),
        "service: list outliers city": lambda: steward.outliers(q2, root),
        f"service: unit page {commune}": lambda: steward.unit_page(q2, commune, root),
        "service: trend city Q1-Q3": lambda: steward.trend(
            root, Period.parse("2025-Q1"), q3, root, "MH_DANG_KY"
        ),
        "service: export district level": lambda: steward.export(q2, "district", root),
    }


BENCH_USER, BENCH_PASSWORD = "bench-city", "bench-password-1234"


def page_calls(settings: Settings) -> dict[str, Callable[[], object]]:
    """Each steward page of the console, as a call that fails unless the page answers 200."""
    from fastapi.testclient import TestClient

    from dvkn_pipeline.console.serve import build_app
    from dvkn_pipeline.services.accounts import add_account
    from dvkn_pipeline.services.wiring import build_accounts

    add_account(
        build_accounts(settings),
        load_hierarchies().versions,
        username=BENCH_USER,
        role="city_steward",
        scope=settings.root_unit,
        password=BENCH_PASSWORD,
    )
    client = TestClient(build_app(settings))
    page = client.get("/login")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": token},
    )
    q2 = "2025-Q2"
    commune = load_hierarchies().for_date(Period.parse(q2).reference_date).children("001")[1]

    def get(path: str) -> Callable[[], object]:
        def call() -> object:
            got = client.get(path, follow_redirects=False)
            if got.status_code != 200:
                raise RuntimeError(f"{path}: {got.status_code}")
            return got

        return call

    return {
        "page: overview city 2025-Q2": get(f"/steward/{q2}/overview"),
        "page: overview district 001": get(f"/steward/{q2}/overview?unit=001"),
        "page: list missing city": get(f"/steward/{q2}/list/missing"),
        "page: list rejected city": get(f"/steward/{q2}/list/rejected"),
        "page: list correction_rejected city": get(f"/steward/{q2}/list/correction_rejected"),
        "page: list outliers city": get(f"/steward/{q2}/list/outliers"),
        f"page: unit {commune.code}": get(f"/steward/{q2}/unit/{commune.code}"),
        "page: trend city Q1-Q3 + indicator": get(
            "/steward/2025-Q3/trend?from=2025-Q1&indicator=MH_DANG_KY"
        ),
        "page: export district level .xlsx": get(f"/steward/{q2}/export.xlsx?level=district"),
    }


if __name__ == "__main__":
    main()
