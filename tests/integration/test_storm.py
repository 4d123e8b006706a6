"""A storm: uploads announced as fast as the store takes them, through the real path.

Real SeaweedFS, a real Prefect server, the change-feed sensor and a warm worker
running the registered intake deployment: every upload is announced by the
feed (no listing), taken from the announcements by the drain and rolled up to
the country. The storm must end with no failed or crashed flow run and with
tables identical to a clean in-process run of the same files (the fault suite's
``snapshot``).

By default the storm is ``DVKN_STORM_FILES`` = 300 commune reports (and a
corrected version of 1 % of them), sized for the suite's time budget on two
cores; ``DVKN_STORM_FILES=10000`` runs the deadline-sized storm (10,100 uploads
in 32 s here, the whole test 261 s on two shared cores). How long the
uploads took and how long until the roll-up was complete are printed, not
asserted: speed is the benchmark's business (``bench/burst.py``).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.hierarchy import COUNTRY, load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings
from tests.integration.faults import CAT, Q1, env_int, own_stack, snapshot

pytestmark = pytest.mark.integration

FILES = env_int("DVKN_STORM_FILES", 300)
#: Seconds allowed per file until everything is rolled up (generous: CI is shared).
SECONDS_PER_FILE = 0.2


def storm_files(n: int) -> list[tuple[str, bytes]]:
    """``n`` communes' reports across the country, and a corrected version of every 100th."""
    communes = load_hierarchies().for_date(Q1.reference_date).units_at("commune")[:n]
    files = [
        (
            incoming_key(u.code, Q1.code, "bao-cao.csv"),
            generate_report(u, Q1, CAT, seed=11).to_csv(CAT),
        )
        for u in communes
    ]
    files += [
        (
            incoming_key(u.code, Q1.code, "bao-cao-sua.csv"),
            generate_report(u, Q1, CAT, seed=12, version=2).to_csv(CAT),
        )
        for u in communes[::100]
    ]
    return files


def put_all(intake: Intake, files: list[tuple[str, bytes]]) -> None:
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda f: intake.bucket.put_bytes(f[0], f[1], "text/csv"), files))


def clean_run(settings: Settings, files: list[tuple[str, bytes]]) -> dict[str, object]:
    """The same files judged and rolled up in this process, on a bucket of their own."""
    clean = settings.model_copy(update={"bucket": "storm-clean"})
    local_stack.ensure_bucket(clean)
    intake = build_intake(clean)
    put_all(intake, files)
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    return snapshot(intake)


def bad_runs(settings: Settings) -> list[str]:
    """Flow runs of this stack that failed or crashed, with their state message."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType

    bad = {StateType.FAILED, StateType.CRASHED}
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
    return [
        f"{r.name}: {r.state_type} {r.state.message if r.state else ''}"
        for r in runs
        if r.state_type in bad
    ]


def test_a_storm_of_uploads_ends_with_no_failed_run_and_the_clean_totals(tmp_path: Path) -> None:
    files = storm_files(FILES)
    with own_stack(
        tmp_path,
        prefect=True,
        bucket="storm",
        work_pool="dvkn-storm",
        root_unit=COUNTRY,
        batch_window_seconds=2.0,
        drain_idle_seconds=5.0,
        intake_concurrency=2,
        file_concurrency=16,
    ) as settings:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from dvkn_pipeline.services.orchestration import register

        clean = clean_run(settings, files)
        with temporary_settings(updates={PREFECT_API_URL: local_env.prefect_api_url(settings)}):
            register(settings)
            processes.start_service(local_stack.worker_spec(settings, 0), settings)
            processes.start_service(local_stack.sensor_spec(settings), settings)
            intake = build_intake(settings)

            started = time.monotonic()
            put_all(intake, files)
            uploaded = time.monotonic() - started
            deadline = started + 60 + SECONDS_PER_FILE * len(files)
            while intake.tables.read_ledger().height < len(files) or intake.stale_periods():
                assert time.monotonic() < deadline, (
                    f"{intake.tables.read_ledger().height}/{len(files)} recorded, "
                    f"stale: {intake.stale_periods()}"
                )
                time.sleep(1.0)
            print(
                f"storm: {len(files)} uploads in {uploaded:.1f}s, "
                f"all recorded and rolled up {time.monotonic() - started:.1f}s after the first"
            )
            assert bad_runs(settings) == []

        got = snapshot(intake)
        assert got["uploads"] == len(files)
        assert got["ledger"] == clean["ledger"]
        assert got["completeness"] == clean["completeness"]
        assert got["rollup"] == clean["rollup"]
