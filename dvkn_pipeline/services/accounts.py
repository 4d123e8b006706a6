"""Console accounts: add, list, disable, and check a password (argon2).

``dvkn users`` and the console's login call these; the book itself is kept by
an :class:`~dvkn_pipeline.services.ports.AccountStore` (the object store in
both the embedded default and production, see ``storage/accounts.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.services.ports import AccountStore
from dvkn_pipeline.views.access import scope_error
from schemas.roles import Account, AccountBook, RoleName

_HASHER = PasswordHasher()
#: Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MIN_PASSWORD_CHARS = 8
_CAS_ATTEMPTS = 10


class AccountError(DvknError, ValueError):
    """An account that cannot be made or changed as asked (taken name, bad scope, short password)."""


def list_accounts(store: AccountStore) -> list[Account]:
    return sorted(store.load()[0].accounts, key=lambda a: a.username)


def find_account(store: AccountStore, username: str) -> Account | None:
    wanted = username.strip().lower()
    return next((a for a in store.load()[0].accounts if a.username == wanted), None)


def add_account(
    store: AccountStore,
    hierarchies: list[Hierarchy],
    *,
    username: str,
    role: RoleName,
    scope: str,
    password: str,
    display_name: str = "",
    replace: bool = False,
) -> Account:
    """Create an account (or, with ``replace``, reset its role, scope and password)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    problem = scope_error(role, scope, hierarchies)
    if problem is not None:
        raise AccountError(problem)
    try:
        account = Account(
            username=username.strip().lower(),
            role=role,
            scope=scope,
            display_name=display_name,
            password_hash=_HASHER.hash(password),
            created_at=datetime.now(UTC),
        )
    except ValueError as exc:
        raise AccountError(str(exc)) from exc

    def change(book: AccountBook) -> AccountBook:
        others = [a for a in book.accounts if a.username != account.username]
        if len(others) != len(book.accounts) and not replace:
            raise AccountError(f"account {account.username} exists (use --replace to reset it)")
        return AccountBook(accounts=[*others, account])

    _update(store, change)
    return account


def set_disabled(store: AccountStore, username: str, disabled: bool = True) -> Account:
    """Disable (or enable) an account: its sessions stop working at their next request."""
    wanted = username.strip().lower()
    changed: list[Account] = []

    def change(book: AccountBook) -> AccountBook:
        changed.clear()
        out = []
        for a in book.accounts:
            if a.username == wanted:
                a = a.model_copy(update={"disabled": disabled})
                changed.append(a)
            out.append(a)
        if not changed:
            raise AccountError(f"no account {wanted}")
        return AccountBook(accounts=out)

    _update(store, change)
    return changed[0]


def authenticate(store: AccountStore, username: str, password: str) -> Account | None:
    """The account if the name and password match and it is enabled, else None."""
    account = find_account(store, username)
    try:
        _HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or account.disabled:
        return None
    return account


def _update(store: AccountStore, change: Callable[[AccountBook], AccountBook]) -> None:
    for _ in range(_CAS_ATTEMPTS):
        book, etag = store.load()
        if store.save(change(book), etag):
            return
    raise AccountError("the account book kept changing under us; try again")
