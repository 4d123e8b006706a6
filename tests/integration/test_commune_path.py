"""The commune's path on the real object store (issue 11): every drop-down choice is
accepted through the intake, and every object version under incoming/ ends with a
ledger row and a receipt, including a same-name re-upload and an overwritten version.

In-process intake against a real SeaweedFS (versioned bucket); no Prefect server.
"""

from __future__ import annotations

import uuid

import polars as pl
import pytest

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.s3_client import make_s3_client
from dvkn_pipeline.views.status import submission_history
from dvkn_pipeline.views.template import write_template
from schemas.settings import Settings
from tests.corpus import CAT, HANOI, Q1, UNIT, dropdowns, filled_template, with_cell

pytestmark = pytest.mark.integration


@pytest.fixture
def store(object_store: Settings) -> Settings:
    settings = object_store.model_copy(update={"bucket": f"t-{uuid.uuid4().hex[:12]}"})
    local_stack.ensure_bucket(settings)
    return settings


def test_every_offered_choice_is_accepted_through_the_intake(store: Settings) -> None:
    bucket = Bucket(make_s3_client(store), store.bucket)
    labels = {v.vi: c for c, v in CAT.model.dimensions["ntm_standard"].values.items()}
    expected: dict[str, str] = {}
    for code in ("00004", "00379", "00376"):  # ward, commune, town
        unit = HANOI.unit(code)
        filled = filled_template(generate_report(unit, Q1, CAT, seed=7))
        [(sheet, cell, choices)] = dropdowns(write_template(unit, Q1, CAT))
        for i, choice in enumerate(choices):
            key = incoming_key(code, Q1.code, f"chon-{i}.xlsx")
            bucket.put_bytes(key, with_cell(filled, sheet, cell, choice))
            expected[key] = labels[choice]
    intake = build_intake(store)
    result = intake.process(intake.pending())
    assert {o.key: o.status.value for o in result.outcomes} == dict.fromkeys(expected, "accepted")
    ledger = intake.tables.read_ledger()
    facts = intake.tables.read_facts(Q1.code, ledger["submission_id"].to_list())
    got = facts.filter(pl.col("indicator") == "NTM_MUC_DAT")
    by_sub = dict(zip(got["submission_id"], got["category"], strict=True))
    for row in ledger.iter_rows(named=True):
        assert by_sub[row["submission_id"]] == expected[row["key"]]


def test_every_version_gets_a_ledger_row_and_a_receipt(store: Settings) -> None:
    bucket = Bucket(make_s3_client(store), store.bucket)
    report = generate_report(UNIT, Q1, CAT, seed=21)
    same = incoming_key(UNIT.code, Q1.code, "bao-cao.csv")
    first = bucket.put_bytes(same, report.to_csv(CAT))
    intake = build_intake(store)
    intake.process(intake.pending())

    again = bucket.put_bytes(same, report.to_csv(CAT))  # the same bytes, the same name
    assert again == first
    other = incoming_key(UNIT.code, Q1.code, "sua.csv")
    v2 = generate_report(UNIT, Q1, CAT, seed=22, version=2)
    v3 = generate_report(UNIT, Q1, CAT, seed=23, version=3)
    bucket.put_bytes(other, v2.to_csv(CAT))
    bucket.put_bytes(other, v3.to_csv(CAT))  # overwritten before anything saw version 2
    result = intake.process(intake.pending())
    assert sorted(o.status.value for o in result.outcomes) == ["accepted", "accepted", "duplicate"]

    ledger = intake.tables.read_ledger()
    assert ledger.height == 4
    versions = list(bucket.list_versions(store.incoming_prefix))
    assert {v.upload_id for v in versions} == set(ledger["upload_id"].to_list())
    for row in ledger.iter_rows(named=True):
        receipt = bucket.get_json(row["receipt_key"])
        assert receipt is not None and receipt["status"] == row["status"], row["key"]
        assert receipt["sha256"] == row["sha256"]
    assert intake.pending() == []

    history = submission_history(ledger, Q1, UNIT.code)
    assert history.height == 4
    assert sorted(history["status"].to_list()) == ["accepted", "accepted", "accepted", "duplicate"]
    live = history.filter(pl.col("live"))
    assert live["key"].to_list() == [other] and live["report_version"].to_list() == [3]


def test_dvkn_upload_waits_for_the_receipt_and_prints_it(
    stack_settings: Settings, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real sensor, a real Prefect worker: `dvkn upload` returns with the receipt."""
    from pathlib import Path

    from typer.testing import CliRunner

    from dvkn_pipeline.cli.app import app
    from dvkn_pipeline.ops import processes
    from dvkn_pipeline.services.orchestration import register

    settings = stack_settings.model_copy(
        update={"bucket": "commune-wait", "batch_window_seconds": 2.0}
    )
    local_stack.ensure_bucket(settings)
    monkeypatch.setenv("DVKN_BUCKET", settings.bucket)
    register(settings)
    processes.start_service(local_stack.worker_spec(settings, 0), settings)
    processes.start_service(local_stack.sensor_spec(settings), settings)
    try:
        path = Path(str(tmp_path)) / "bao-cao.xlsx"
        path.write_bytes(filled_template(generate_report(UNIT, Q1, CAT, seed=31)))
        runner = CliRunner()
        args = ["upload", str(path), "--unit", UNIT.code, "--period", Q1.code, "--timeout", "180"]
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
        assert "ĐÃ NHẬN / ACCEPTED" in done.output
        assert "Quý I/2025 (2025-Q1)" in done.output

        key = incoming_key(UNIT.code, Q1.code, "bao-cao.xlsx")
        shown = runner.invoke(app, ["receipt", key, "--wait", "--timeout", "5"])
        assert shown.exit_code == 0 and "ĐÃ NHẬN / ACCEPTED" in shown.output

        missing = incoming_key(UNIT.code, Q1.code, "khong-co.xlsx")
        late = runner.invoke(app, ["receipt", missing, "--wait", "--timeout", "2"])
        assert late.exit_code == 1
        assert "dvkn receipt" in late.output and "--wait" in late.output
    finally:
        processes.stop_service("sensor", settings)
        processes.stop_service("worker-0", settings)
