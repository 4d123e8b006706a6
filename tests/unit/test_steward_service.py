"""The steward's questions (overview, lists, unit page, trend, export) over in-memory ports.

Reports are generated, judged by the real intake service and rolled up by the
real refresher into the in-memory tables, so every figure here went through
the same code as in production; only the store and the tables are fakes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import IntakeService
from dvkn_pipeline.services.refresh import Refresher
from dvkn_pipeline.services.steward import OutOfScopeError, Steward, prefect_ui_base
from dvkn_pipeline.views.overview import tint
from dvkn_pipeline.views.status import status_report
from schemas.contacts import SAMPLE_PATH, read_contacts
from schemas.settings import Settings
from tests.fakes import MemoryBucket, MemoryTables

CAT = load_catalogue()
HS = load_hierarchies()
Q1, Q2 = Period.parse("2025-Q1"), Period.parse("2025-Q2")
H = HS.for_date(Q1.reference_date).scope("01")
BA_DINH, HOAN_KIEM = "001", "002"
BD = [u.code for u in H.children(BA_DINH)]
HK = [u.code for u in H.children(HOAN_KIEM)]
SETTINGS = Settings().model_copy(
    update={
        "bucket": "mem",
        "uploader_records": False,
        "prefect_api_url": "http://127.0.0.1:24010/api",
        "contacts_file": SAMPLE_PATH,
    }
)


def _csv(
    unit: str, period: Period, version: int = 1, scale: float = 1.0, totals: bool = False
) -> bytes:
    """A generated report; ``scale`` multiplies its registered models (its totals kept with
    ``totals``, so they no longer add up and the report is rejected)."""
    rep = generate_report(H.unit(unit), period, CAT, version=version, with_totals=totals)
    rows = [
        r | {"value": float(r["value"]) * scale}
        if r["indicator"] == "MH_DANG_KY" and not r.get("total")
        else r
        for r in rep.rows
    ]
    return dataclasses.replace(rep, rows=rows).to_csv(CAT)


@pytest.fixture(scope="module")
def steward() -> Steward:
    """Ba Đình: 3 communes accepted (one corrected), one rejected, one correction rejected.
    Hoàn Kiếm: one accepted. A Q2 with one accepted and one far from its Q1 figures."""
    bucket, tables = MemoryBucket(), MemoryTables(CAT)
    intake = IntakeService(bucket, tables, CAT, HS, load_rules(), SETTINGS)
    refresher = Refresher(bucket, tables, CAT, HS, SETTINGS)

    def send(unit: str, period: Period, name: str, data: bytes) -> None:
        bucket.upload(incoming_key(unit, period.code, name), data)
        result = intake.process(intake.pending(), flow_run_id="run-" + unit + name)
        refresher.refresh(result.periods)

    send(BD[0], Q1, "a.csv", _csv(BD[0], Q1))
    send(BD[1], Q1, "a.csv", _csv(BD[1], Q1))
    send(BD[1], Q1, "b.csv", _csv(BD[1], Q1, version=2))
    send(BD[2], Q1, "a.csv", _csv(BD[2], Q1, scale=3.0, totals=True))
    send(BD[3], Q1, "a.csv", _csv(BD[3], Q1))
    send(BD[3], Q1, "b.csv", _csv(BD[3], Q1, version=2, scale=3.0, totals=True))
    send(HK[0], Q1, "a.csv", _csv(HK[0], Q1))
    send(BD[0], Q2, "a.csv", _csv(BD[0], Q2, scale=60.0))
    return Steward.with_contacts(tables, bucket, CAT, HS, SETTINGS)


def test_overview_counts_are_what_dvkn_status_prints(steward: Steward) -> None:
    city = steward.overview(Q1, "01")
    status = status_report(steward.tables.read_ledger(Q1.code), H, CAT, Q1, "district")
    printed = {r["unit_code"]: r for r in status["rows"] if r["reporter_level"] == "commune"}
    assert [r.unit_code for r in city.rows] == [u.code for u in H.children("01")]
    for row in city.rows:
        for col in ("expected", "received", "accepted", "rejected", "missing", "on_time", "late"):
            assert getattr(row, col) == printed[row.unit_code][col], (row.unit_code, col)
    hoan_kiem = next(r for r in city.rows if r.unit_code == HOAN_KIEM)
    [on_time] = [c for c in hoan_kiem.cells if c.state == "on_time"]
    assert on_time.count == 1 and on_time.share < 0.1 and on_time.background != "#ffffff"
    ba_dinh = next(r for r in city.rows if r.unit_code == BA_DINH)
    assert (ba_dinh.accepted, ba_dinh.rejected, ba_dinh.attention) == (3, 1, 2)
    assert sum(c.count for c in ba_dinh.cells) == ba_dinh.expected


def test_overview_of_a_district_lists_its_communes_with_their_state(steward: Steward) -> None:
    district = steward.overview(Q1, BA_DINH)
    assert [c.unit_code for c in district.crumbs] == ["01"]
    states = {r.unit_code: r.state for r in district.rows}
    assert states[BD[0]] == "on_time" and states[BD[1]] == "corrected"
    assert states[BD[2]] == "rejected" and states[BD[3]] == "correction_rejected"
    assert states[BD[4]] == "missing"
    missing = next(r for r in district.rows if r.unit_code == BD[4])
    cell = next(c for c in missing.cells if c.state == "missing")
    assert cell.share == 1.0 and cell.background == "#a50f15"
    on_time = next(c for c in missing.cells if c.state == "on_time")
    assert on_time.count == 0 and on_time.background == "#ffffff"


def test_no_share_passes_100_percent(steward: Steward) -> None:
    for view in (steward.overview(Q1, "01"), steward.overview(Q1, BA_DINH)):
        for row in (view.unit, *view.rows):
            for pct in (row.pct_received, row.pct_accepted, row.pct_on_time):
                assert pct is None or 0 <= pct <= 100


def test_tint_runs_from_white_to_the_state_colour() -> None:
    assert tint("#a50f15", 0) == "#ffffff" and tint("#a50f15", 1) == "#a50f15"
    assert tint("#000000", 0.5) == "#808080"


def test_a_district_steward_cannot_read_another_district(steward: Steward) -> None:
    with pytest.raises(OutOfScopeError):
        steward.overview(Q1, BA_DINH, HOAN_KIEM)
    with pytest.raises(OutOfScopeError):
        steward.state_list(Q1, "missing", BA_DINH, HOAN_KIEM)
    with pytest.raises(OutOfScopeError):
        steward.unit_page(Q1, HK[0], BA_DINH)
    with pytest.raises(OutOfScopeError):
        steward.outliers(Q1, BA_DINH, "01")
    with pytest.raises(OutOfScopeError):
        steward.trend(HK[0], Q1, Q2, BA_DINH)
    with pytest.raises(OutOfScopeError):
        steward.export(Q1, "commune", "999")


def test_missing_list_names_the_district_and_the_contact(steward: Steward) -> None:
    listed = steward.state_list(Q1, "missing", BA_DINH)
    codes = [line.unit.unit_code for line in listed.lines]
    assert set(codes) == {*BD[4:], BA_DINH}  # the district's own report is missing too
    first = listed.lines[0]
    contacts = read_contacts(SAMPLE_PATH)
    assert first.unit.district_code == BA_DINH
    assert first.contact is not None and first.contact.phone == contacts[BD[4]].phone
    city = steward.state_list(Q1, "missing", "01")
    communes = [x for x in city.lines if x.unit.reporter_level == "commune"]
    assert len(communes) == steward.overview(Q1, "01").unit.missing


def test_rejected_and_correction_rejected_lists_give_the_reason(steward: Steward) -> None:
    [rejected] = steward.state_list(Q1, "rejected", BA_DINH).lines
    assert rejected.unit.unit_code == BD[2] and rejected.unit.reason
    [corr] = steward.state_list(Q1, "correction_rejected", "01").lines
    assert corr.unit.unit_code == BD[3] and " / " in (corr.unit.reason or "")


def test_outliers_flag_a_figure_far_from_the_units_history(steward: Steward) -> None:
    assert steward.outliers(Q1, "01") == ()
    flagged = steward.outliers(Q2, BA_DINH)
    assert flagged and {o.unit_code for o in flagged} == {BD[0]}
    [line] = flagged  # one line per unit, each flagged figure in it
    assert line.district_code == BA_DINH and line.flags
    assert any("MH_DANG_KY" in f.message_en or "registered" in f.message_en for f in line.flags)


def test_unit_page_shows_history_receipts_run_links_and_changes(steward: Steward) -> None:
    page = steward.unit_page(Q1, BD[1], BA_DINH)
    assert page.state == "corrected"
    assert [u.report_version for u in page.uploads] == [2, 1]  # newest first
    assert page.uploads[0].live and not page.uploads[1].live
    assert page.uploads[0].flow_run_url == (
        f"http://127.0.0.1:24010/runs/flow-run/run-{BD[1]}b.csv"
    )
    assert page.uploads[0].summary_en
    assert page.figures and {f["unit_code"] for f in page.figures} == {BD[1]}
    status = [f for f in page.figures if f["category"]]
    assert status and all(f["category_vi"] != f["category"] for f in status)  # words, not codes
    assert page.vs_previous.against == "v1" and page.vs_previous.lines
    assert page.vs_last_year.note == "no_hierarchy_last_year"  # no 2024 unit list shipped
    rejected = steward.unit_page(Q1, BD[2], "01")
    assert rejected.uploads[0].problems and rejected.vs_previous.note == "no_previous_version"


def test_unit_page_vs_previous_version_says_what_changed(steward: Steward) -> None:
    page = steward.unit_page(Q1, BD[1], BA_DINH)
    v1 = generate_report(H.unit(BD[1]), Q1, CAT, version=1)
    v2 = generate_report(H.unit(BD[1]), Q1, CAT, version=2)
    [line] = [
        x for x in page.vs_previous.lines if x.indicator == "MH_DANG_KY" and x.category is None
    ]
    assert line.before == v1.value("MH_DANG_KY") and line.now == v2.value("MH_DANG_KY")
    assert line.change == line.now - line.before  # type: ignore[operator]


def test_trend_follows_completeness_per_period(steward: Steward) -> None:
    found = steward.trend(BA_DINH, Q1, Q2, "01", indicator="MH_DANG_KY")
    made = found.unit
    by_period: dict[str, Any] = {p.period: p for p in made.points}
    assert by_period["2025-Q1"].accepted == 3 and by_period["2025-Q2"].accepted == 1
    assert by_period["2025-Q2"].value and by_period["2025-Q2"].value > 0


def test_export_of_a_district_holds_only_its_communes(steward: Steward) -> None:
    files = steward.export(Q1, "commune", BA_DINH)
    text = files.csv.decode("utf-8")
    assert BD[0] in text and HK[0] not in text


def test_prefect_ui_link_base_comes_from_settings() -> None:
    assert prefect_ui_base(SETTINGS) == "http://127.0.0.1:24010"
    set_ui = SETTINGS.model_copy(update={"prefect_ui_url": "https://runs.example.vn/"})
    assert prefect_ui_base(set_ui) == "https://runs.example.vn"


def test_trend_compares_the_units_below_across_periods(steward: Steward) -> None:
    below = steward.trend("01", Q1, Q2, "01").below
    assert below.periods == ("2025-Q1", "2025-Q2") and below.reporter_level == "commune"
    rows = {r.unit_code: r.pct_accepted for r in below.rows}
    assert set(rows) == {u.code for u in H.children("01")}
    expected = len(H.children(BA_DINH))
    assert rows[BA_DINH] == (round(100.0 * 3 / expected, 1), round(100.0 / expected, 1))
    assert rows[HOAN_KIEM][1] is None or rows[HOAN_KIEM][1] == 0.0


def test_a_trend_opens_on_periods_a_unit_list_covers(steward: Steward) -> None:
    assert steward.trend_start(Period.parse("2025-Q3"), 4) == Q1  # nothing shipped for 2024
    assert steward.trend_start(Period.parse("2026-Q2"), 4) == Period.parse("2025-Q3")


def test_an_export_defaults_to_the_level_below_the_scope(steward: Steward) -> None:
    assert steward.export_level(Q1, "01") == "district"
    assert steward.export_level(Q1, BA_DINH) == "commune"
