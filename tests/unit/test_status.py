"""Steward views over an in-memory scenario: missing, late, corrected, rejected and unexpected uploads."""

from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from dvkn_pipeline.judging.facts import empty_facts
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import completeness, live_submissions, rollup
from dvkn_pipeline.storage.tables import ledger_polars_schema
from dvkn_pipeline.views.status import (
    StatusError,
    explain_figure,
    level_counts,
    state_grid,
    state_text,
    state_text_both,
    status_report,
    submission_history,
    unit_list,
    unit_states,
)

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")
# Commune deadline: 17 March 2025, 23:59:59 in Vietnam (16:59:59 UTC).
ON_TIME = datetime(2025, 3, 16, 3, tzinfo=UTC)
LAST_SECOND = datetime(2025, 3, 17, 16, 59, 59, tzinfo=UTC)
LATE_3_DAYS = datetime(2025, 3, 20, 10, tzinfo=UTC)  # 17:00 on the 20th in Hanoi
LATE_2_DAYS = datetime(2025, 3, 18, 17, tzinfo=UTC)  # midnight starting the 19th in Hanoi
BA_DINH_COMMUNES = [u.code for u in HANOI.children("001")]


def upload(
    unit: str,
    name: str,
    status: str,
    at: datetime,
    version: int = 1,
    sub: str | None = None,
) -> dict[str, Any]:
    key = f"incoming/{unit}/{Q1.code}/{name}"
    sid = (sub or f"{unit}{name}").encode().hex()[:64].ljust(64, "0")
    return {
        "upload_id": f"{key}#etag-{name}",
        "key": key,
        "etag": f"etag-{name}",
        "sha256": sid,
        "size": 10,
        "uploader": None,
        "received_at": at,
        "processed_at": at,
        "status": status,
        "unit_code": unit,
        "period": Q1.code,
        "report_version": version,
        "submission_id": sid if status == "accepted" else None,
        "n_errors": 1 if status == "rejected" else 0,
        "n_warnings": 0,
        "receipt_key": f"receipts/{unit}/{Q1.code}/{name}.receipt.json",
        "archive_key": f"{key}?versionId=v-{name}",
        "flow_run_id": None,
    }


SCENARIO = [
    upload("00001", "a.csv", "accepted", ON_TIME),
    upload("00004", "a.csv", "accepted", LATE_3_DAYS),
    upload("00006", "a.csv", "accepted", LAST_SECOND),
    upload("00007", "a.csv", "rejected", ON_TIME),
    upload("00007", "b.csv", "rejected", LATE_3_DAYS),
    upload("00008", "a.csv", "rejected", ON_TIME),
    upload("00008", "b.csv", "accepted", LATE_2_DAYS),
    upload("00013", "v1.csv", "accepted", ON_TIME),
    upload("00013", "v2.csv", "accepted", LATE_3_DAYS, version=2),
    upload("00016", "a.csv", "accepted", ON_TIME),
    upload("00016", "again.csv", "duplicate", LATE_2_DAYS),
    upload("001", "huyen.csv", "accepted", LATE_2_DAYS),  # district deadline is the 20th
    upload("00070", "a.csv", "accepted", LATE_3_DAYS),  # another district (002)
    upload("99999", "a.csv", "rejected", ON_TIME),  # no such unit in 2025-Q1
]
LEDGER = pl.DataFrame(SCENARIO, schema=ledger_polars_schema())


def states_by_unit() -> dict[str, dict[str, Any]]:
    frame = unit_states(LEDGER, HANOI, CAT, Q1)
    return {r["unit_code"]: r for r in frame.iter_rows(named=True)}


def test_each_commune_gets_its_state_and_days_late() -> None:
    s = states_by_unit()
    got = {
        u: (s[u]["state"], s[u]["days_late"])
        for u in ["00001", "00004", "00006", "00007", "00008", "00013", "00016", "00019"]
    }
    assert got == {
        "00001": ("on_time", 0),
        "00004": ("late", 3),
        "00006": ("on_time", 0),  # the last second of the deadline day still counts
        "00007": ("rejected", None),
        "00008": ("late", 2),
        "00013": ("corrected", 0),  # timeliness is the first accepted version's
        "00016": ("on_time", 0),  # a duplicate is not a second version
        "00019": ("missing", None),
    }
    assert s["00013"]["live_key"].endswith("v2.csv") and s["00013"]["live_version"] == 2
    assert s["00007"]["n_rejected"] == 2 and s["00007"]["live_key"] is None
    assert s["001"]["reporter_level"] == "district" and s["001"]["state"] == "on_time"


def test_state_text_says_how_late() -> None:
    s = states_by_unit()
    assert state_text(s["00004"]) == "accepted late by 3 days"
    assert state_text(s["00019"]) == "missing"
    assert state_text(s["00007"]) == "rejected only"


def test_district_counts_each_commune_once_and_only_hierarchy_units() -> None:
    rows = level_counts(LEDGER, HANOI, CAT, Q1, "district").filter(
        (pl.col("unit_code") == "001") & (pl.col("reporter_level") == "commune")
    )
    r = rows.row(0, named=True)
    counts = {k: r[k] for k in ("expected", "received", "accepted", "rejected", "missing")}
    assert counts == {
        "expected": 13,
        "received": 7,
        "accepted": 6,
        "rejected": 1,
        "missing": 6,
    }
    assert (r["on_time"], r["late"]) == (4, 2)
    assert r["pct_accepted"] == pytest.approx(100 * 6 / 13, abs=0.05)


def test_counts_agree_with_the_stored_completeness_table() -> None:
    stored = completeness(LEDGER, HANOI, CAT, Q1).filter(pl.col("unit_level") == "district")
    ours = level_counts(LEDGER, HANOI, CAT, Q1, "district")
    cols = ["unit_code", "reporter_level", "expected", "accepted", "on_time", "late", "missing"]
    assert ours.select(cols).sort(cols).equals(stored.select(cols).sort(cols))


def test_never_more_than_100_percent_even_when_a_unit_floods_uploads() -> None:
    flood = pl.concat(
        [
            LEDGER,
            pl.DataFrame(
                [upload("00001", f"x{i}.csv", "accepted", ON_TIME, sub=f"x{i}") for i in range(40)]
                + [upload("88888", f"y{i}.csv", "accepted", ON_TIME) for i in range(40)],
                schema=ledger_polars_schema(),
            ),
        ]
    )
    city = level_counts(flood, HANOI, CAT, Q1, "province")
    assert (city["pct_accepted"] <= 100).all()
    assert (city["accepted"] <= city["expected"]).all()
    communes = city.filter(pl.col("reporter_level") == "commune").row(0, named=True)
    assert communes["expected"] == len(HANOI.units_at("commune")) == 526
    assert communes["accepted"] == 7  # 00001 counts once; 88888 not at all


def test_status_report_lists_unexpected_uploads_apart() -> None:
    report = status_report(LEDGER, HANOI, CAT, Q1, "commune", unit="001")
    assert [u["claimed_unit"] for u in report["unexpected"]] == ["99999"]
    assert len(report["units"]) == 13
    assert report["totals"] == {
        "on_time": 3,
        "late": 2,
        "corrected": 1,
        "correction_rejected": 0,
        "rejected": 1,
        "missing": 6,
        "expected": 13,
        "attention": 1,
    }
    assert report["deadlines"]["commune"] == "2025-03-17"


def test_status_report_at_city_level_uses_city_alias() -> None:
    report = status_report(LEDGER, HANOI, CAT, Q1, "city")
    by_level = {r["reporter_level"]: r for r in report["rows"]}
    assert by_level["district"]["accepted"] == 1 and by_level["district"]["expected"] == 30
    assert by_level["commune"]["late"] == 3  # 00004, 00008 and 00070


def test_a_level_the_period_does_not_have_is_refused() -> None:
    q3 = Period.parse("2025-Q3")
    two_level = load_hierarchies().for_date(q3.reference_date).scope("01")
    with pytest.raises(StatusError, match="district"):
        status_report(LEDGER.clear(), two_level, CAT, q3, "district")


def test_state_grid_rows_sum_to_the_communes_expected() -> None:
    grid = state_grid(unit_states(LEDGER, HANOI, CAT, Q1), HANOI, "district")
    ba_dinh = grid.filter(pl.col("unit_code") == "001").row(0, named=True)
    assert {k: ba_dinh[k] for k in ("on_time", "late", "corrected", "rejected", "missing")} == {
        "on_time": 3,
        "late": 2,
        "corrected": 1,
        "rejected": 1,
        "missing": 6,
    }
    assert ba_dinh["expected"] == len(BA_DINH_COMMUNES)
    assert grid.height == 30 and grid["expected"].sum() == 526


def test_submission_history_marks_the_live_version() -> None:
    hist = submission_history(LEDGER, Q1, "00013")
    assert hist["key"].to_list() == [
        f"incoming/00013/{Q1.code}/v1.csv",
        f"incoming/00013/{Q1.code}/v2.csv",
    ]
    assert hist["live"].to_list() == [False, True]
    assert hist["version_id"].to_list() == ["v-v1.csv", "v-v2.csv"]
    dup = submission_history(LEDGER, Q1, "00016")
    assert dup["status"].to_list() == ["accepted", "duplicate"]
    assert dup["live"].to_list() == [True, False]


# -- explain --------------------------------------------------------------------------


def fact(sub_of: str, unit: str, indicator: str, value: float, **dims: str) -> dict[str, Any]:
    sid = LEDGER.filter(pl.col("key").str.ends_with(f"/{unit}/{Q1.code}/{sub_of}"))[
        "submission_id"
    ].item()
    return {
        "submission_id": sid,
        "unit_code": unit,
        "period": Q1.code,
        "indicator": indicator,
        **{d: dims.get(d) for d in CAT.dimension_columns},
        "value": float(value),
    }


FACTS = pl.concat(
    [
        empty_facts(CAT),
        pl.DataFrame(
            [
                fact("a.csv", "00001", "MH_DANG_KY", 3, field="KT", level="CS"),
                fact("a.csv", "00001", "MH_DANG_KY", 2, field="VHXH", level="CS"),
                fact("v1.csv", "00013", "MH_DANG_KY", 100, field="KT", level="CS"),
                fact("v2.csv", "00013", "MH_DANG_KY", 7, field="KT", level="CS"),
                fact("huyen.csv", "001", "MH_DANG_KY", 10, field="KT", level="HUYEN"),
                fact("a.csv", "00070", "MH_DANG_KY", 50, field="KT", level="CS"),
                fact("a.csv", "00001", "GD_VAN_HOA_DAT", 90),
                fact("a.csv", "00001", "GD_TONG_SO", 100),
                fact("v2.csv", "00013", "GD_VAN_HOA_DAT", 100),
                fact("v2.csv", "00013", "GD_TONG_SO", 1000),
            ],
            schema=empty_facts(CAT).schema,
        ),
    ]
)


def live_rollup() -> pl.DataFrame:
    live = live_submissions(LEDGER, Q1.code)
    return rollup(
        FACTS.filter(pl.col("submission_id").is_in(live["submission_id"].to_list())), HANOI, CAT, Q1
    )


def test_explain_lists_the_live_submissions_that_sum_to_the_figure() -> None:
    out = explain_figure(
        LEDGER, FACTS, live_rollup(), HANOI, CAT, Q1, "001", "MH_DANG_KY", {"field": "KT"}
    )
    contrib = {s["unit_code"]: s["MH_DANG_KY"] for s in out["submissions"] if s["MH_DANG_KY"]}
    assert contrib == {"00001": 3.0, "00013": 7.0, "001": 10.0}  # v2 of 00013, not v1
    v2 = next(s for s in out["submissions"] if s["unit_code"] == "00013")
    assert v2["report_version"] == 2 and v2["key"].endswith("v2.csv")
    assert out["recomputed"] == out["stored"] == 20.0 and out["matches"]


def test_explain_redivides_a_ratio_from_its_parts() -> None:
    out = explain_figure(LEDGER, FACTS, live_rollup(), HANOI, CAT, Q1, "001", "TL_GD_VAN_HOA")
    assert (out["numerator"], out["denominator"]) == (190.0, 1100.0)
    assert out["recomputed"] == pytest.approx(100 * 190 / 1100)
    assert out["matches"]


def test_explain_flags_a_stale_rollup() -> None:
    stale = live_rollup().with_columns(
        pl.when((pl.col("unit_code") == "01") & (pl.col("indicator") == "MH_DANG_KY"))
        .then(pl.col("value") + 93)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    out = explain_figure(LEDGER, FACTS, stale, HANOI, CAT, Q1, "01", "MH_DANG_KY")
    assert out["recomputed"] == 72.0 and not out["matches"]


def test_explain_refuses_unknown_breakdowns() -> None:
    with pytest.raises(StatusError, match="colour"):
        explain_figure(
            LEDGER, FACTS, live_rollup(), HANOI, CAT, Q1, "001", "MH_DANG_KY", {"colour": "x"}
        )


def test_default_level_is_the_one_above_communes_in_either_hierarchy() -> None:
    assert status_report(LEDGER, HANOI, CAT, Q1)["level"] == "district"
    q3 = Period.parse("2025-Q3")
    two_level = load_hierarchies().for_date(q3.reference_date).scope("01")
    report = status_report(LEDGER.clear(), two_level, CAT, q3)
    assert report["level"] == "province"
    communes = next(r for r in report["rows"] if r["reporter_level"] == "commune")
    assert (communes["expected"], communes["missing"]) == (126, 126)


# -- issue 12: a rejected correction, the uploader's folder, city-wide lists ------------------

CORRECTION_REJECTED = pl.DataFrame(
    [
        *SCENARIO,
        # 00004 was accepted (late); its correction, sent afterwards, is rejected.
        upload("00004", "sua.csv", "rejected", datetime(2025, 3, 25, tzinfo=UTC)),
        # A file in 00008's folder that names 00004: it belongs to 00008's list.
        {
            **upload("00008", "nham.csv", "rejected", datetime(2025, 3, 26, tzinfo=UTC)),
            "unit_code": "00004",
        },
        # A PDF nobody could read: no unit, no period in the ledger.
        {
            **upload("00019", "bao-cao.pdf", "rejected", datetime(2025, 3, 26, tzinfo=UTC)),
            "unit_code": None,
            "period": None,
        },
    ],
    schema=ledger_polars_schema(),
)


def test_a_rejected_correction_is_not_hidden_behind_the_accepted_version() -> None:
    states = {
        r["unit_code"]: r
        for r in unit_states(CORRECTION_REJECTED, HANOI, CAT, Q1).iter_rows(named=True)
    }
    assert states["00004"]["state"] == "correction_rejected"
    assert states["00004"]["live_key"] == "incoming/00004/2025-Q1/a.csv"
    assert states["00004"]["rejected_receipt_key"] == "receipts/00004/2025-Q1/sua.csv.receipt.json"
    report = status_report(CORRECTION_REJECTED, HANOI, CAT, Q1, "commune", unit="001")
    assert report["totals"]["correction_rejected"] == 2  # 00004 and 00008
    # 00004 and 00008 (whose latest upload, in its folder, is rejected) and 00007
    assert report["totals"]["attention"] == 3
    assert state_text_both(states["00004"]).startswith("đã nhận, bản sửa bị từ chối / ")


def test_uploads_are_listed_under_the_folder_they_were_sent_to() -> None:
    hist = submission_history(CORRECTION_REJECTED, Q1, "00008")
    assert hist["key"].to_list()[-1] == "incoming/00008/2025-Q1/nham.csv"
    assert hist["claimed_unit"].to_list()[-1] == "00004"
    assert (
        "incoming/00008/2025-Q1/nham.csv"
        not in submission_history(CORRECTION_REJECTED, Q1, "00004")["key"].to_list()
    )
    pdf = submission_history(CORRECTION_REJECTED, Q1, "00019")
    assert pdf["key"].to_list() == ["incoming/00019/2025-Q1/bao-cao.pdf"]
    report = status_report(CORRECTION_REJECTED, HANOI, CAT, Q1, "commune", unit="001")
    assert ("00019", "incoming/00019/2025-Q1/bao-cao.pdf") in [
        (u["claimed_unit"], u["key"]) for u in report["unexpected"]
    ]


def test_city_wide_lists_name_the_district_and_the_reason() -> None:
    receipt = "receipts/00007/2025-Q1/b.csv.receipt.json"
    listed = unit_list(
        CORRECTION_REJECTED, HANOI, CAT, Q1, "attention", reasons={receipt: "Thiếu / Missing"}
    )
    by_unit = {u.unit_code: u for u in listed.units}
    assert set(by_unit) >= {"00004", "00007"}
    assert by_unit["00007"].district_code == "001"
    assert by_unit["00007"].district_name == "Quận Ba Đình"
    assert by_unit["00007"].reason == "Thiếu / Missing"
    missing = unit_list(CORRECTION_REJECTED, HANOI, CAT, Q1, "missing", district="002")
    assert missing.units and {u.district_code for u in missing.units} == {"002"}
    assert missing.to_json()["count"] == len(missing.units)
    with pytest.raises(StatusError):
        unit_list(CORRECTION_REJECTED, HANOI, CAT, Q1, "lost")
