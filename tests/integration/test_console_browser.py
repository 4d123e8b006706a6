"""The commune's portal in a real browser (Chromium via Playwright) over the real pipeline.

A commune logs in, downloads its template, fills it with openpyxl, uploads it
through the page (presigned PUT straight to SeaweedFS), and the page shows
the receipt once the sensor, Prefect and the worker have judged it; a broken
correction shows its problems where they are; another commune's page is 403.
Screenshots of the main pages go to ``docs/screenshots/``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.services.wiring import build_intake
from dvkn_pipeline.storage.presign import PutSigner
from dvkn_pipeline.views.status import status_report
from tests.corpus import CAT, HANOI, Q1, fill_workbook
from tests.integration.conftest import ConsoleStack, log_in_page, screenshot

pytestmark = pytest.mark.integration

COMMUNE, NEIGHBOUR = (u.code for u in HANOI.children("001")[:2])
#: How long a receipt may take: sensor batch, triggered run, worker start, judging.
RECEIPT_MS = 240_000


def _state_in_status(settings: Any, unit: str) -> str:
    """What ``dvkn status --level commune --json`` says of the unit (the same function)."""
    intake = build_intake(settings)
    payload = status_report(intake.tables.read_ledger(Q1.code), HANOI, CAT, Q1, "commune", unit)
    [line] = [u for u in payload["units"] if u["unit_code"] == unit]
    return str(line["state"])


def _broken(report: SyntheticReport) -> SyntheticReport:
    """More opinions resolved than received: a cross-field rule refuses it."""
    rows = [dict(r) for r in report.rows]
    for r in rows:
        if r["indicator"] == "Y_KIEN_GIAI_QUYET":
            r["value"] = report.value("Y_KIEN_TIEP_NHAN") + 7
    return SyntheticReport(report.unit, report.period, report.version, report.header, rows)


def _upload(page: Any, path: Path) -> None:
    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    page.wait_for_url("**/receipt?**")


def test_a_commune_uploads_its_filled_template_and_sees_it_accepted(
    console_stack: ConsoleStack, console_login: Any, console_page: Any, tmp_path: Path
) -> None:
    page = console_page
    password = console_login(f"xa-{COMMUNE}", "commune", COMMUNE)
    page.goto("/login")
    screenshot(page, "login")
    log_in_page(page, f"xa-{COMMUNE}", password)
    assert page.url.endswith(f"/commune/{COMMUNE}")
    q1_row = page.locator("tr", has_text="Quý I/2025")
    assert "chưa nộp" in q1_row.inner_text()  # missing, before anything is sent
    screenshot(page, "commune-periods")

    q1_row.get_by_role("link").click()
    assert page.url.endswith(f"/commune/{COMMUNE}/{Q1.code}")
    with page.expect_download() as download:
        page.click("#template-link")
    template = Path(download.value.path()).read_bytes()
    report = generate_report(HANOI.unit(COMMUNE), Q1, CAT, seed=15)
    filled = tmp_path / f"bao-cao-{COMMUNE}.xlsx"
    filled.write_bytes(fill_workbook(template, report))

    _upload(page, filled)
    assert "receipt-waiting" in page.content() or page.locator("#receipt").count() == 1
    page.wait_for_selector("#receipt", timeout=RECEIPT_MS)  # the page reloads itself
    receipt = page.locator("#receipt")
    assert receipt.get_attribute("data-status") == "accepted", page.inner_text("main")
    assert "đã nhận" in receipt.inner_text()
    screenshot(page, "receipt-accepted")

    page.goto(f"/commune/{COMMUNE}/{Q1.code}")
    state = page.locator("#period-state").get_attribute("data-state")
    assert state == _state_in_status(console_stack.settings, COMMUNE) == "late"
    history = page.locator("#history").inner_text()
    assert filled.name in history and "đang dùng" in history
    screenshot(page, "commune-period")

    # A broken correction: rejected, each problem where it is, with its hint.
    broken = tmp_path / f"bao-cao-{COMMUNE}-sua.xlsx"
    broken.write_bytes(fill_workbook(template, _broken(report)))
    _upload(page, broken)
    page.wait_for_selector("#receipt", timeout=RECEIPT_MS)
    assert page.locator("#receipt").get_attribute("data-status") == "rejected"
    problem = page.locator("table.problems tr.severity-error").first.inner_text()
    assert "Trang tính" in problem and "Dòng" in problem and "Ô" in problem, problem
    screenshot(page, "receipt-rejected")
    page.click("a.lang")
    assert page.locator("#receipt").inner_text().startswith("rejected")
    assert "Sheet" in page.locator("table.problems").inner_text()
    screenshot(page, "receipt-rejected-en")
    page.click("a.lang")

    page.goto(f"/commune/{COMMUNE}/{Q1.code}")
    state = page.locator("#period-state").get_attribute("data-state")
    assert state == _state_in_status(console_stack.settings, COMMUNE) == "correction_rejected"
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "commune-period-phone")


def test_a_commune_that_opens_another_communes_page_gets_403(
    console_stack: ConsoleStack, console_login: Any, console_page: Any
) -> None:
    page = console_page
    log_in_page(page, f"xa-{COMMUNE}", console_login(f"xa-{COMMUNE}", "commune", COMMUNE))
    for url in (
        f"/commune/{NEIGHBOUR}",
        f"/commune/{NEIGHBOUR}/{Q1.code}",
        f"/commune/{NEIGHBOUR}/{Q1.code}/template.xlsx",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 403, url
        assert "không có quyền" in page.inner_text("main")
    screenshot(page, "forbidden")


def test_the_console_signs_uploads_only_for_the_communes_own_folder(
    console_stack: ConsoleStack, console_login: Any
) -> None:
    """Over HTTP against the running console: another unit's signed upload is 403."""
    password = console_login(f"xa-{COMMUNE}", "commune", COMMUNE)
    with httpx.Client(base_url=console_stack.url, follow_redirects=True) as client:
        token = client.get("/login").text.split('name="csrf-token" content="')[1].split('"')[0]
        r = client.post(
            "/login",
            data={"username": f"xa-{COMMUNE}", "password": password, "csrf_token": token},
        )
        assert r.url.path == f"/commune/{COMMUNE}"
        token = r.text.split('name="csrf-token" content="')[1].split('"')[0]
        headers = {"X-CSRF-Token": token}
        own = client.post(
            f"/commune/{COMMUNE}/{Q1.code}/upload",
            json={"filename": "a.csv", "size": 10},
            headers=headers,
        )
        assert own.status_code == 200 and own.json()["key"].startswith(f"incoming/{COMMUNE}/")
        other = client.post(
            f"/commune/{NEIGHBOUR}/{Q1.code}/upload",
            json={"filename": "a.csv", "size": 10},
            headers=headers,
        )
        assert other.status_code == 403


def test_the_store_holds_a_signed_upload_to_its_key_size_and_origin(
    console_stack: ConsoleStack,
) -> None:
    """SeaweedFS itself refuses a signed PUT re-aimed at another unit's key or with another
    size, and its CORS rule lets only the console's origin send from a page."""
    settings = console_stack.settings
    key = f"incoming/{COMMUNE}/{Q1.code}/probe-{uuid.uuid4().hex[:6]}.csv"
    body = b"not a report, only bytes"
    url = PutSigner(settings).presigned_put(key, size=len(body), expires_in=60)

    elsewhere = url.replace(f"/incoming/{COMMUNE}/", f"/incoming/{NEIGHBOUR}/")
    assert elsewhere != url and httpx.put(elsewhere, content=body).status_code == 403
    assert httpx.put(url, content=body + b"more").status_code == 403
    assert httpx.put(url, content=body).status_code == 200
    assert build_intake(settings).bucket.get_bytes(key) == body

    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            url, headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}
        )

    allowed = preflight(console_stack.url)
    assert allowed.headers.get("access-control-allow-origin") == console_stack.url
    assert "ETag" in allowed.headers.get("access-control-expose-headers", "")
    foreign = preflight("http://evil.example")
    assert foreign.headers.get("access-control-allow-origin") is None


def test_the_console_listens_on_loopback_at_its_port_under_supervision(
    console_stack: ConsoleStack,
) -> None:
    from dvkn_pipeline.ops import processes
    from tests.integration.test_local_stack import _listening

    settings = console_stack.settings
    [state] = [s for s in processes.service_status(settings) if s.name == "console"]
    assert state.alive and state.pid is not None and state.restarts == 0
    assert _listening(state.pid) == {("127.0.0.1", settings.base_port + 15)}
    assert console_stack.url == f"http://127.0.0.1:{settings.base_port + 15}"


def test_the_demo_makes_accounts_one_can_log_in_with(console_stack: ConsoleStack) -> None:
    """``dvkn demo --keep-running`` prints these: the commune is one with a rejected report."""
    from dvkn_pipeline.ops.demo import demo_accounts
    from dvkn_pipeline.services.accounts import authenticate
    from dvkn_pipeline.services.wiring import build_accounts

    settings = console_stack.settings
    logins = demo_accounts(settings, HANOI, [NEIGHBOUR])
    assert [(x.role, x.scope) for x in logins] == [
        ("commune", NEIGHBOUR),
        ("district_steward", "001"),
        ("city_steward", "01"),
        ("reader", "01"),
    ]
    store = build_accounts(settings)
    for x in logins:
        found = authenticate(store, x.username, x.password)
        assert found is not None and found.role == x.role


def test_dvkn_users_adds_lists_and_disables_accounts(
    console_stack: ConsoleStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from dvkn_pipeline.cli.app import app
    from dvkn_pipeline.services.accounts import authenticate
    from dvkn_pipeline.services.wiring import build_accounts

    monkeypatch.setenv("DVKN_BUCKET", console_stack.settings.bucket)
    runner = CliRunner()
    add = runner.invoke(
        app,
        ["users", "add", "huyen-cli", "--role", "district_steward", "--scope", "001"],
        env={"DVKN_NEW_PASSWORD": "mat-khau-huyen"},
    )
    assert add.exit_code == 0, add.output
    bad = runner.invoke(
        app,
        ["users", "add", "xa-x", "--role", "commune", "--scope", "001"],
        env={"DVKN_NEW_PASSWORD": "mat-khau-huyen"},
    )
    assert bad.exit_code != 0 and "not a commune" in bad.output
    listed = runner.invoke(app, ["users", "list", "--json"])
    rows = {r["username"]: r for r in json.loads(listed.output)}
    assert rows["huyen-cli"]["role"] == "district_steward"
    assert "password_hash" not in rows["huyen-cli"]
    store = build_accounts(console_stack.settings)
    assert authenticate(store, "huyen-cli", "mat-khau-huyen") is not None
    assert runner.invoke(app, ["users", "disable", "huyen-cli"]).exit_code == 0
    assert authenticate(store, "huyen-cli", "mat-khau-huyen") is None
