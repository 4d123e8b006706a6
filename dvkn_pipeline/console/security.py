"""Who is asking, and may they: the session's account, the role/scope check, CSRF.

Sessions are Starlette's signed cookie (itsdangerous): HTTP-only, SameSite=Lax,
Secure behind TLS; a cookie whose signature does not match is ignored, so a
tampered cookie is a logged-out visitor. The session holds only the account
name, the language and the CSRF token; the account itself is read from the
book on every request, so disabling it ends its sessions at once.

CSRF: a random token per session, in every form (``csrf_token`` field) and in
the ``X-CSRF-Token`` header of the page's own ``fetch``; every POST compares
it (constant time) with the session's before doing anything.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from dvkn_pipeline.console.context import ctx
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.services.accounts import find_account
from dvkn_pipeline.views.access import allowed
from schemas.roles import Account, Permission

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequiredError(Exception):
    """No (valid) session: the app's handler sends the visitor to the login page."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (403) a POST whose token is missing or not this session's."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="csrf")


def current_account(request: Request) -> Account:
    """The logged-in, enabled account, or :class:`LoginRequiredError`."""
    name = request.session.get("user")
    if not isinstance(name, str):
        raise LoginRequiredError
    account = find_account(ctx(request).accounts, name)
    if account is None or account.disabled:
        request.session.pop("user", None)
        raise LoginRequiredError
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]
CsrfChecked = Depends(check_csrf)


def require(account: Account, permission: Permission, unit: str, *hierarchies: Hierarchy) -> None:
    """403 unless ``account`` may use ``permission`` for ``unit`` (``views/access.py``).

    With several hierarchies (a page spanning periods before and after a reform),
    allowed in any of them is enough.
    """
    if not any(allowed(account, permission, unit, h) for h in hierarchies):
        raise HTTPException(status_code=403, detail="forbidden")
