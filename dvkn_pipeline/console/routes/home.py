"""The landing page: a commune goes straight to its portal, other roles see their links."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from dvkn_pipeline.console.pages import render
from dvkn_pipeline.console.security import CurrentAccount
from dvkn_pipeline.views.access import permits, role_spec

router = APIRouter()


@router.get("/")
def home(request: Request, account: CurrentAccount) -> Response:
    if account.role == "commune":
        return RedirectResponse(f"/commune/{account.scope}", status_code=303)
    return render(
        request,
        "home.html",
        account=account,
        role=role_spec(account.role),
        has_portal=permits(account.role, "portal.read"),
        has_overview=permits(account.role, "overview.read"),
    )
