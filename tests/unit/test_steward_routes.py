"""The steward and reader pages through FastAPI's TestClient, over in-memory fakes.

Reports are judged and rolled up by the real services into the fakes, so the
numbers a page shows are compared with what ``dvkn status --json`` prints
(``views.status.status_report``, the function behind it). Scope: a district
steward asking for another district's unit or list gets 403, a reader reaches
the overview, trends and exports but no list or unit page.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from dvkn_pipeline.console.context import ConsoleContext
from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.accounts import add_account
from dvkn_pipeline.services.intake import IntakeService
from dvkn_pipeline.services.refresh import Refresher
from dvkn_pipeline.views.status import status_report
from schemas.contacts import SAMPLE_PATH, read_contacts
from schemas.settings import Settings
from tests.console_support import PASSWORD, log_in, make_console

CAT = load_catalogue()
HS = load_hierarchies()
Q1 = Period.parse("2025-Q1")
H = HS.for_date(Q1.reference_date).scope("01")
BD = [u.code for u in H.children("001")]
HK = [u.code for u in H.children("002")]
ROW = re.compile(r'<tr[^>]*data-unit="(\w+)"([^>]*)>')
SETTINGS = Settings(
    s3_endpoint_url="http://store.invalid",
    contacts_file=SAMPLE_PATH,
    prefect_api_url="http://127.0.0.1:24010/api",
)


@pytest.fixture(scope="module")
def console() -> tuple[TestClient, ConsoleContext]:
    client, context, _ = make_console(SETTINGS)
    steward = context.steward
    versions = HS.versions
    add_account(
        context.accounts, versions, username="doc", role="reader", scope="01", password=PASSWORD
    )
    intake = IntakeService(steward.store, steward.tables, CAT, HS, load_rules(), SETTINGS)  # type: ignore[arg-type]
    refresher = Refresher(steward.store, steward.tables, CAT, HS, SETTINGS)  # type: ignore[arg-type]
    for unit in (BD[0], BD[1], HK[0]):
        report = generate_report(H.unit(unit), Q1, CAT)
        steward.store.put_bytes(incoming_key(unit, Q1.code, "r.csv"), report.to_csv(CAT))  # type: ignore[attr-defined]
    result = intake.process(intake.pending(), flow_run_id="run-1")
    refresher.refresh(result.periods)
    return client, context


_SESSIONS: dict[str, TestClient] = {}


def as_user(client: TestClient, name: str) -> TestClient:
    """A client of the same app logged in as ``name`` (once: logins are rate limited)."""
    if name not in _SESSIONS:
        session = TestClient(client.app)
        assert log_in(session, name).status_code == 303
        _SESSIONS[name] = session
    return _SESSIONS[name]


def rows(html: str) -> dict[str, dict[str, int]]:
    out = {}
    for unit, attrs in ROW.findall(html):
        out[unit] = {
            k.replace("-", "_"): int(v) for k, v in re.findall(r'data-([a-z-]+)="(\d+)"', attrs)
        }
    return out


def test_overview_numbers_are_dvkn_status_json(console: tuple[TestClient, ConsoleContext]) -> None:
    client, context = console
    page = as_user(client, "thanhpho").get(f"/steward/{Q1.code}/overview")
    assert page.status_code == 200
    shown = rows(page.text)
    payload = status_report(context.steward.tables.read_ledger(Q1.code), H, CAT, Q1)
    printed = {r["unit_code"]: r for r in payload["rows"] if r["reporter_level"] == "commune"}
    assert set(shown) == set(printed) and len(shown) == len(H.children("01"))
    for unit, numbers in shown.items():
        for col in ("expected", "received", "accepted", "rejected", "on_time", "late", "missing"):
            assert numbers[col] == printed[unit][col], (unit, col)
    assert shown["001"]["accepted"] == 2 and shown["002"]["accepted"] == 1


def test_district_overview_shows_its_communes_and_their_states(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, _ = console
    page = as_user(client, "huyen1").get(f"/steward/{Q1.code}/overview")
    assert page.status_code == 200
    shown = rows(page.text)
    assert set(shown) == set(BD)
    assert shown[BD[0]]["accepted"] == 1 and shown[BD[4]]["missing"] == 1
    assert "state-missing" in page.text


def test_missing_list_gives_the_contact(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    page = as_user(client, "huyen1").get(f"/steward/{Q1.code}/list/missing")
    assert page.status_code == 200
    listed = set(re.findall(r'data-unit="(\w+)"', page.text))
    assert BD[4] in listed and BD[0] not in listed and not listed & set(HK)
    assert read_contacts(SAMPLE_PATH)[BD[4]].phone in page.text


def test_unit_page_links_the_judging_run(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    page = as_user(client, "thanhpho").get(f"/steward/{Q1.code}/unit/{BD[0]}")
    assert page.status_code == 200
    assert "http://127.0.0.1:24010/runs/flow-run/run-1" in page.text
    assert "r.csv" in page.text


def test_trend_page_draws_an_svg_chart(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    page = as_user(client, "huyen1").get(
        f"/steward/{Q1.code}/trend", params={"indicator": "MH_DANG_KY"}
    )
    assert page.status_code == 200 and "<svg" in page.text
    svg = page.text.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'viewBox="0 0 600' in svg and 'width="100%"' in svg
    # Each point says its value on hover, written the Vietnamese way, and the bars their total.
    hovers = re.findall(r"<title>([^<]*)</title>", svg)
    assert any(f"{Q1.code} · % đã nhận / accepted:" in h for h in hovers)
    assert any(h.startswith(f"{Q1.code} · Số mô hình") for h in hovers)
    city = as_user(client, "thanhpho").get(f"/steward/{Q1.code}/trend").text
    title = city.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Xu hướng" in title
    below = set(re.findall(r'<tr data-unit="(\w+)"', city))
    assert below == {u.code for u in H.children("01")}


def test_export_downloads_the_scope_only(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    got = as_user(client, "huyen1").get(f"/steward/{Q1.code}/export.csv?level=commune")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    assert BD[0] in got.text and HK[0] not in got.text


@pytest.mark.parametrize(
    "path",
    [
        f"/steward/{Q1.code}/overview?unit=002",
        f"/steward/{Q1.code}/list/missing?district=002",
        f"/steward/{Q1.code}/list/outliers?district=002",
        f"/steward/{Q1.code}/unit/{HK[0]}",
        f"/steward/{Q1.code}/trend?unit=002",
        f"/steward/{Q1.code}/overview?unit=01",
    ],
)
def test_a_district_steward_gets_403_outside_its_district(
    console: tuple[TestClient, ConsoleContext], path: str
) -> None:
    client, _ = console
    assert as_user(client, "huyen1").get(path).status_code == 403


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/steward/{Q1.code}/overview", 200),
        (f"/steward/{Q1.code}/trend", 200),
        (f"/steward/{Q1.code}/export.xlsx?level=district", 200),
        (f"/steward/{Q1.code}/list/missing", 403),
        (f"/steward/{Q1.code}/list/outliers", 403),
        (f"/steward/{Q1.code}/unit/{BD[0]}", 403),
    ],
)
def test_a_reader_reads_overview_trends_and_exports_only(
    console: tuple[TestClient, ConsoleContext], path: str, status: int
) -> None:
    client, _ = console
    assert as_user(client, "doc").get(path).status_code == status


def test_a_commune_cannot_open_steward_pages(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    assert as_user(client, "xa1").get(f"/steward/{Q1.code}/overview").status_code == 403


def test_a_visitor_is_sent_to_log_in(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    client.cookies.clear()
    got = client.get(f"/steward/{Q1.code}/overview", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/login")


def test_pages_switch_to_english(console: tuple[TestClient, ConsoleContext]) -> None:
    client = TestClient(console[0].app)
    assert log_in(client, "thanhpho").status_code == 303
    assert "Chưa nộp" in client.get(f"/steward/{Q1.code}/overview").text
    client.get("/lang/en")
    page = client.get(f"/steward/{Q1.code}/overview").text
    assert "Missing" in page and "Needs attention" in page


def test_start_opens_the_latest_period_with_figures(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client = as_user(console[0], "thanhpho")
    got = client.get("/steward", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"] == f"/steward/{Q1.code}/overview"
    typed = client.get("/steward/go?period=2025-q1&page=lists", follow_redirects=False)
    assert typed.headers["location"] == f"/steward/{Q1.code}/list/missing"
    assert client.get("/steward/2025-X9/overview").status_code == 404
    assert client.get("/steward/2024-Q1/overview").status_code == 404  # no 2024 unit list
    assert client.get(f"/steward/{Q1.code}/list/nonsense").status_code == 404
