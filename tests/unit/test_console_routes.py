"""Route tests of the console (TestClient over in-memory fakes): login, sessions, CSRF, 403s."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from dvkn_pipeline.console.app import SESSION_COOKIE
from dvkn_pipeline.services.accounts import set_disabled
from tests.console_support import (
    COMMUNE,
    FAR_COMMUNE,
    OTHER_COMMUNE,
    PASSWORD,
    csrf_of,
    log_in,
    make_console,
)

PERIOD = "2025-Q1"


@pytest.fixture
def console() -> TestClient:
    return make_console()[0]


def test_a_visitor_without_a_session_is_sent_to_the_login_page(console: TestClient) -> None:
    r = console.get(f"/commune/{COMMUNE}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    page = console.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text  # Vietnamese first


def test_a_commune_logs_in_and_lands_on_its_own_periods(console: TestClient) -> None:
    r = log_in(console, "xa1")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = console.get("/")
    assert page.url.path == f"/commune/{COMMUNE}"
    assert "Quý I/2025" in page.text and "chưa nộp" in page.text


def test_a_wrong_password_is_refused_with_the_same_words_as_an_unknown_name(
    console: TestClient,
) -> None:
    wrong = log_in(console, "xa1", "not-the-password")
    unknown = log_in(console, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
    assert console.get(f"/commune/{COMMUNE}", follow_redirects=False).status_code == 303


def test_login_without_the_csrf_token_is_refused(console: TestClient) -> None:
    console.get("/login")
    r = console.post(
        "/login", data={"username": "xa1", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    r = console.post(
        "/login",
        data={"username": "xa1", "password": PASSWORD, "csrf_token": "forged" * 6},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert console.get(f"/commune/{COMMUNE}", follow_redirects=False).status_code == 303


def test_posts_of_a_logged_in_commune_need_the_session_token(console: TestClient) -> None:
    log_in(console, "xa1")
    url = f"/commune/{COMMUNE}/{PERIOD}/upload"
    assert console.post(url, json={"filename": "a.xlsx", "size": 100}).status_code == 403
    assert (
        console.post(
            url, json={"filename": "a.xlsx", "size": 100}, headers={"X-CSRF-Token": "x" * 43}
        )
    ).status_code == 403
    assert console.post("/logout", follow_redirects=False).status_code == 403
    token = csrf_of(console, f"/commune/{COMMUNE}")
    ok = console.post(
        url, json={"filename": "a.xlsx", "size": 100}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200, ok.text


def test_the_csrf_token_changes_at_login(console: TestClient) -> None:
    before = csrf_of(console)
    log_in(console, "xa1")
    after = csrf_of(console, f"/commune/{COMMUNE}")
    assert before != after


def test_login_attempts_are_limited_per_name_and_client() -> None:
    console = make_console(login_limit="3/minute")[0]
    codes = [log_in(console, "xa1", "wrong-password").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    limited = log_in(console, "xa1")  # the right password, but too many attempts
    assert limited.status_code == 429 and "Quá nhiều lần thử" in limited.text
    assert log_in(console, "xa4").status_code == 303  # another account is not held up


def test_a_tampered_session_cookie_is_refused(console: TestClient) -> None:
    log_in(console, "xa1")
    value = console.cookies[SESSION_COOKIE]
    assert console.get(f"/commune/{COMMUNE}").status_code == 200
    payload, _, rest = value.partition(".")
    # Swap one character of the signed payload: the signature no longer matches.
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    console.cookies.set(SESSION_COOKIE, f"{flipped}.{rest}")
    r = console.get(f"/commune/{COMMUNE}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_session_claiming_another_user_without_the_secret_is_refused(
    console: TestClient,
) -> None:
    import base64
    import json

    forged = base64.b64encode(json.dumps({"user": "thanhpho"}).encode()).decode()
    console.cookies.set(SESSION_COOKIE, f"{forged}.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert console.get("/", follow_redirects=False).status_code == 303


def test_a_disabled_account_loses_its_session_at_once() -> None:
    console, context, _ = make_console()
    log_in(console, "xa1")
    assert console.get(f"/commune/{COMMUNE}").status_code == 200
    set_disabled(context.accounts, "xa1")
    assert console.get(f"/commune/{COMMUNE}", follow_redirects=False).status_code == 303
    assert log_in(console, "xa1").status_code == 401


@pytest.mark.parametrize("unit", [OTHER_COMMUNE, FAR_COMMUNE, "001", "01"])
def test_every_page_of_another_unit_is_forbidden_to_a_commune(
    console: TestClient, unit: str
) -> None:
    log_in(console, "xa1")
    token = csrf_of(console, f"/commune/{COMMUNE}")
    key = f"incoming/{unit}/{PERIOD}/bao-cao.xlsx"
    for url in (
        f"/commune/{unit}",
        f"/commune/{unit}/{PERIOD}",
        f"/commune/{unit}/{PERIOD}/template.xlsx",
        f"/commune/{unit}/{PERIOD}/receipt?key={key}",
    ):
        r = console.get(url)
        assert r.status_code == 403, url
        assert "Bạn không có quyền" in r.text
        assert 'action="/logout"' in r.text  # still logged in: the page lets it log out
    r = console.post(
        f"/commune/{unit}/{PERIOD}/upload",
        json={"filename": "bao-cao.xlsx", "size": 100},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 403


def test_a_commune_cannot_read_another_units_receipt_through_its_own_url(
    console: TestClient,
) -> None:
    log_in(console, "xa1")
    for key in (
        f"incoming/{OTHER_COMMUNE}/{PERIOD}/bao-cao.xlsx",
        f"incoming/{COMMUNE}/2025-Q2/bao-cao.xlsx",  # another period's folder
        f"incoming/{COMMUNE}/{PERIOD}/../../{OTHER_COMMUNE}/{PERIOD}/x.xlsx",
    ):
        r = console.get(f"/commune/{COMMUNE}/{PERIOD}/receipt", params={"key": key})
        assert r.status_code == 403, key


def test_a_signed_upload_is_for_the_communes_own_folder_only() -> None:
    console, _, signer = make_console()
    log_in(console, "xa1")
    token = csrf_of(console, f"/commune/{COMMUNE}")
    url = f"/commune/{COMMUNE}/{PERIOD}/upload"
    ok = console.post(
        url, json={"filename": "Báo cáo quý 1.xlsx", "size": 100}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200
    assert ok.json()["key"] == f"incoming/{COMMUNE}/{PERIOD}/Báo cáo quý 1.xlsx"
    # A path in the name is cut to its base name: it never leaves the folder.
    sneaky = console.post(
        url,
        json={"filename": f"../../{OTHER_COMMUNE}/{PERIOD}/x.xlsx", "size": 100},
        headers={"X-CSRF-Token": token},
    )
    assert sneaky.json()["key"] == f"incoming/{COMMUNE}/{PERIOD}/x.xlsx"
    for bad in (".hidden.xlsx", "a\u202eb.xlsx", "%2e%2e.xlsx"):
        r = console.post(url, json={"filename": bad, "size": 100}, headers={"X-CSRF-Token": token})
        assert r.status_code == 400, bad
    for size in (0, -1, 10 * 1024 * 1024 + 1):  # empty, nonsense, over the intake's limit
        r = console.post(
            url, json={"filename": "a.xlsx", "size": size}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 400, size
    assert all(k.startswith(f"incoming/{COMMUNE}/{PERIOD}/") for k in signer.signed)


def test_a_steward_reads_its_communes_portal_but_cannot_upload_for_them(
    console: TestClient,
) -> None:
    log_in(console, "huyen1")
    assert console.get(f"/commune/{COMMUNE}/{PERIOD}").status_code == 200
    assert console.get(f"/commune/{FAR_COMMUNE}/{PERIOD}").status_code == 403
    assert console.get(f"/commune/{COMMUNE}/{PERIOD}/template.xlsx").status_code == 403


def test_the_template_is_prefilled_with_the_unit_and_period(console: TestClient) -> None:
    import io

    from openpyxl import load_workbook

    log_in(console, "xa1")
    r = console.get(f"/commune/{COMMUNE}/{PERIOD}/template.xlsx")
    assert r.status_code == 200
    assert f"bao-cao-{COMMUNE}-{PERIOD}.xlsx" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    cover = "\n".join(
        str(c.value) for row in wb.worksheets[0].iter_rows() for c in row if c.value is not None
    )
    assert COMMUNE in cover and PERIOD in cover


def test_english_is_one_click_away_and_stays(console: TestClient) -> None:
    log_in(console, "xa1")
    r = console.get(f"/lang/en?next=/commune/{COMMUNE}")
    assert "Reporting periods" in r.text and "missing" in r.text
    assert "Reporting periods" in console.get(f"/commune/{COMMUNE}").text
    assert "Các kỳ báo cáo" in console.get(f"/lang/vi?next=/commune/{COMMUNE}").text


def test_after_login_a_visitor_only_goes_to_a_path_of_this_site(console: TestClient) -> None:
    token = csrf_of(console)
    r = console.post(
        "/login",
        data={
            "username": "xa1",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_every_template_word_is_in_the_console_text() -> None:
    from pathlib import Path

    from schemas.console_text import load_console_text

    known = set(load_console_text().text)
    root = Path(__file__).parents[2] / "dvkn_pipeline" / "console" / "templates"
    used = {
        m.group(1)
        for f in root.glob("*.html")
        for m in re.finditer(r"""t\(["']([a-z_.]+)["']\)""", f.read_text(encoding="utf-8"))
    }
    assert used and used <= known, sorted(used - known)


def test_a_period_the_unit_does_not_report_for_offers_no_template_or_upload(
    console: TestClient,
) -> None:
    """00001 was merged away in the 2025 reform: it reports for 2025-Q1, not 2025-Q4."""
    log_in(console, "xa1")
    assert 'id="upload-form"' in console.get(f"/commune/{COMMUNE}/{PERIOD}").text
    later = console.get(f"/commune/{COMMUNE}/2025-Q4")
    assert later.status_code == 200 and "không phải nộp" in later.text
    assert 'id="upload-form"' not in later.text and "template.xlsx" not in later.text
