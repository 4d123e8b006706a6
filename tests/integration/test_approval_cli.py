"""Approval across levels through the CLI, on real Delta tables (SeaweedFS) and Prefect.

A district of Hanoi reports 2025-Q1; its steward approves its communes in bulk,
returns one with a reason (the automation notifies), the commune sends a
corrected file, the district re-approves and approves itself; a later upload is
held for re-approval and flags the district; the approved roll-up and export
read the approved submissions; the city withdraws the district's approval.
Uploads are judged in-process (``build_intake``); every approval step is a
``dvkn`` command as a steward types it.
"""

from __future__ import annotations

import io
import json
import queue
import time
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from dvkn_pipeline.cli.app import app
from dvkn_pipeline.ops import local_env
from dvkn_pipeline.ops.demo import Upload, upload_all
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")
DISTRICT = "003"  # Quận Tây Hồ: eight wards
COMMUNES = [u.code for u in HANOI.children(DISTRICT)]
IND = "MH_DANG_KY"


def _run(settings: Settings, *args: str, json_out: bool = True) -> tuple[int, Any]:
    extra = ["--json"] if json_out else []
    result = CliRunner().invoke(app, [*args, *extra], env=local_env.dvkn_env(settings))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if not json_out or result.exit_code != 0:
        return result.exit_code, result.output
    return result.exit_code, json.loads(result.stdout)


def _as(scope: str, name: str = "Minh") -> list[str]:
    return ["--by", name, "--scope", scope]


def _upload(settings: Settings, unit: str, report: SyntheticReport, name: str) -> None:
    intake = build_intake(settings)
    upload_all(
        intake.bucket, [Upload(incoming_key(unit, Q1.code, name), report, report.to_csv(CAT))]
    )
    result = intake.process(intake.pending())
    intake.refresh(result.periods)


def _board(settings: Settings) -> dict[str, dict[str, Any]]:
    code, out = _run(settings, "approvals", "--period", Q1.code)
    assert code == 0
    return {u["unit_code"]: u for u in out["units"]}


def test_approve_return_correct_reapprove_lock_and_unapprove_through_the_cli(
    fresh_bucket: Settings, listener: queue.Queue[dict[str, Any]], tmp_path: Path
) -> None:
    settings = fresh_bucket
    code, _ = _run(settings, "automations", "apply")
    assert code == 0
    time.sleep(3)  # automations start listening a moment after they are created
    reports = {c: generate_report(HANOI.unit(c), Q1, CAT, seed=3) for c in COMMUNES}
    intake = build_intake(settings)
    upload_all(
        intake.bucket,
        [
            Upload(incoming_key(c, Q1.code, "bao-cao.csv"), r, r.to_csv(CAT))
            for c, r in reports.items()
        ],
    )
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    first, second = COMMUNES[0], COMMUNES[1]

    # Forbidden and refused: a sibling district, the city on a commune, the district too early.
    code, out = _run(settings, "approve", "-u", first, "-p", Q1.code, *_as("001"), json_out=False)
    assert code == 1 and "ForbiddenError" in out and "steward of 003" in out
    code, out = _run(settings, "approve", "-u", first, "-p", Q1.code, *_as("01"), json_out=False)
    assert code == 1 and "ForbiddenError" in out
    code, out = _run(
        settings, "approve", "-u", DISTRICT, "-p", Q1.code, *_as(DISTRICT), json_out=False
    )
    assert code == 1 and "cannot be approved yet" in out

    # Bulk: every ward in one action.
    code, out = _run(
        settings, "approve", "-u", DISTRICT, "-p", Q1.code, "--children", *_as(DISTRICT)
    )
    assert code == 0 and sorted(u.split("/")[1] for u in out["done"]) == sorted(COMMUNES)
    assert out["announced"]

    # Return one ward with a reason: the automation tells the ward.
    reason = "Số mô hình cấp cơ sở chưa khớp với tổng"
    code, out = _run(
        settings, "return", "-u", first, "-p", Q1.code, "--reason", reason, *_as(DISTRICT)
    )
    assert code == 0 and out["done"] == [first]
    deadline = time.monotonic() + 120
    while True:
        message = listener.get(timeout=max(1.0, deadline - time.monotonic()))
        if "returned" in message.get("subject", "") and first in message["subject"]:
            break
    assert reason in message["body"]
    board = _board(settings)
    assert board[first]["state"] == "returned" and board[first]["returned_reason"] == reason
    code, out = _run(
        settings, "approve", "-u", first, "-p", Q1.code, *_as(DISTRICT), json_out=False
    )
    assert code == 1 and "has not sent a corrected report" in out

    # The corrected file, then re-approval from the bottom.
    _upload(
        settings, first, generate_report(HANOI.unit(first), Q1, CAT, seed=4, version=2), "lan-2.csv"
    )
    assert _board(settings)[first]["state"] == "submitted"
    assert _run(settings, "approve", "-u", first, "-p", Q1.code, *_as(DISTRICT))[0] == 0
    assert _run(settings, "approve", "-u", DISTRICT, "-p", Q1.code, *_as(DISTRICT))[0] == 0
    board = _board(settings)
    assert board[DISTRICT]["state"] == "approved" and board[DISTRICT]["step"] == "1/2"
    assert board[DISTRICT]["next_action"] == "accept" and board[DISTRICT]["next_by_unit"] == "01"
    approved_before = _figures(settings, "approved")

    # The lock: a later upload is judged, but held; the district shows the change.
    _upload(
        settings,
        second,
        generate_report(HANOI.unit(second), Q1, CAT, seed=9, version=2),
        "lan-2.csv",
    )
    board = _board(settings)
    assert board[second]["pending_reapproval"] and board[second]["changed_since_approval"] == 1
    assert board[DISTRICT]["changed_since_approval"] == 1
    assert _figures(settings, "approved") == approved_before
    assert _figures(settings, "accepted") != approved_before

    # Approved figures against the facts of the approved submissions, read apart.
    facts = intake.tables.read_facts(Q1.code)
    approved_ids = [board[c]["approved"]["submission_id"] for c in COMMUNES]
    plain = facts.filter(
        pl.col("submission_id").is_in(approved_ids) & (pl.col("indicator") == IND)
    )["value"].sum()
    assert approved_before == plain

    # status shows approved beside accepted; the export says which figures on every sheet.
    code, out = _run(settings, "status", "-p", Q1.code, "--level", "district", "-u", DISTRICT)
    [row] = [
        r for r in out["rows"] if r["unit_code"] == DISTRICT and r["reporter_level"] == "commune"
    ]
    assert (row["accepted"], row["approved"]) == (len(COMMUNES), len(COMMUNES))
    target = tmp_path / "approved.xlsx"
    code, out = _run(
        settings, "export", "-p", Q1.code, "--level", "commune", "--basis", "approved",
        "--out", str(target), json_out=False,
    )  # fmt: skip
    assert code == 0, out
    book = openpyxl.load_workbook(io.BytesIO(target.read_bytes()))
    for ws in book.worksheets:
        texts = [c.value for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
        assert any("Approved figures only" in t for t in texts), ws.title

    # Unapprove from above: the city withdraws the district's approval; recorded, announced.
    code, out = _run(settings, "unapprove", "-u", DISTRICT, "-p", Q1.code, *_as("01", "Lan"))
    assert code == 0 and out["done"] == [DISTRICT]
    assert _board(settings)[DISTRICT]["state"] == "submitted"

    # A unit's history through the CLI, and as an open Delta table any tool reads.
    code, out = _run(settings, "approvals", "-p", Q1.code, "--unit", first)
    assert code == 0 and out["state"] == "approved"
    assert [(e["action"], e["comment"]) for e in out["history"]] == [
        ("approve", None),
        ("return", reason),
        ("approve", None),
    ]
    assert out["history"][2]["upload_key"].endswith("lan-2.csv")
    rows = pl.read_delta(settings.table_uri("approvals"), storage_options=settings.scan_options())
    assert rows.filter(pl.col("unit_code") == first)["action"].to_list() == [
        "approve",
        "return",
        "approve",
    ]
    assert set(rows["hierarchy_version"].to_list()) == {HANOI.version_id}


def _figures(settings: Settings, basis: str) -> float:
    code, out = _run(
        settings, "rollup", "-p", Q1.code, "--level", "district", "--unit", DISTRICT,
        "--basis", basis,
    )  # fmt: skip
    assert code == 0 and out["basis"]["code"] == basis
    [unit] = out["units"]
    return float(
        sum(f["value"] for f in unit["figures"] if f["indicator"] == IND and f["category"] is None)
    )
