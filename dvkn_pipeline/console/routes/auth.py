"""Log in, log out, choose the language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dvkn_pipeline.console.context import ConsoleContext, ctx
from dvkn_pipeline.console.pages import language, render, set_language
from dvkn_pipeline.console.security import CsrfChecked
from dvkn_pipeline.services.accounts import authenticate

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path of this site (no ``//host``, no scheme): no open redirect after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=_safe_next(next), error_key=None)


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    c: Annotated[ConsoleContext, Depends(ctx)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    client = request.client.host if request.client else "?"
    if not c.login_limiter.hit(client, username):
        return render(request, "login.html", 429, next=_safe_next(next), error_key="login.limited")
    account = authenticate(c.accounts, username, password)
    if account is None:
        return render(request, "login.html", 401, next=_safe_next(next), error_key="login.failed")
    lang = language(request)
    request.session.clear()  # a new session (and CSRF token) for the logged-in visitor
    request.session.update({"user": account.username, "lang": lang})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    lang = language(request)
    request.session.clear()
    request.session["lang"] = lang
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{lang}")
def choose_language(request: Request, lang: str, next: str = "/") -> Response:
    set_language(request, lang)
    return RedirectResponse(_safe_next(next), status_code=303)
