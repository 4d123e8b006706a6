"""The console's FastAPI app: a commune's portal and (helper pages) the stewards' pages.

Server-rendered Jinja2 templates, one stylesheet and one small script (the
upload); no front-end build. Pages are a few lines over the services, with
the figures computed by the pure views the CLI uses.

How to add a page
-----------------
1. **Router**: a module in ``console/routes/`` with ``router = APIRouter()``,
   added to :data:`ROUTERS` below. A handler takes ``account: CurrentAccount``
   (``security.py``: the logged-in account, else a redirect to the login page)
   and the context ``c: ConsoleContext = Depends(ctx)`` (settings, services).
2. **Scope check** before reading anything: ``require(account, "overview.read",
   unit, hierarchy)`` answers 403 unless the role has that permission
   (``schemas/roles.yaml``) and ``unit`` is the account's scope unit or below
   it in the period's hierarchy (``views/access.py``). Lists of many units are
   filtered with ``views.access.allowed`` instead.
3. **View model**: what the page computes is a pure function returning a
   dataclass in ``views/`` (tested without a server), fed by a service method
   (``services/``) that reads the tables; no rule lives in the route.
4. **Template**: ``console/templates/<page>.html`` extending ``base.html``;
   every word through ``t("key")`` with the key in ``schemas/console.yaml``
   (both languages); ``render(request, "<page>.html", account=account, ...)``.
5. **Forms** POST with ``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">``
   inside and the route depends on
   ``CsrfChecked`` (``dependencies=[CsrfChecked]``); a script's ``fetch`` sends
   the ``X-CSRF-Token`` header from ``<meta name="csrf-token">``.
6. **Tests**: route tests with ``TestClient`` over ``tests/console_support.py``
   (fakes), the 403s for a foreign unit, and a browser test in
   ``tests/integration/test_console_browser.py`` using the ``console_page`` fixture.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from dvkn_pipeline.console.context import ConsoleContext
from dvkn_pipeline.console.pages import HERE, render
from dvkn_pipeline.console.routes import auth, commune, home, steward
from dvkn_pipeline.console.security import LoginRequiredError, current_account
from dvkn_pipeline.services.steward import OutOfScopeError
from schemas.roles import Account

ROUTERS = (auth.router, home.router, commune.router, steward.router)
SESSION_COOKIE = "dvkn_session"
_ERROR_KEYS = {400: "error.bad_request", 403: "error.forbidden", 404: "error.not_found"}


def _visitor(request: Request) -> Account | None:
    """The logged-in account on an error page (so it can still log out), else None."""
    try:
        return current_account(request)
    except LoginRequiredError:
        return None


def create_app(context: ConsoleContext, secret_key: str) -> FastAPI:
    """The console over ``context``; sessions signed with ``secret_key``."""
    if len(secret_key) < 32:
        raise ValueError("the console's secret key needs at least 32 characters")
    app = FastAPI(title="DVKN console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = context
    settings = context.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=int(timedelta(hours=settings.console_session_hours).total_seconds()),
        same_site="lax",
        https_only=settings.console_cookie_secure,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(LoginRequiredError)
    async def _login(request: Request, exc: LoginRequiredError) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        key = "error.csrf" if exc.detail == "csrf" else _ERROR_KEYS.get(exc.status_code)
        if key is None:
            return HTMLResponse(str(exc.detail), status_code=exc.status_code)
        return render(
            request, "error.html", exc.status_code, message_key=key, account=_visitor(request)
        )

    @app.exception_handler(OutOfScopeError)
    async def _out_of_scope(request: Request, exc: OutOfScopeError) -> Response:
        # The services' own scope check (behind the routes' ``require``): also a 403.
        return render(
            request, "error.html", 403, message_key="error.forbidden", account=_visitor(request)
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "error.html", 400, message_key="error.bad_request")

    return app
