"""A commune's portal: its periods, a period's page (template, upload, history), receipts.

Every route checks the account against the unit in the URL first
(``require``): a commune account reaches only its own unit (403 otherwise),
a steward its subtree's (read only: upload needs ``portal.upload``).
A period a steward returned shows "Bị trả lại: <reason>" (``returned_notes``)
until a corrected upload clears it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from dvkn_pipeline.console.context import ConsoleContext, ctx
from dvkn_pipeline.console.pages import language, render
from dvkn_pipeline.console.security import CsrfChecked, CurrentAccount, require
from dvkn_pipeline.reference.periods import Period, PeriodError
from dvkn_pipeline.services.portal import PortalError
from dvkn_pipeline.views.access import allowed
from dvkn_pipeline.views.portal import receipt_view, today_in_vietnam

router = APIRouter(prefix="/commune")
Ctx = Annotated[ConsoleContext, Depends(ctx)]
#: How often the receipt page reloads itself while the receipt is not there yet.
RECEIPT_REFRESH_SECONDS = 3


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except PeriodError as exc:
        raise HTTPException(status_code=404, detail="period") from exc


def _today() -> datetime:
    return datetime.now(UTC)


@router.get("/{unit}")
def periods(request: Request, unit: str, account: CurrentAccount, c: Ctx) -> Response:
    today = today_in_vietnam(_today())
    require(account, "portal.read", unit, *c.portal.all_hierarchies())
    lines = c.portal.periods(unit, today)
    name = c.portal.unit_name(unit, today)
    return render(
        request,
        "commune_periods.html",
        account=account,
        unit=unit,
        unit_name=name,
        lines=lines,
        returned=c.approvals.returned_notes(unit),
    )


@router.get("/{unit}/{period}")
def period_page(
    request: Request, unit: str, period: str, account: CurrentAccount, c: Ctx
) -> Response:
    p = _period(period)
    hierarchy = c.portal.hierarchy(p)
    require(account, "portal.read", unit, hierarchy)
    line, uploads = c.portal.period(unit, p, today_in_vietnam(_today()))
    return render(
        request,
        "commune_period.html",
        account=account,
        unit=unit,
        unit_name=c.portal.unit_name(unit, p.reference_date),
        period=p,
        line=line,
        uploads=uploads,
        may_upload=allowed(account, "portal.upload", unit, hierarchy),
        max_bytes=c.settings.limits.max_file_bytes,
        returned=c.approvals.returned_notes(unit).get(p.code),
    )


@router.get("/{unit}/{period}/template.xlsx")
def template(unit: str, period: str, account: CurrentAccount, c: Ctx) -> Response:
    p = _period(period)
    require(account, "portal.upload", unit, c.portal.hierarchy(p))
    try:
        content = c.portal.template(unit, p)
    except PortalError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    name = f"bao-cao-{unit}-{p.code}.xlsx"
    return Response(
        content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/{unit}/{period}/upload", dependencies=[CsrfChecked])
def sign_upload(
    unit: str,
    period: str,
    filename: Annotated[str, Body(embed=True, max_length=400)],
    size: Annotated[int, Body(embed=True)],
    account: CurrentAccount,
    c: Ctx,
) -> Response:
    """A presigned PUT of ``size`` bytes to ``incoming/<unit>/<period>/<filename>``: the
    browser sends the file to the store itself."""
    p = _period(period)
    require(account, "portal.upload", unit, c.portal.hierarchy(p))
    try:
        signed = c.portal.sign_upload(unit, p, filename, size)
    except PortalError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(
        {
            "key": signed.key,
            "url": signed.url,
            "receipt_page": f"/commune/{unit}/{p.code}/receipt",
        }
    )


@router.get("/{unit}/{period}/receipt")
def receipt(
    request: Request,
    unit: str,
    period: str,
    key: str,
    account: CurrentAccount,
    c: Ctx,
    etag: str = "",
) -> Response:
    """The receipt of one upload; until it is written (for this ``etag``), a page that reloads itself."""
    p = _period(period)
    require(account, "portal.read", unit, c.portal.hierarchy(p))
    if not c.portal.owns_key(unit, p, key):
        raise HTTPException(status_code=403, detail="forbidden")
    found = c.portal.receipt(key)
    waiting = found is None or bool(etag and found.etag.strip('"') != etag.strip('"'))
    return render(
        request,
        "receipt.html",
        account=account,
        unit=unit,
        period=p,
        key=key,
        filename=key.rsplit("/", 1)[-1],
        receipt=None if waiting or found is None else receipt_view(found, language(request)),
        refresh=RECEIPT_REFRESH_SECONDS if waiting else None,
    )
