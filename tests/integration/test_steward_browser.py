"""A district steward in a real browser (Chromium via Playwright) over real Delta tables on SeaweedFS.

The console runs under uvicorn on a loopback port, over a bucket on the
session's S3 server; reports are judged and rolled up in process by the same
intake and refresh services a worker runs. The steward sees a commune in the
missing list, the commune uploads, and after its report is judged the
steward's reload no longer lists it. The overview's numbers are compared with
``dvkn status --json`` of the same bucket, and screenshots of the overview,
lists, unit page and trend page are saved under ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from typer.testing import CliRunner

from dvkn_pipeline.cli.app import app as cli
from dvkn_pipeline.console.serve import build_app
from dvkn_pipeline.ops import local_env, local_stack
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.accounts import add_account
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.wiring import build_accounts, build_intake
from schemas.contacts import SAMPLE_PATH
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
H = load_hierarchies().for_date(Q1.reference_date).scope("01")
BA_DINH = [u.code for u in H.children("001")]
LATECOMER = BA_DINH[3]
PASSWORD = "mat-khau-1234"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _send(intake: Intake, unit: str, name: str, data: bytes) -> None:
    """What a commune's upload and a worker's run do: the object, then judge and roll up."""
    intake.bucket.put_bytes(incoming_key(unit, Q1.code, name), data)
    result = intake.process(intake.pending(), flow_run_id="00000000-0000-4000-8000-000000000015")
    intake.refresh(result.periods, result.changed)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def console(object_store: Settings) -> Iterator[tuple[str, Settings, Intake]]:
    """The console over a fresh bucket holding Ba Đình's first reports; its base URL."""
    settings = object_store.model_copy(
        update={"bucket": "steward-browser", "contacts_file": SAMPLE_PATH}
    )
    local_stack.ensure_bucket(settings)
    intake = build_intake(settings)
    for unit in BA_DINH[:3]:
        _send(intake, unit, "bao-cao.csv", generate_report(H.unit(unit), Q1, CAT).to_csv(CAT))
    bad = generate_report(H.unit(BA_DINH[4]), Q1, CAT)
    bad.rows[:] = [r | {"value": 1} if r.get("total") else r for r in bad.rows]
    _send(intake, BA_DINH[4], "bao-cao.csv", bad.to_csv(CAT))
    accounts = build_accounts(settings)
    for name, role, scope in (
        ("huyen1", "district_steward", "001"),
        ("xa", "commune", LATECOMER),
    ):
        add_account(
            accounts,
            load_hierarchies().versions,
            username=name,
            role=role,
            scope=scope,
            password=PASSWORD,
        )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", settings, intake
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _log_in(browser: Browser, base: str, name: str, width: int = 1280) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def test_a_steward_sees_a_commune_leave_the_missing_list_after_it_uploads(
    console: tuple[str, Settings, Intake], browser: Browser
) -> None:
    base, _, intake = console
    page = _log_in(browser, base, "huyen1")
    page.goto(f"{base}/steward/{Q1.code}/list/missing")
    row = page.locator(f'tr[data-unit="{LATECOMER}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("0900")  # the sample contact's phone
    _shot(page, "steward-list-missing")

    data = generate_report(H.unit(LATECOMER), Q1, CAT).to_csv(CAT)
    _send(intake, LATECOMER, "bao-cao-nop-muon.csv", data)

    page.reload()
    expect(page.locator(f'tr[data-unit="{LATECOMER}"]')).to_have_count(0)
    page.goto(f"{base}/steward/{Q1.code}/overview")
    expect(page.locator(f'tr[data-unit="{LATECOMER}"]')).to_have_attribute("data-missing", "0")
    _shot(page, "steward-overview-district")


def test_pages_show_what_dvkn_status_json_prints(
    console: tuple[str, Settings, Intake], browser: Browser
) -> None:
    base, settings, _ = console
    result = CliRunner().invoke(
        cli,
        ["status", "--period", Q1.code, "--level", "commune", "--unit", "001", "--json"],
        env=local_env.dvkn_env(settings),
    )
    assert result.exit_code == 0, result.output
    printed = {u["unit_code"]: u for u in json.loads(result.output)["units"]}
    page = _log_in(browser, base, "huyen1")
    page.goto(f"{base}/steward/{Q1.code}/overview")
    html = page.content()
    shown = dict(re.findall(r'<tr[^>]*data-unit="(\d+)"[^>]*class="[^"]*state-(\w+)', html))
    shown |= {
        u: s for s, u in re.findall(r'class="[^"]*state-(\w+)[^"]*"[^>]*data-unit="(\d+)"', html)
    }
    communes = {c: u for c, u in printed.items() if u["reporter_level"] == "commune"}
    assert shown == {c: u["state"] for c, u in communes.items()}
    missing = int(page.locator(".fig.missing .big").inner_text())
    assert missing == sum(1 for u in communes.values() if u["state"] == "missing")


def test_steward_pages_render_and_a_foreign_unit_is_forbidden(
    console: tuple[str, Settings, Intake], browser: Browser
) -> None:
    base, _, _ = console
    page = _log_in(browser, base, "huyen1")
    page.goto(f"{base}/steward/{Q1.code}/unit/{BA_DINH[0]}")
    expect(page.locator("table.uploads")).to_contain_text("bao-cao.csv")
    expect(page.locator("a", has_text="Prefect")).to_have_attribute(
        "href", re.compile(r"/runs/flow-run/00000000-0000-4000-8000-000000000015$")
    )
    _shot(page, "steward-unit")
    page.goto(f"{base}/steward/{Q1.code}/list/rejected")
    expect(page.locator(f'tr[data-unit="{BA_DINH[4]}"]')).to_be_visible()
    _shot(page, "steward-list-rejected")
    page.goto(f"{base}/steward/{Q1.code}/trend?indicator=MH_DANG_KY")
    expect(page.locator("figure.chart svg")).to_be_visible()
    _shot(page, "steward-trend")
    foreign = H.children("002")[0].code
    response = page.goto(f"{base}/steward/{Q1.code}/unit/{foreign}")
    assert response is not None and response.status == 403
    phone = _log_in(browser, base, "huyen1", width=390)
    phone.goto(f"{base}/steward/{Q1.code}/overview")
    _shot(phone, "steward-overview-phone")
    commune = _log_in(browser, base, "xa")
    response = commune.goto(f"{base}/steward/{Q1.code}/overview")
    assert response is not None and response.status == 403
