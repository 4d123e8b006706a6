"""``dvkn status``, ``submissions``, ``explain`` and ``chart`` against real Delta tables on SeaweedFS.

Uploads are processed in-process through ``build_intake`` (no worker needed);
the commands run through typer's CliRunner with the DVKN_* environment of the
test bucket, exactly as a steward's shell would have it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from typer.testing import CliRunner

from dvkn_pipeline.cli.app import app
from dvkn_pipeline.ops import local_env
from dvkn_pipeline.ops.demo import Upload, upload_all
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import Unit, load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")


def _quarter_still_open() -> Period:
    """The first quarter whose commune deadline is still ahead: today's upload is on time."""
    today = date.today()
    year, quarter = today.year, (today.month - 1) // 3 + 1
    while True:
        period = Period.parse(f"{year}-Q{quarter}")
        if period.deadline("commune") > today:
            return period
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)


OPEN = _quarter_still_open()
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")
HANOI_OPEN = load_hierarchies().for_date(OPEN.reference_date).scope("01")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def _put(unit: str, period: Period, report: SyntheticReport, name: str) -> Upload:
    return Upload(incoming_key(unit, period.code, name), report, report.to_csv(CAT))


def _run(settings: Settings, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, [*args, "--json"], env=local_env.dvkn_env(settings))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def test_status_submissions_explain_and_chart_on_real_tables(
    fresh_bucket: Settings, tmp_path: Path
) -> None:
    settings = fresh_bucket
    communes = HANOI.children("001")
    c_ok, c_fixed, c_bad, c_ok2 = (u.code for u in communes[:4])
    reports = {u.code: generate_report(u, Q1, CAT, seed=5) for u in communes[:4]}
    corrected = generate_report(communes[1], Q1, CAT, seed=77, version=2)
    broken = reports[c_bad]
    bad_rows = [dict(r) for r in broken.rows]
    for r in bad_rows:
        if r["indicator"] == "Y_KIEN_GIAI_QUYET":
            r["value"] = broken.value("Y_KIEN_TIEP_NHAN") + 5
    broken = SyntheticReport(broken.unit, Q1, 1, broken.header, bad_rows)
    district = generate_report(HANOI.unit("001"), Q1, CAT, seed=5)
    stranger = Unit("99999", "Xã Không Có", "commune", "xã", "001")
    on_time_unit = HANOI_OPEN.units_at("commune")[0]
    intake = build_intake(settings)
    upload_all(
        intake.bucket,
        [
            _put(c_ok, Q1, reports[c_ok], "bao-cao.csv"),
            _put(c_fixed, Q1, reports[c_fixed], "bao-cao.csv"),
            _put(c_bad, Q1, broken, "bao-cao.csv"),
            _put(c_ok2, Q1, reports[c_ok2], "bao-cao.csv"),
            _put("001", Q1, district, "bao-cao-huyen.csv"),
            _put("99999", Q1, generate_report(stranger, Q1, CAT, seed=5), "bao-cao.csv"),
            _put(
                on_time_unit.code,
                OPEN,
                generate_report(on_time_unit, OPEN, CAT, seed=5),
                "bao-cao.csv",
            ),
        ],
    )
    result = intake.process(intake.pending())
    upload_all(intake.bucket, [_put(c_fixed, Q1, corrected, "bao-cao-lan-2.csv")])
    second = intake.process(intake.pending())
    intake.refresh(result.periods | second.periods)
    ledger = intake.tables.read_ledger(Q1.code)

    # -- status, commune lines ---------------------------------------------------------
    code, out = _run(settings, "status", "--period", Q1.code, "--level", "commune", "-u", "001")
    assert code == 0
    by_unit = {u["unit_code"]: u for u in out["units"]}
    assert len(by_unit) == len(communes)
    first_seen = {
        r["unit_code"]: r["received_at"]
        for r in ledger.filter(pl.col("status") == "accepted")
        .group_by("unit_code")
        .agg(pl.col("received_at").min())
        .iter_rows(named=True)
    }
    deadline = date(2025, 3, 17)
    for unit in (c_ok, c_fixed, c_ok2):
        days = (first_seen[unit].astimezone(VIETNAM).date() - deadline).days
        assert days > 500 and by_unit[unit]["days_late"] == days
    assert by_unit[c_ok]["state"] == by_unit[c_ok2]["state"] == "late"
    assert by_unit[c_fixed]["state"] == "corrected"
    assert by_unit[c_fixed]["live_key"].endswith("bao-cao-lan-2.csv")
    assert by_unit[c_bad]["state"] == "rejected"
    assert out["totals"] == {
        "on_time": 0,
        "late": 2,
        "corrected": 1,
        "correction_rejected": 0,
        "rejected": 1,
        "missing": len(communes) - 4,
        "expected": len(communes),
        "attention": 1,
    }
    assert [(u["claimed_unit"], u["status"]) for u in out["unexpected"]] == [("99999", "rejected")]

    # -- the city-wide list of units needing attention, with district and reason --------------
    code, out = _run(settings, "status", "--period", Q1.code, "--state", "attention")
    assert code == 0
    [bad] = [u for u in out["units"] if u["unit_code"] == c_bad]
    assert (bad["district_code"], bad["state"]) == ("001", "rejected")
    assert bad["reason"] and " / " in bad["reason"]

    # -- status, district counts agree with the stored completeness table --------------------
    code, out = _run(settings, "status", "--period", Q1.code, "--level", "district", "-u", "001")
    assert code == 0
    rows = {r["reporter_level"]: r for r in out["rows"]}
    assert {k: rows["commune"][k] for k in ("expected", "received", "accepted", "rejected")} == {
        "expected": len(communes),
        "received": 4,
        "accepted": 3,
        "rejected": 1,
    }
    assert rows["commune"]["late"] == 3 and rows["commune"]["pct_accepted"] <= 100
    stored = (
        intake.tables.read_completeness(Q1.code)
        .filter((pl.col("unit_code") == "001") & (pl.col("reporter_level") == "commune"))
        .row(0, named=True)
    )
    for k in ("expected", "received", "accepted", "rejected", "missing", "on_time", "late"):
        assert rows["commune"][k] == stored[k], k
    assert rows["district"]["accepted"] == 1

    # -- on time in a period whose deadline has not passed --------------------------------------
    code, out = _run(settings, "status", "--period", OPEN.code, "--level", "commune")
    assert code == 0
    mine = next(u for u in out["units"] if u["unit_code"] == on_time_unit.code)
    assert (mine["state"], mine["days_late"]) == ("on_time", 0)
    assert out["totals"]["expected"] == len(HANOI_OPEN.units_at("commune"))

    # -- submissions ---------------------------------------------------------------
    code, out = _run(settings, "submissions", "--unit", c_fixed, "--period", Q1.code)
    assert code == 0
    uploads = out["uploads"]
    assert [u["report_version"] for u in uploads] == [1, 2]
    assert [u["live"] for u in uploads] == [False, True]
    assert all(u["version_id"] and intake.bucket.exists(u["receipt_key"]) for u in uploads)

    # -- explain: the live versions add up to the stored roll-up ---------------------------
    live_reports = [reports[c_ok], corrected, reports[c_ok2], district]
    code, out = _run(settings, "explain", "-p", Q1.code, "-u", "001", "--indicator", "MH_DANG_KY")
    assert code == 0 and out["matches"]
    assert out["stored"] == out["recomputed"] == sum(r.value("MH_DANG_KY") for r in live_reports)
    assert sorted(s["unit_code"] for s in out["submissions"]) == sorted(
        ["001", c_ok, c_fixed, c_ok2]
    )
    code, out = _run(
        settings,
        "explain",
        "-p",
        Q1.code,
        "-u",
        "01",
        "--indicator",
        "MH_CONG_NHAN",
        "--dim",
        "field=KT",
        "--dim",
        "holder=TT",
    )
    assert code == 0 and out["matches"]
    assert out["recomputed"] == sum(
        r.value("MH_CONG_NHAN", field="KT", holder="TT") for r in live_reports
    )
    code, out = _run(
        settings, "explain", "-p", Q1.code, "-u", "001", "--indicator", "TL_GD_VAN_HOA"
    )
    communes_live = [reports[c_ok], corrected, reports[c_ok2]]
    num = sum(r.value("GD_VAN_HOA_DAT") for r in communes_live)
    den = sum(r.value("GD_TONG_SO") for r in communes_live)
    assert code == 0 and out["matches"]
    assert (out["numerator"], out["denominator"]) == (num, den)
    assert out["recomputed"] == pytest.approx(100 * num / den)

    # -- chart, published to the session's Prefect server ------------------------------------
    code, out = _run(settings, "chart", "-p", Q1.code, "--out", str(tmp_path), "--publish")
    assert code == 0
    assert Path(out["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Quận Ba Đình" in Path(out["html"]).read_text(encoding="utf-8")
    ba_dinh = next(r for r in out["rows"] if r["unit_code"] == "001")
    assert (ba_dinh["late"], ba_dinh["corrected"], ba_dinh["rejected"]) == (2, 1, 1)
    assert intake.bucket.exists(f"reports/completeness/{Q1.code}.png")
    from prefect import get_client

    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts()}
    # One artifact: the picture is embedded (a data URI), no expiring image link beside it.
    assert "completeness-2025-q1" in keys
