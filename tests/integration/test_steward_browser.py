"""A district steward in a real browser (Chromium via Playwright) over the real pipeline.

The fixtures of ``tests/integration/conftest.py`` run the whole event path and
the console (SeaweedFS change feed → Prefect → worker → receipt). The steward
sees a commune in the missing list with whom to call; the commune logs in,
fills its template and uploads it through its page; once the receipt says
accepted, the steward's reload no longer lists it. The overview's numbers
are compared with ``dvkn status --json`` of the same bucket, the unit page
links the Prefect flow run that judged the upload, and a district steward,
a reader and a commune each get 403 where they have no business. Screenshots
of the overview, lists, unit page and trend go to ``docs/screenshots/``.
Then the approval buttons: the district steward approves one commune and
returns another with a reason, the overview counts the approval beside the
accepted reports (as the approvals table says), and the returned commune reads
"Bị trả lại: <reason>" on its portal.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dvkn_pipeline.cli.app import app as cli
from dvkn_pipeline.ops import local_env
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.services.wiring import build_approvals, build_bucket, build_intake
from dvkn_pipeline.views.status import status_report
from schemas.contacts import SAMPLE_PATH, read_contacts
from tests.corpus import CAT, HANOI, Q1, fill_workbook
from tests.fakes import RecordedEvents
from tests.integration.conftest import ConsoleStack, log_in_page, screenshot

pytestmark = pytest.mark.integration

BA_DINH = [u.code for u in HANOI.children("001")]
LATECOMER, REFUSED = BA_DINH[3], BA_DINH[4]
FOREIGN = HANOI.children("002")[0].code
#: Communes the approval test approves and returns through the buttons.
APPROVED, RETURNED = BA_DINH[0], BA_DINH[1]
ACCEPTED = ("on_time", "late", "corrected", "correction_rejected")
#: How long a receipt may take: sensor batch, triggered run, worker start, judging.
RECEIPT_S = 240


def _states(settings: Any) -> dict[str, str]:
    payload = status_report(
        build_intake(settings).tables.read_ledger(Q1.code), HANOI, CAT, Q1, "commune", "001"
    )
    return {u["unit_code"]: u["state"] for u in payload["units"]}


def _wait_for_state(settings: Any, unit: str, state: str) -> None:
    deadline = time.monotonic() + RECEIPT_S
    while (found := _states(settings).get(unit)) != state:
        assert time.monotonic() < deadline, f"{unit} still {found}, not {state}"
        time.sleep(1.0)


def test_a_steward_sees_a_commune_leave_the_missing_list_after_it_uploads(
    console_stack: ConsoleStack, console_login: Any, console_page: Any, tmp_path: Path
) -> None:
    settings = console_stack.settings
    steward_password = console_login("huyen-001", "district_steward", "001")
    clerk_password = console_login(f"xa-{LATECOMER}", "commune", LATECOMER)
    # Another commune's report arrives broken: the rejected list has a reason to show.
    broken = generate_report(HANOI.unit(REFUSED), Q1, CAT)
    broken.rows[:] = [r | {"value": 1} if r.get("total") else r for r in broken.rows]
    build_bucket(settings).put_bytes(
        incoming_key(REFUSED, Q1.code, "bao-cao.csv"), broken.to_csv(CAT)
    )

    steward = console_page
    log_in_page(steward, "huyen-001", steward_password)
    steward.goto(f"/steward/{Q1.code}/list/missing")
    row = steward.locator(f'tr[data-unit="{LATECOMER}"]')
    assert row.count() == 1
    assert read_contacts(SAMPLE_PATH)[LATECOMER].phone in row.inner_text()
    screenshot(steward, "steward-list-missing")

    clerk = steward.context.browser.new_context(
        base_url=console_stack.url, accept_downloads=True
    ).new_page()
    log_in_page(clerk, f"xa-{LATECOMER}", clerk_password)
    clerk.goto(f"/commune/{LATECOMER}/{Q1.code}")
    with clerk.expect_download() as download:
        clerk.click("#template-link")
    template = Path(download.value.path()).read_bytes()
    filled = tmp_path / f"bao-cao-{LATECOMER}.xlsx"
    filled.write_bytes(fill_workbook(template, generate_report(HANOI.unit(LATECOMER), Q1, CAT)))
    clerk.set_input_files("#upload-file", str(filled))
    clerk.click("#upload-button")
    clerk.wait_for_url("**/receipt?**")
    clerk.wait_for_selector("#receipt", timeout=RECEIPT_S * 1000)
    assert clerk.locator("#receipt").get_attribute("data-status") == "accepted"
    clerk.context.close()
    _wait_for_state(settings, REFUSED, "rejected")

    steward.reload()
    assert steward.locator(f'tr[data-unit="{LATECOMER}"]').count() == 0
    steward.goto(f"/steward/{Q1.code}/overview")
    assert steward.locator(f'tr[data-unit="{LATECOMER}"]').get_attribute("data-missing") == "0"
    screenshot(steward, "steward-overview-district")

    steward.goto(f"/steward/{Q1.code}/unit/{LATECOMER}")
    assert filled.name in steward.locator("table.uploads").inner_text()
    link = steward.locator("table.uploads a", has_text="Prefect").first.get_attribute("href")
    assert link and re.search(r"/runs/flow-run/[0-9a-f-]{36}$", link), link
    screenshot(steward, "steward-unit")

    steward.goto(f"/steward/{Q1.code}/list/rejected")
    refused = steward.locator(f'tr[data-unit="{REFUSED}"]')
    assert refused.count() == 1 and " / " in refused.inner_text()  # the reason, vi / en
    screenshot(steward, "steward-list-rejected")

    steward.goto(f"/steward/{Q1.code}/trend?indicator=MH_DANG_KY")
    assert steward.locator("figure.chart svg").count() == 1
    screenshot(steward, "steward-trend")
    steward.set_viewport_size({"width": 390, "height": 844})
    steward.goto(f"/steward/{Q1.code}/overview")
    screenshot(steward, "steward-overview-phone")


def test_the_overview_shows_what_dvkn_status_json_prints(
    console_stack: ConsoleStack, console_login: Any, console_page: Any
) -> None:
    settings = console_stack.settings
    result = CliRunner().invoke(
        cli,
        ["status", "--period", Q1.code, "--json"],
        env=local_env.dvkn_env(settings),
    )
    assert result.exit_code == 0, result.output
    printed = {
        r["unit_code"]: r
        for r in json.loads(result.output)["rows"]
        if r["reporter_level"] == "commune"
    }
    log_in_page(console_page, "tp-01", console_login("tp-01", "city_steward", "01"))
    console_page.goto(f"/steward/{Q1.code}/overview")
    shown = console_page.locator("tr[data-unit]")
    assert shown.count() == len(HANOI.children("01"))
    for i in range(shown.count()):
        row = shown.nth(i)
        line = printed[str(row.get_attribute("data-unit"))]  # the communes' reports of a district
        for col in ("expected", "received", "accepted", "rejected", "on_time", "late", "missing"):
            assert row.get_attribute(f"data-{col.replace('_', '-')}") == str(line[col]), col


def test_who_may_not_open_a_page_gets_403(
    console_stack: ConsoleStack, console_login: Any, console_page: Any
) -> None:
    page = console_page
    log_in_page(page, "huyen-001", console_login("huyen-001", "district_steward", "001"))
    for path in (
        f"/steward/{Q1.code}/unit/{FOREIGN}",
        f"/steward/{Q1.code}/list/missing?district=002",
        f"/steward/{Q1.code}/overview?unit=01",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
    reader = page.context.browser.new_context(base_url=console_stack.url).new_page()
    log_in_page(reader, "doc-01", console_login("doc-01", "reader", "01"))
    assert reader.goto(f"/steward/{Q1.code}/overview").status == 200
    assert reader.goto(f"/steward/{Q1.code}/list/missing").status == 403
    assert reader.goto(f"/steward/{Q1.code}/unit/{LATECOMER}").status == 403
    reader.context.close()
    clerk = page.context.browser.new_context(base_url=console_stack.url).new_page()
    log_in_page(clerk, f"xa-{LATECOMER}", console_login(f"xa-{LATECOMER}", "commune", LATECOMER))
    assert clerk.goto(f"/steward/{Q1.code}/overview").status == 403
    clerk.context.close()


def _wait_until_accepted(settings: Any, *units: str) -> None:
    deadline = time.monotonic() + RECEIPT_S
    while not all(_states(settings).get(u) in ACCEPTED for u in units):
        assert time.monotonic() < deadline, _states(settings)
        time.sleep(1.0)


def test_a_steward_approves_and_returns_through_the_buttons_and_the_commune_reads_why(
    console_stack: ConsoleStack, console_login: Any, console_page: Any
) -> None:
    settings = console_stack.settings
    bucket = build_bucket(settings)
    for unit in (APPROVED, RETURNED):
        report = generate_report(HANOI.unit(unit), Q1, CAT)
        bucket.put_bytes(incoming_key(unit, Q1.code, "bao-cao.csv"), report.to_csv(CAT))
    _wait_until_accepted(settings, APPROVED, RETURNED)

    steward = console_page
    log_in_page(steward, "huyen-001", console_login("huyen-001", "district_steward", "001"))
    steward.goto(f"/steward/{Q1.code}/unit/{APPROVED}")
    card = steward.locator("#approval")
    assert card.get_attribute("data-state") == "submitted"
    assert steward.locator("form.action-unapprove").count() == 0  # nothing to withdraw yet
    steward.fill("form.action-approve input[name=text]", "Số liệu khớp với sổ")
    screenshot(steward, "steward-unit-approval")
    steward.click("form.action-approve button")
    steward.wait_for_load_state()
    assert steward.locator("#flash.ok").count() == 1
    assert card.get_attribute("data-state") == "approved"
    assert "Số liệu khớp với sổ" in card.inner_text() and "huyen-001" in card.inner_text()
    assert steward.locator("form.action-unapprove").count() == 1

    steward.goto(f"/steward/{Q1.code}/unit/{RETURNED}")
    steward.click("form.action-return button")  # no reason: the browser keeps the form
    assert card.get_attribute("data-state") == "submitted"
    steward.fill("form.action-return input[name=text]", "Thiếu số hộ tham gia")
    steward.click("form.action-return button")
    steward.wait_for_load_state()
    assert card.get_attribute("data-state") == "returned"
    screenshot(steward, "steward-unit-returned")
    steward.click("a.lang")  # English beside: the same card, in English, on a phone
    steward.set_viewport_size({"width": 390, "height": 844})
    assert "Last action" in card.inner_text() and "Thiếu số hộ tham gia" in card.inner_text()
    screenshot(steward, "steward-unit-returned-phone-en")
    steward.click("a.lang")
    steward.set_viewport_size({"width": 1280, "height": 800})

    steward.goto(f"/steward/{Q1.code}/overview")
    assert steward.locator(f'tr[data-unit="{APPROVED}"]').get_attribute("data-approved") == "1"
    assert steward.locator(f'tr[data-unit="{RETURNED}"] [data-approval="returned"]').count() == 1
    assert steward.locator("#fig-approved .big").inner_text() == "1"
    screenshot(steward, "steward-overview-approval")
    listed = build_approvals(settings, RecordedEvents()).approvals(Q1, under="001").units
    board = {u.unit_code: u.state.value for u in listed}
    assert board[APPROVED] == "approved" and board[RETURNED] == "returned"

    clerk = steward.context.browser.new_context(base_url=console_stack.url).new_page()
    log_in_page(clerk, f"xa-{RETURNED}", console_login(f"xa-{RETURNED}", "commune", RETURNED))
    clerk.goto(f"/commune/{RETURNED}")
    note = clerk.locator(f'.returned-note[data-period="{Q1.code}"]')
    assert note.inner_text() == "Bị trả lại: Thiếu số hộ tham gia"
    clerk.goto(f"/commune/{RETURNED}/{Q1.code}")
    assert "Bị trả lại: Thiếu số hộ tham gia" in clerk.locator("#returned-note").inner_text()
    screenshot(clerk, "commune-period-returned")
    clerk.context.close()
