"""Upload → sensor → Prefect event → triggered deployment → receipts, ledger, roll-up.

Real SeaweedFS, real Prefect server, a real process worker and the polling
sensor; nothing is called in-process except the checks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import polars as pl
import pytest

from dvkn_pipeline.judging.receipt import render_markdown
from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.ops.demo import Upload, upload_all, wait_for_ledger, wait_for_rollup
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key, receipt_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.bucket import Bucket
from schemas.records import Receipt
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).subtree("01")


@pytest.fixture(scope="module")
def pipeline(stack_settings: Settings) -> Iterator[Settings]:
    """Deployments registered, one worker and the sensor watching a fresh bucket."""
    settings = stack_settings.model_copy(
        update={"bucket": "e2e-intake", "batch_window_seconds": 3.0}
    )
    local_stack.ensure_bucket(settings)
    from dvkn_pipeline.services.orchestration import register

    register(settings)
    processes.start_service(local_stack.worker_spec(settings, 0), settings)
    processes.start_service(local_stack.sensor_spec(settings), settings)
    yield settings
    processes.stop_service("sensor", settings)
    local_stack.stop(settings, "worker-0")


@dataclass
class Sent:
    uploads: list[Upload]
    live: dict[str, SyntheticReport]


def _upload(unit: str, report: SyntheticReport, name: str, content: bytes | None = None) -> Upload:
    return Upload(incoming_key(unit, Q1.code, name), report, content or report.to_csv(CAT))


def test_reports_are_processed_by_the_event_triggered_deployment(pipeline: Settings) -> None:
    communes = list(HANOI.children("001"))[:6]
    reports = {u.code: generate_report(u, Q1, CAT, seed=11) for u in communes[:4]}
    excel_unit = communes[5]
    reports[excel_unit.code] = generate_report(excel_unit, Q1, CAT, seed=12)
    corrected = generate_report(communes[1], Q1, CAT, seed=99, version=2)
    broken_unit = communes[4]
    broken = generate_report(broken_unit, Q1, CAT, seed=11)
    bad_rows = [dict(r) for r in broken.rows]
    for r in bad_rows:
        if r["indicator"] == "Y_KIEN_GIAI_QUYET":
            r["value"] = broken.value("Y_KIEN_TIEP_NHAN") + 7
    broken = SyntheticReport(broken_unit, Q1, 1, broken.header, bad_rows)

    first = communes[0].code
    from tests.corpus import filled_template

    uploads = [
        *[
            _upload(code, rep, "bao-cao.csv")
            for code, rep in reports.items()
            if code != excel_unit.code
        ],
        _upload(
            excel_unit.code,
            reports[excel_unit.code],
            "bao-cao.xlsx",
            filled_template(reports[excel_unit.code]),
        ),
        _upload(communes[1].code, corrected, "bao-cao-lan-2.csv"),
        _upload(broken_unit.code, broken, "bao-cao.csv"),
    ]
    intake = build_intake(pipeline)
    bucket: Bucket = intake.bucket
    ids = upload_all(bucket, uploads)
    wait_for_ledger(intake.tables, ids, timeout=240)
    resent = _upload(first, reports[first], "gui-lai.csv")  # the same bytes, sent again later
    uploads.append(resent)
    ids += upload_all(bucket, [resent])

    ledger = wait_for_ledger(intake.tables, ids, timeout=120)
    status = dict(zip(ledger["key"], ledger["status"], strict=True))
    assert sorted(status.values()) == ["accepted"] * 6 + ["duplicate", "rejected"]
    assert status[incoming_key(broken_unit.code, Q1.code, "bao-cao.csv")] == "rejected"
    assert status[incoming_key(first, Q1.code, "gui-lai.csv")] == "duplicate"

    # Receipts beside every upload; the rejected one says what and where.
    for u in uploads:
        receipt = bucket.get_json(receipt_key(u.key))
        assert receipt is not None and receipt["status"] == status[u.key]
        # One object per receipt; what the clerk reads is rendered from it.
        assert u.key in render_markdown(Receipt.model_validate(receipt))
    rejected = bucket.get_json(receipt_key(incoming_key(broken_unit.code, Q1.code, "bao-cao.csv")))
    assert rejected is not None
    [problem] = rejected["problems"]
    assert problem["rule"] == "resolved_le_received"
    assert problem["row"] is not None and problem["sheet"] == "csv"

    # Roll-up: the district holds the live version of each commune's report.
    live = {**reports, communes[1].code: corrected}
    wait_for_rollup(intake.tables, Q1.code, "01", accepted_units=5, timeout=120)
    table = intake.tables.read_rollup(Q1.code)
    for indicator in ("MH_DANG_KY", "TIEN_VAN_DONG", "Y_KIEN_TIEP_NHAN"):
        expected = sum(r.value(indicator) for r in live.values())
        for unit in ("001", "01"):
            got = table.filter((pl.col("unit_code") == unit) & (pl.col("indicator") == indicator))[
                "value"
            ].sum()
            assert got == expected, (unit, indicator)

    comp = intake.tables.read_completeness(Q1.code)
    district = comp.filter(
        (pl.col("unit_code") == "001") & (pl.col("reporter_level") == "commune")
    ).row(0, named=True)
    assert (district["received"], district["accepted"], district["rejected"]) == (6, 5, 1)
    assert district["expected"] == len(HANOI.children("001"))

    # Stewards see the run in Prefect: a completed run of the triggered deployment, with artifacts.
    _assert_prefect_run_with_artifacts(deadline=time.monotonic() + 60)


def _assert_prefect_run_with_artifacts(deadline: float) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        [dep] = client.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["on-upload"]))
        )
        assert dep.triggers if hasattr(dep, "triggers") else True
        while True:
            runs = [r for r in client.read_flow_runs() if r.deployment_id == dep.id]
            # A run that rejected files ends in a named Completed state ("Completed (1 rejected)").
            done = [r for r in runs if r.state is not None and r.state.is_completed()]
            if done or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert done, [r.state_name for r in runs]
        assert any((r.state_name or "").startswith("Completed (") for r in done), [
            r.state_name for r in done
        ]
        # Its name says what it did, not a random pair of words.
        assert any("nhận" in r.name and "từ chối" in r.name for r in done), [r.name for r in done]
        # Its Parameters say what the starting event announced, not one key of many.
        triggered = [r for r in done if r.parameters.get("announced")]
        assert triggered and all("key" not in r.parameters for r in triggered)
        assert any(
            str(r.parameters["announced"]).split(" uploads from incoming/")[0].isdigit()
            for r in triggered
        ), [r.parameters for r in triggered]
        artifacts = client.read_artifacts()
        keys = {a.key for a in artifacts}
        assert {"intake-files", "intake-summary", "intake-progress"} <= keys
        # One table per run, not one per batch.
        for r in done:
            tables = [a for a in artifacts if a.flow_run_id == r.id and a.key == "intake-files"]
            assert len(tables) <= 1, r.name


def test_the_reconcile_sweep_gets_scheduled_runs(pipeline: Settings) -> None:
    """The lost-event sweep only exists if the server's scheduler creates its runs.

    (SQLAlchemy 2.1 broke Prefect 3.8.8's scheduler silently: the deployment was
    there, its runs never were.)
    """
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from schemas.deployments import RECONCILE

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(RECONCILE)
        assert deployment.schedules, "the reconcile deployment has no schedule"
        deadline = time.monotonic() + 90
        runs: list[object] = []
        while time.monotonic() < deadline and not runs:
            runs = list(
                client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
                )
            )
            time.sleep(2)
    assert runs, "the scheduler created no run of the reconcile deployment within 90 s"


def test_dvkn_health_passes_on_the_running_pipeline_and_names_a_stuck_upload(
    pipeline: Settings,
) -> None:
    import json

    from typer.testing import CliRunner

    from dvkn_pipeline.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, ["health", "--json"], env=local_env.dvkn_env(pipeline))
    assert result.exit_code == 0, result.output
    verdicts = {c["name"]: c["verdict"] for c in json.loads(result.output)["checks"]}
    assert verdicts == {
        "store": "ok",
        "workers": "ok",
        "sweep": "ok",
        "backlog": "ok",
        "rollups": "ok",
    }

    # A bucket no deployment watches: its upload waits, and health says which one.
    orphan = pipeline.model_copy(update={"bucket": "e2e-health-orphan"})
    local_stack.ensure_bucket(orphan)
    report = generate_report(HANOI.units_at("commune")[0], Q1, CAT, seed=5)
    upload_all(build_intake(orphan).bucket, [_upload(report.unit.code, report, "cho.csv")])
    result = runner.invoke(
        app,
        ["health", "--json", "--backlog-minutes", "0"],
        env=local_env.dvkn_env(orphan),
    )
    assert result.exit_code == 1, result.output
    (backlog,) = [c for c in json.loads(result.output)["checks"] if c["name"] == "backlog"]
    assert backlog["verdict"] == "fail"
    assert incoming_key(report.unit.code, Q1.code, "cho.csv") in backlog["detail"]


def test_dvkn_upload_waits_for_the_receipt_and_prints_it(
    pipeline: Settings, tmp_path: object
) -> None:
    """Issue 11: `dvkn upload` returns with the receipt (through this module's sensor and
    worker); `dvkn receipt --wait` shows it, or says clearly that it did not come.

    Last in the module: its upload adds to the district the tests above count.
    """
    from pathlib import Path

    from typer.testing import CliRunner

    from dvkn_pipeline.cli.app import app
    from tests.corpus import UNIT, filled_template

    env = local_env.dvkn_env(pipeline)
    path = Path(str(tmp_path)) / "bao-cao.xlsx"
    path.write_bytes(filled_template(generate_report(UNIT, Q1, CAT, seed=31)))
    runner = CliRunner()
    args = ["upload", str(path), "--unit", UNIT.code, "--period", Q1.code, "--timeout", "180"]
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    assert "ĐÃ NHẬN / ACCEPTED" in done.output
    assert "Quý I/2025 (2025-Q1)" in done.output

    key = incoming_key(UNIT.code, Q1.code, "bao-cao.xlsx")
    shown = runner.invoke(app, ["receipt", key, "--wait", "--timeout", "5"], env=env)
    assert shown.exit_code == 0 and "ĐÃ NHẬN / ACCEPTED" in shown.output

    missing = incoming_key(UNIT.code, Q1.code, "khong-co.xlsx")
    late = runner.invoke(app, ["receipt", missing, "--wait", "--timeout", "2"], env=env)
    assert late.exit_code == 1
    assert "dvkn receipt" in late.output and "--wait" in late.output

    # The same bytes again under the same name: a version of its own, recorded as a
    # duplicate through the change feed (not left for the reconcile sweep).
    again = runner.invoke(app, [*args[:-1], "90"], env=env)
    assert again.exit_code == 0, again.output
    rows = build_intake(pipeline).tables.read_ledger().filter(pl.col("key") == key)
    assert sorted(rows["status"].to_list()) == ["accepted", "duplicate"]


def test_a_version_overwritten_before_it_was_judged_gets_its_own_row_and_receipt(
    pipeline: Settings,
) -> None:
    """Through the change feed: version 1 overwritten by version 2 at once; both are judged."""
    intake = build_intake(pipeline)
    unit = HANOI.units_at("commune")[5]
    key = incoming_key(unit.code, Q1.code, "ghi-de.csv")
    first = generate_report(unit, Q1, CAT, seed=41).to_csv(CAT)
    second = generate_report(unit, Q1, CAT, seed=42, version=2).to_csv(CAT)
    intake.bucket.put_bytes(key, first, "text/csv")
    intake.bucket.put_bytes(key, second, "text/csv")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = intake.tables.read_ledger().filter(pl.col("key") == key)
        if rows.height == 2:
            break
        time.sleep(1.0)
    assert rows.height == 2, rows
    for row in rows.iter_rows(named=True):
        receipt = intake.bucket.get_json(row["receipt_key"])
        assert receipt is not None and receipt["sha256"] == row["sha256"]
    assert len(set(rows["receipt_key"].to_list())) == 2
