"""The stewards' and readers' pages: overview, follow-up lists, unit page, trends, exports.

A few lines each over :class:`dvkn_pipeline.services.steward.Steward` (the same
service ``dvkn status --state`` and ``dvkn trend`` call). Every route checks
the account first (``require``: the role's permission, and the unit inside
the account's scope in the period's hierarchy), then hands the service the
account's scope, which refuses anything outside it a second time. A reader
has ``overview.read``, ``trends.read`` and ``exports.read`` but not
``units.read``, so the lists and unit pages (names, contacts, receipts) are
the stewards' alone.

The approval buttons (``approvals.act``) are POST forms over
:class:`dvkn_pipeline.services.approval.ApprovalService`: the account acts as an
``Actor`` with its own role and scope, the page shows only the buttons
``choices`` allows, and a refusal (someone acted first, a stale page) comes
back as a flash message in both languages on the same page, never an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from dvkn_pipeline.console.context import ConsoleContext, ctx
from dvkn_pipeline.console.pages import console_words, flash, language, period_or_404, render
from dvkn_pipeline.console.security import CsrfChecked, CurrentAccount, require
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy, NoHierarchyError
from dvkn_pipeline.reference.levels import LevelError, canonical_level
from dvkn_pipeline.reference.messages import number
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.approval import ApprovalError, ApprovalPage
from dvkn_pipeline.services.exports import CSV_TYPE, XLSX_TYPE, export_name
from dvkn_pipeline.services.steward import OutOfScopeError, Steward
from dvkn_pipeline.views.access import permits, role_spec
from dvkn_pipeline.views.approval import (
    ActionOutcome,
    ApprovalPanel,
    Flash,
    approval_panel,
    approval_state_words,
    outcome_flash,
)
from dvkn_pipeline.views.chart import state_colours
from dvkn_pipeline.views.overview import state_words
from dvkn_pipeline.views.status import STATE_FILTERS
from dvkn_pipeline.views.trend import trend_chart
from schemas.approval import ApprovalAction
from schemas.records import Actor
from schemas.roles import Account, Permission
from schemas.steward import load_steward_text

router = APIRouter(prefix="/steward")
Ctx = Annotated[ConsoleContext, Depends(ctx)]
#: The lists a steward can open: the states, "attention", and the outliers.
LISTS = (*STATE_FILTERS, "outliers")
#: How many periods a trend shows by default, ending with the period looked at.
TREND_PERIODS = 4


def scope_of(account: Account, c: ConsoleContext) -> str:
    """The unit an account answers for: its scope, or the installation's root (admin)."""
    return account.scope if role_spec(account.role).scope_level else c.settings.root_unit


def _checked(
    account: Account, permission: Permission, unit: str, steward: Steward, *periods: Period
) -> list[Hierarchy]:
    """403 unless the account may; 404 for a period no unit list covers (before 2025)."""
    try:
        hierarchies = [steward.hierarchy(p) for p in periods]
    except NoHierarchyError as exc:
        raise HTTPException(status_code=404, detail="period") from exc
    require(account, permission, unit, *hierarchies)
    return hierarchies


def actor_of(account: Account, c: ConsoleContext) -> Actor:
    """The account as the approval service's actor: its name, role and scope unit."""
    return Actor(name=account.username, role=account.role, unit=scope_of(account, c))


def _approval_page(account: Account, c: ConsoleContext, unit: str, p: Period) -> ApprovalPage:
    """The unit's approval state and the buttons this account may press now (one read)."""
    return c.approvals.page(actor_of(account, c), unit, p)


def _panel(page: ApprovalPage) -> ApprovalPanel:
    return approval_panel(page.unit, page.choices)


def _nav(
    request: Request, account: Account, c: ConsoleContext, p: Period, page: str
) -> dict[str, Any]:
    """What every steward page's header needs: the period, the tabs the role may open,
    and ``num`` writing a figure the visitor's way (vi ``2.852,5``, en ``2,852.5``)."""
    vi = language(request) == "vi"
    return {
        "num": lambda v: "–" if v is None else (number(v).vi if vi else number(v).en),
        "account": account,
        "period": p,
        "page": page,
        "scope": scope_of(account, c),
        "may_units": permits(account.role, "units.read"),
        "may_trends": permits(account.role, "trends.read"),
        "may_exports": permits(account.role, "exports.read"),
        "may_approve": permits(account.role, "approvals.act"),
        "approval_states": approval_state_words(c.approvals.config),
        "states": state_words(),
        "colours": state_colours(),
    }


@router.get("")
def start(account: CurrentAccount, c: Ctx) -> Response:
    """The latest period with figures (else the current quarter), at the account's own unit."""
    p = c.steward.latest_period(datetime.now(UTC).date())
    return RedirectResponse(f"/steward/{p.code}/overview", status_code=303)


@router.get("/go")
def go(account: CurrentAccount, period: str, page: str = "overview") -> Response:
    """The period form's target: the same page for the period typed."""
    p = period_or_404(period.strip().upper())
    target = {"lists": "list/missing", "trend": "trend"}.get(page, "overview")
    return RedirectResponse(f"/steward/{p.code}/{target}", status_code=303)


@router.get("/{period}/overview")
def overview(
    request: Request, period: str, account: CurrentAccount, c: Ctx, unit: str | None = None
) -> Response:
    p = period_or_404(period)
    scope = scope_of(account, c)
    unit = unit or scope
    _checked(account, "overview.read", unit, c.steward, p)
    approval = _approval_page(account, c, unit, p)
    view = c.steward.overview(p, scope, unit, approval.board)
    return render(
        request,
        "steward_overview.html",
        view=view,
        approval=_panel(approval) if permits(account.role, "approvals.act") else None,
        ready=approval.children.totals["ready"],
        levels=c.steward.export_levels(p),
        export_level=c.steward.export_level(p, scope),
        **_nav(request, account, c, p, "overview"),
    )


@router.get("/{period}/list/{state}")
def state_list(
    request: Request,
    period: str,
    state: str,
    account: CurrentAccount,
    c: Ctx,
    district: str | None = None,
) -> Response:
    p = period_or_404(period)
    if state not in LISTS:
        raise HTTPException(status_code=404, detail="list")
    scope = scope_of(account, c)
    where = district or scope
    [h] = _checked(account, "units.read", where, c.steward, p)
    if state == "outliers":
        lines, outliers = None, c.steward.outliers(p, scope, where)
    else:
        lines, outliers = c.steward.state_list(p, state, scope, where), None
    return render(
        request,
        "steward_list.html",
        state=state,
        lists=LISTS,
        where=where,
        where_name=h.unit(where).name,
        districts=c.steward.districts(p, scope),
        lines=lines,
        outliers=outliers,
        **_nav(request, account, c, p, "lists"),
    )


@router.get("/{period}/unit/{unit}")
def unit_page(
    request: Request, period: str, unit: str, account: CurrentAccount, c: Ctx
) -> Response:
    p = period_or_404(period)
    _checked(account, "units.read", unit, c.steward, p)
    page = c.steward.unit_page(p, unit, scope_of(account, c))
    return render(
        request,
        "steward_unit.html",
        view=page,
        approval=_panel(_approval_page(account, c, unit, p)),
        history=c.approvals.history(p, unit),
        **_nav(request, account, c, p, "unit"),
    )


def _approval(
    request: Request,
    account: Account,
    c: ConsoleContext,
    period: str,
    unit: str,
    done_key: str,
    act: Callable[[Actor, Period], ActionOutcome],
) -> Period:
    """Check the account may act on ``unit``, then act as it; what the action did, or
    why it was refused (both languages), is the next page's flash message."""
    p = period_or_404(period)
    _checked(account, "approvals.act", unit, c.steward, p)
    try:
        flash(request, outcome_flash(act(actor_of(account, c), p), console_words(done_key)))
    except ApprovalError as exc:
        flash(request, Flash(ok=False, text=exc.text))
    return p


@router.post("/{period}/unit/{unit}/approval", dependencies=[CsrfChecked])
def approval_action(
    request: Request,
    period: str,
    unit: str,
    action: Annotated[ApprovalAction, Form()],
    account: CurrentAccount,
    c: Ctx,
    text: Annotated[str, Form(max_length=1000)] = "",
    back: Annotated[Literal["unit", "overview"], Form()] = "unit",
) -> Response:
    """One approval button: the action as this account, then back to the page it was on."""
    comment = text.strip() or None

    def one(actor: Actor, p: Period) -> ActionOutcome:
        return c.approvals.act(actor, action, unit, p, comment)

    p = _approval(request, account, c, period, unit, f"approval.done.{action.value}", one)
    target = f"overview?unit={unit}" if back == "overview" else f"unit/{unit}"
    return RedirectResponse(f"/steward/{p.code}/{target}", status_code=303)


@router.post("/{period}/overview/approve-children", dependencies=[CsrfChecked])
def approve_children(
    request: Request,
    period: str,
    unit: Annotated[str, Form()],
    account: CurrentAccount,
    c: Ctx,
    text: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Approve every ready unit below: the children this account may approve now."""
    comment = text.strip() or None

    def bulk(actor: Actor, p: Period) -> ActionOutcome:
        return c.approvals.approve_children(actor, unit, [p], comment)

    p = _approval(request, account, c, period, unit, "approval.done.bulk", bulk)
    return RedirectResponse(f"/steward/{p.code}/overview?unit={unit}", status_code=303)


@router.get("/{period}/trend")
def trend(
    request: Request,
    period: str,
    account: CurrentAccount,
    c: Ctx,
    unit: str | None = None,
    start: Annotated[str | None, Query(alias="from")] = None,
    indicator: str | None = None,
    level: str | None = None,
) -> Response:
    p = period_or_404(period)
    first = period_or_404(start) if start else c.steward.trend_start(p, TREND_PERIODS)
    scope = scope_of(account, c)
    unit = unit or scope
    _checked(account, "trends.read", unit, c.steward, p)
    indicator = indicator or None
    if indicator is not None and indicator not in c.steward.catalogue.by_code:
        raise HTTPException(status_code=400, detail="indicator")
    try:
        reporter = canonical_level(level) if level else None
        found = c.steward.trend(unit, first, p, scope, indicator, reporter)
    except OutOfScopeError:
        raise
    except (DvknError, LevelError) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    h = c.steward.hierarchy(p)
    words = load_steward_text().trend
    made = found.unit
    title = words.title.format(unit=unit, name=h.unit(unit).name, first=first, last=p)
    lang = language(request)
    return render(
        request,
        "steward_trend.html",
        trend=made,
        below=found.below,
        unit=unit,
        unit_name=h.unit(unit).name,
        first=first,
        chart=trend_chart(made, title, lang),
        indicators=[
            (i.code, i.vi if lang == "vi" else i.en) for i in c.steward.catalogue.indicators
        ],
        chosen=indicator or "",
        reporter_levels=c.steward.reporter_levels(p),
        chosen_level=reporter or "",
        children=h.children(unit),
        **_nav(request, account, c, p, "trend"),
    )


@router.get("/{period}/export.{fmt}")
def export(
    period: str, fmt: str, account: CurrentAccount, c: Ctx, level: str = "district"
) -> Response:
    p = period_or_404(period)
    if fmt not in ("xlsx", "csv"):
        raise HTTPException(status_code=404, detail="format")
    scope = scope_of(account, c)
    _checked(account, "exports.read", scope, c.steward, p)
    try:
        lvl = canonical_level(level)
        files = c.steward.export(p, lvl, scope)
    except OutOfScopeError:
        raise
    except (DvknError, LevelError, ValueError) as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    name = f"{export_name(p, lvl)}.{fmt}"
    return Response(
        files.xlsx if fmt == "xlsx" else files.csv,
        media_type=XLSX_TYPE if fmt == "xlsx" else CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
