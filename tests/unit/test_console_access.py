"""Who may do what for which unit (views/access.py), console accounts (services/accounts.py),
and a commune's portal view (views/portal.py) against the states of ``dvkn status``."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.services.accounts import (
    AccountError,
    add_account,
    authenticate,
    list_accounts,
    set_disabled,
)
from dvkn_pipeline.storage.accounts import StoredAccounts
from dvkn_pipeline.views.access import allowed, covers, permits, scope_error
from dvkn_pipeline.views.portal import (
    period_line,
    reporting_periods,
    upload_history,
    uploaded_periods,
)
from dvkn_pipeline.views.status import status_report
from schemas.roles import Account, AccountBook, load_roles
from tests.fakes import MemoryBucket
from tests.unit.test_status import CAT, HANOI, LEDGER, Q1

VERSIONS = load_hierarchies().versions
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def account(role: str, scope: str, disabled: bool = False) -> Account:
    return Account(
        username="u1",
        role=role,  # type: ignore[arg-type]
        scope=scope,
        password_hash="x",
        disabled=disabled,
        created_at=NOW,
    )


def test_roles_are_data_and_only_communes_upload() -> None:
    roles = load_roles().roles
    assert set(roles) == {"commune", "district_steward", "city_steward", "reader", "admin"}
    assert [r for r in roles if permits(r, "portal.upload")] == ["commune"]
    assert not permits("reader", "portal.read") and permits("reader", "overview.read")
    assert not permits("commune", "overview.read")


def test_a_commune_covers_itself_only() -> None:
    xa = account("commune", "00001")
    assert allowed(xa, "portal.upload", "00001", HANOI)
    for other in ("00004", "001", "01", "99999"):
        assert not allowed(xa, "portal.read", other, HANOI), other


def test_a_district_steward_covers_its_subtree_only() -> None:
    huyen = account("district_steward", "001")
    ba_dinh = [u.code for u in HANOI.children("001")]
    assert all(allowed(huyen, "portal.read", u, HANOI) for u in ba_dinh)
    assert allowed(huyen, "overview.read", "001", HANOI)
    assert not allowed(huyen, "portal.read", "00037", HANOI)  # Hoàn Kiếm
    assert not allowed(huyen, "overview.read", "01", HANOI)  # its parent
    assert not allowed(huyen, "portal.upload", ba_dinh[0], HANOI)  # read, not upload


def test_a_city_steward_covers_the_city_and_a_disabled_account_nothing() -> None:
    assert all(allowed(account("city_steward", "01"), "portal.read", u.code, HANOI) for u in HANOI)
    assert not allowed(account("city_steward", "01", disabled=True), "portal.read", "01", HANOI)
    assert not covers(HANOI, "01", "99999")


def test_a_scope_must_be_a_unit_of_the_roles_level() -> None:
    assert scope_error("commune", "00001", VERSIONS) is None  # pre-reform code still valid
    assert scope_error("commune", "001", VERSIONS) is not None
    assert scope_error("district_steward", "00001", VERSIONS) is not None
    assert scope_error("city_steward", "01", VERSIONS) is None
    assert scope_error("admin", "anything", VERSIONS) is None


def test_accounts_keep_only_an_argon2_hash_and_check_passwords() -> None:
    bucket = MemoryBucket()
    store = StoredAccounts(bucket)
    add_account(
        store,
        VERSIONS,
        username="Xa-00001",
        role="commune",
        scope="00001",
        password="mat-khau-1234",
    )
    found = bucket.read_with_etag("_state/console/accounts.json")
    assert found is not None
    raw = found[0]
    assert b"mat-khau-1234" not in raw and b"$argon2id$" in raw
    assert authenticate(store, "xa-00001", "mat-khau-1234") is not None  # names are lower-case
    assert authenticate(store, "xa-00001", "mat-khau-12345") is None
    assert authenticate(store, "nobody", "mat-khau-1234") is None
    with pytest.raises(AccountError, match="exists"):
        add_account(
            store,
            VERSIONS,
            username="xa-00001",
            role="commune",
            scope="00001",
            password="another-password",
        )
    with pytest.raises(AccountError, match="at least"):
        add_account(
            store, VERSIONS, username="xa-2", role="commune", scope="00004", password="short"
        )
    with pytest.raises(AccountError, match="not a commune"):
        add_account(
            store, VERSIONS, username="xa-3", role="commune", scope="001", password="long-enough-1"
        )
    set_disabled(store, "xa-00001")
    assert authenticate(store, "xa-00001", "mat-khau-1234") is None
    assert [a.disabled for a in list_accounts(store)] == [True]


def test_two_writers_at_once_lose_no_account() -> None:
    """The book is written compare-and-swap: a writer that lost the race reads again."""
    bucket = MemoryBucket()
    store = StoredAccounts(bucket)

    class Racing(StoredAccounts):
        raced = False

        def save(self, book: AccountBook, etag: str | None) -> bool:
            if not self.raced:  # another admin adds an account between our read and write
                self.raced = True
                add_account(
                    store,
                    VERSIONS,
                    username="other",
                    role="commune",
                    scope="00004",
                    password="password-2",
                )
            return super().save(book, etag)

    add_account(
        Racing(bucket),
        VERSIONS,
        username="mine",
        role="commune",
        scope="00001",
        password="password-1",
    )
    assert [a.username for a in list_accounts(store)] == ["mine", "other"]


def test_the_portal_says_what_dvkn_status_says_for_each_commune() -> None:
    payload = status_report(LEDGER, HANOI, CAT, Q1, "commune")
    today = date(2026, 1, 1)
    for line in payload["units"]:
        mine = period_line(LEDGER, HANOI, CAT, Q1, line["unit_code"], today)
        assert (mine.state, mine.days_late) == (line["state"], line["days_late"])
        assert mine.overdue == (line["state"] in ("missing", "rejected"))
        assert mine.deadline == Q1.deadline("commune")


def test_a_unit_not_in_the_periods_hierarchy_is_not_expected() -> None:
    line = period_line(LEDGER, HANOI, CAT, Q1, "99999", date(2026, 1, 1))
    assert line.state is None and not line.needs_action


def test_history_is_newest_first_with_the_live_upload_marked() -> None:
    hist = upload_history(LEDGER, Q1, "00013")
    assert [h.filename for h in hist] == ["v2.csv", "v1.csv"]
    assert [h.live for h in hist] == [True, False]
    # Shown on Hanoi's clock: 10:00 UTC on the 20th is 17:00 there.
    assert hist[0].received_at.strftime("%d/%m %H:%M") == "20/03 17:00"
    assert uploaded_periods(LEDGER, "00013") == ["2025-Q1"]


def test_the_periods_listed_are_the_latest_begun_ones_and_any_uploaded_for() -> None:
    got = [p.code for p in reporting_periods(date(2025, 12, 20), ["quarter"], 4, ["2024-Q2"])]
    # 2026-Q1's data window begins on 15 December 2025.
    assert got == ["2026-Q1", "2025-Q4", "2025-Q3", "2025-Q2", "2024-Q2"]
