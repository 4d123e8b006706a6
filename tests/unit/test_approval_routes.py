"""The approval buttons of the steward pages, through FastAPI's TestClient over fakes.

Reports are judged by the real intake into in-memory tables; the buttons post
to the real :class:`ApprovalService`. Each button works for the district
steward of the unit; every approval POST is 403 for a reader, a commune and
the steward of another district, and without the form's CSRF token; a
refusal (no reason, not ready) comes back as a message on the page, not a 500;
the commune's portal shows the returned reason.
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
from dvkn_pipeline.services.intake import IntakeService
from dvkn_pipeline.views.approval import ActionOutcome, BilingualText, outcome_flash
from dvkn_pipeline.views.status import status_report
from dvkn_pipeline.views.unit_page import local_time
from schemas.records import Actor
from schemas.settings import Settings
from tests.console_support import COMMUNE, OTHER_COMMUNE, csrf_of, log_in, make_console

CAT = load_catalogue()
HS = load_hierarchies()
Q1 = Period.parse("2025-Q1")
H = HS.for_date(Q1.reference_date).scope("01")
FAR = "00037"  # a commune of district 002
SETTINGS = Settings(s3_endpoint_url="http://store.invalid")
UNIT_PAGE = f"/steward/{Q1.code}/unit/{COMMUNE}"
ACT = f"{UNIT_PAGE}/approval"
BULK = f"/steward/{Q1.code}/overview/approve-children"


@pytest.fixture
def console() -> tuple[TestClient, ConsoleContext]:
    """A fresh console where 00001, 00004 (district 001) and 00037 (district 002) reported."""
    client, context, _ = make_console(SETTINGS)
    steward = context.steward
    intake = IntakeService(steward.store, steward.tables, CAT, HS, load_rules(), SETTINGS)  # type: ignore[arg-type]
    for unit in (COMMUNE, OTHER_COMMUNE, FAR):
        report = generate_report(H.unit(unit), Q1, CAT)
        steward.store.put_bytes(incoming_key(unit, Q1.code, "r.csv"), report.to_csv(CAT))  # type: ignore[attr-defined]
    intake.process(intake.pending(), flow_run_id="run-1")
    return client, context


def as_user(client: TestClient, name: str) -> TestClient:
    session = TestClient(client.app)
    assert log_in(session, name).status_code == 303
    return session


def post(session: TestClient, url: str, page: str, **data: str) -> object:
    """A form post the way the page sends it: with the session's CSRF token."""
    return session.post(
        url, data={"csrf_token": csrf_of(session, page), **data}, follow_redirects=False
    )


def buttons(html: str) -> set[str]:
    return set(re.findall(r'<input type="hidden" name="action" value="(\w+)">', html))


def recorded(context: ConsoleContext) -> list[tuple[str, str]]:
    rows = context.approvals.tables.read_approvals(Q1.code)
    return list(zip(rows["unit_code"], rows["action"], strict=True))


def test_unit_page_offers_only_the_buttons_that_work(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, _ = console
    page = as_user(client, "huyen1").get(UNIT_PAGE)
    assert page.status_code == 200
    assert buttons(page.text) == {"approve", "return", "not_expected"}
    assert 'data-state="submitted"' in page.text
    # The reason the withdraw button is missing is on the page, in Vietnamese.
    assert "Hủy phê duyệt" in page.text


def test_approve_then_unapprove_through_the_buttons(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, context = console
    huyen = as_user(client, "huyen1")
    done = post(huyen, ACT, UNIT_PAGE, action="approve", text="số liệu khớp")
    assert done.status_code == 303 and done.headers["location"] == UNIT_PAGE  # type: ignore[attr-defined]
    page = huyen.get(UNIT_PAGE)
    assert 'data-state="approved"' in page.text and f"Đã phê duyệt: {COMMUNE}" in page.text
    assert "số liệu khớp" in page.text and "huyen1" in page.text
    approved_at = context.approvals.unit(COMMUNE, Q1).approved_at
    assert approved_at is not None and local_time(approved_at) in page.text  # Vietnam's time
    assert buttons(page.text) == {"unapprove", "return"}
    assert recorded(context) == [(COMMUNE, "approve")]

    post(huyen, ACT, UNIT_PAGE, action="unapprove", text="nhầm")
    page = huyen.get(UNIT_PAGE)
    assert 'data-state="submitted"' in page.text and "approve" in buttons(page.text)
    assert recorded(context) == [(COMMUNE, "approve"), (COMMUNE, "unapprove")]


def test_return_with_reason_reaches_the_commune_portal(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, _ = console
    huyen = as_user(client, "huyen1")
    post(huyen, ACT, UNIT_PAGE, action="return", text="thiếu số hộ")
    assert 'data-state="returned"' in huyen.get(UNIT_PAGE).text
    clerk = as_user(client, "xa1")
    assert "Bị trả lại: thiếu số hộ" in clerk.get(f"/commune/{COMMUNE}").text
    period_page = clerk.get(f"/commune/{COMMUNE}/{Q1.code}")
    assert (
        'id="returned-note"' in period_page.text and "Bị trả lại: thiếu số hộ" in period_page.text
    )
    clerk.get("/lang/en")
    assert "Returned: thiếu số hộ" in clerk.get(f"/commune/{COMMUNE}").text
    # The other commune of the district was not returned: no note on its portal.
    assert "returned-note" not in as_user(client, "xa4").get(f"/commune/{OTHER_COMMUNE}").text


def test_a_refusal_is_a_message_on_the_page_not_an_error(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, context = console
    huyen = as_user(client, "huyen1")
    answer = post(huyen, ACT, UNIT_PAGE, action="return", text="   ")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    page = huyen.get(UNIT_PAGE)
    assert page.status_code == 200 and "Cần ghi lý do." in page.text
    assert 'class="flash refused"' in page.text and recorded(context) == []
    huyen.get("/lang/en")
    post(huyen, ACT, UNIT_PAGE, action="accept")  # nothing to accept on a commune
    assert "has no approval waiting to be accepted" in huyen.get(UNIT_PAGE).text
    # The message is said once: the next page has no flash.
    assert 'class="flash' not in huyen.get(UNIT_PAGE).text


def test_district_page_approves_its_ready_communes_in_one_go(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, context = console
    huyen = as_user(client, "huyen1")
    overview = f"/steward/{Q1.code}/overview"
    page = huyen.get(overview)
    assert 'id="approve-children"' in page.text
    answer = post(huyen, BULK, overview, unit="001")
    assert answer.headers["location"] == f"{overview}?unit=001"  # type: ignore[attr-defined]
    page = huyen.get(f"{overview}?unit=001")
    assert "Đã phê duyệt các đơn vị sẵn sàng: 2" in page.text
    # Communes with nothing submitted were skipped, each with its reason.
    assert page.text.count("<li><code>2025-Q1/") == len(H.children("001")) - 2
    assert sorted(recorded(context)) == [(COMMUNE, "approve"), (OTHER_COMMUNE, "approve")]


def test_overview_shows_approved_beside_accepted_as_dvkn_status(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    client, context = console
    post(as_user(client, "huyen1"), ACT, UNIT_PAGE, action="approve")
    page = as_user(client, "thanhpho").get(f"/steward/{Q1.code}/overview")
    shown = dict(re.findall(r'data-unit="(\w+)"[^>]*data-approved="(\d+)"', page.text))
    payload = status_report(
        context.steward.tables.read_ledger(Q1.code),
        H,
        CAT,
        Q1,
        approvals=context.approvals.board(Q1),
    )
    printed = {
        r["unit_code"]: r["approved"] for r in payload["rows"] if r["reporter_level"] == "commune"
    }
    assert {u: int(n) for u, n in shown.items()} == printed
    assert printed["001"] == 1 and printed["002"] == 0
    district = as_user(client, "huyen1").get(f"/steward/{Q1.code}/overview").text
    assert 'data-approval="approved"' in district


@pytest.mark.parametrize("who", ["docgia", "xa1", "huyen2"])
@pytest.mark.parametrize("action", ["approve", "accept", "return", "unapprove", "not_expected"])
def test_others_get_403_on_every_approval_post(
    console: tuple[TestClient, ConsoleContext], who: str, action: str
) -> None:
    client, context = console
    session = as_user(client, who)
    answer = post(session, ACT, "/", action=action, text="lý do")
    assert answer.status_code == 403  # type: ignore[attr-defined]
    assert recorded(context) == []


@pytest.mark.parametrize("who", ["docgia", "xa1", "huyen2"])
def test_others_get_403_on_the_bulk_approval(
    console: tuple[TestClient, ConsoleContext], who: str
) -> None:
    client, context = console
    assert post(as_user(client, who), BULK, "/", unit="001").status_code == 403  # type: ignore[attr-defined]
    assert recorded(context) == []


def test_reader_sees_no_approval_buttons(console: tuple[TestClient, ConsoleContext]) -> None:
    client, _ = console
    page = as_user(client, "docgia").get(f"/steward/{Q1.code}/overview?unit=001")
    assert page.status_code == 200
    assert not buttons(page.text) and 'id="approve-children"' not in page.text


def test_approval_posts_need_the_csrf_token(console: tuple[TestClient, ConsoleContext]) -> None:
    client, context = console
    huyen = as_user(client, "huyen1")
    for url, data in ((ACT, {"action": "approve"}), (BULK, {"unit": "001"})):
        assert huyen.post(url, data=data, follow_redirects=False).status_code == 403
        forged = {**data, "csrf_token": "x" * 40}
        assert huyen.post(url, data=forged, follow_redirects=False).status_code == 403
    assert recorded(context) == []


def test_outcome_flash_names_one_unit_and_counts_a_bulk_action() -> None:
    done = BilingualText(vi="Đã phê duyệt", en="Approved")
    why = BilingualText(vi="chưa nộp", en="nothing submitted")
    one = ActionOutcome(
        action="approve",
        periods=("2025-Q1",),
        batch_id="b",
        by="huyen1",
        by_unit="001",
        done=(COMMUNE,),
        skipped={},
        announced=True,
    )
    assert outcome_flash(one, done).text.en == f"Approved: {COMMUNE}"
    bulk = one.model_copy(update={"done": ("2025-Q1/00001",), "skipped": {"2025-Q1/00006": why}})
    shown = outcome_flash(bulk, done)
    assert shown.ok and shown.text.vi == "Đã phê duyệt: 1"
    assert shown.details == (("2025-Q1/00006", why),)
    assert not outcome_flash(bulk.model_copy(update={"done": ()}), done).ok


def test_city_steward_accepts_a_district_its_steward_approved(
    console: tuple[TestClient, ConsoleContext],
) -> None:
    """Districts take two steps: the district approves itself, the city accepts it."""
    client, context = console
    service, steward = context.approvals, Actor(name="huyen1", role="district_steward", unit="001")
    service.approve_children(steward, "001", [Q1])
    for child in H.children("001"):
        if child.code not in (COMMUNE, OTHER_COMMUNE):
            service.mark_not_expected(steward, child.code, Q1, "sáp nhập")
    district = f"/steward/{Q1.code}/overview?unit=001"
    huyen = as_user(client, "huyen1")
    assert "approve" in buttons(huyen.get(district).text)
    post(
        huyen, f"/steward/{Q1.code}/unit/001/approval", district, action="approve", back="overview"
    )
    assert "accept" not in buttons(huyen.get(district).text)  # the city's step, not the district's
    city = as_user(client, "thanhpho")
    assert "accept" in buttons(city.get(district).text)
    answer = post(
        city, f"/steward/{Q1.code}/unit/001/approval", district, action="accept", back="overview"
    )
    assert answer.headers["location"] == district  # type: ignore[attr-defined]
    page = city.get(district)
    assert 'data-state="accepted"' in page.text and "Đã tiếp nhận: 001" in page.text
    assert service.unit("001", Q1).complete
