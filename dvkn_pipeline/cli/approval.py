"""``dvkn approve``, ``accept``, ``return``, ``unapprove``, ``not-expected``, ``approvals``.

A few lines each over :class:`dvkn_pipeline.services.approval.ApprovalService`:
the rules (who may act, children first, the lock) live there, so the console's
buttons behave exactly like these commands. Who acts is given as ``--by`` (a
name), ``--scope`` (the unit they answer for) and ``--role``; the console
passes its logged-in account instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from dvkn_pipeline.cli.common import (
    JsonOpt,
    PeriodOpt,
    console,
    err,
    load_settings,
    parse_period,
    print_json,
    use_prefect,
)
from dvkn_pipeline.reference.levels import LevelError, canonical_level
from dvkn_pipeline.reference.periods import Period, load_calendar
from dvkn_pipeline.services.approval import ApprovalError, ApprovalService, period_range
from dvkn_pipeline.views.approval import ActionOutcome
from schemas.approval import ApprovalAction, load_approval_config
from schemas.records import Actor

UnitOpt = Annotated[str, typer.Option("--unit", "-u", help="The unit's code.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who acts (the steward's name).")]
ScopeOpt = Annotated[
    str, typer.Option("--scope", help="The unit the acting steward answers for (its code).")
]
RoleOpt = Annotated[
    str, typer.Option("--role", help="The acting account's role (schemas/approval.yaml).")
]
CommentOpt = Annotated[str | None, typer.Option("--comment", help="A note kept with the action.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (the unit reads it).")]


def _service() -> ApprovalService:
    from dvkn_pipeline.events.prefect_sink import PrefectPostSink
    from dvkn_pipeline.ops import local_env
    from dvkn_pipeline.services.wiring import build_approvals

    settings = load_settings()
    use_prefect(settings)
    return build_approvals(settings, PrefectPostSink(local_env.prefect_api_url(settings)))


def _done(outcome: ActionOutcome, json_out: bool) -> None:
    """Print what an action did; exit 1 when it did nothing."""
    if json_out:
        print_json(outcome.model_dump(mode="json"))
    else:
        what = f"{outcome.action} by {outcome.by} ({outcome.by_unit})"
        console.print(f"{what}: {', '.join(outcome.done) or 'nothing'}")
        for unit, why in outcome.skipped.items():
            console.print(f"  skipped {unit}: {why.both}")
        if outcome.done and not outcome.announced:
            err.print("recorded, but the Prefect event could not be sent (no notification)")
    if not outcome.done:
        raise typer.Exit(1)


def _refused(exc: ApprovalError) -> typer.Exit:
    err.print(f"[bold red]{type(exc).__name__}[/]: {exc.text.vi}\n  {exc.text.en}")
    if exc.text.hint_vi:
        err.print(f"  → {exc.text.hint_vi} / {exc.text.hint_en}")
    return typer.Exit(1)


def _act(action: Callable[[ApprovalService], ActionOutcome], json_out: bool) -> None:
    """Run one action against the service; a refusal prints why (both languages) and exits 1."""
    try:
        outcome = action(_service())
    except ApprovalError as exc:
        raise _refused(exc) from exc
    _done(outcome, json_out)


def _one(
    action: ApprovalAction,
    unit: str,
    period: str,
    who: tuple[str, str, str],
    text: str | None,
    json_out: bool,
) -> None:
    """One action on one unit through ``ApprovalService.act``, the entry the console's
    buttons take too; ``who`` is (name, role, scope unit)."""
    actor, p = Actor(name=who[0], role=who[1], unit=who[2]), parse_period(period)
    _act(lambda s: s.act(actor, action, unit, p, text), json_out)


def approve(
    unit: UnitOpt,
    period: PeriodOpt,
    by: ByOpt,
    scope: ScopeOpt,
    role: RoleOpt = "steward",
    children: Annotated[
        bool, typer.Option("--children", help="Approve every ready child of --unit instead.")
    ] = False,
    to: Annotated[
        str | None,
        typer.Option("--to", help="With --children: every period from --period to this one."),
    ] = None,
    comment: CommentOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Approve a unit for a period (its next step: approve, or accept on a two-step level).

    A unit is approved only once every unit below it is; ``--children`` approves
    all children of ``--unit`` that are ready, in one action (over a range of
    past periods with ``--to``), and lists those it skipped and why.
    """
    actor, p = Actor(name=by, role=role, unit=scope), parse_period(period)
    if to and not children:
        raise typer.BadParameter("--to goes with --children (a range of periods is a bulk action)")
    if children:
        last = parse_period(to) if to else p
        _act(lambda s: s.approve_children(actor, unit, period_range(p, last), comment), json_out)
    else:
        _one(ApprovalAction.APPROVE, unit, period, (by, role, scope), comment, json_out)


def accept(
    unit: UnitOpt,
    period: PeriodOpt,
    by: ByOpt,
    scope: ScopeOpt,
    role: RoleOpt = "steward",
    comment: CommentOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The level above accepts a unit its own level approved (two-step levels)."""
    _one(ApprovalAction.ACCEPT, unit, period, (by, role, scope), comment, json_out)


def return_unit(
    unit: UnitOpt,
    period: PeriodOpt,
    reason: ReasonOpt,
    by: ByOpt,
    scope: ScopeOpt,
    role: RoleOpt = "steward",
    json_out: JsonOpt = False,
) -> None:
    """Send a unit's report back, with a reason, to the commune or district that reported it."""
    _one(ApprovalAction.RETURN, unit, period, (by, role, scope), reason, json_out)


def unapprove(
    unit: UnitOpt,
    period: PeriodOpt,
    by: ByOpt,
    scope: ScopeOpt,
    role: RoleOpt = "steward",
    comment: CommentOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Withdraw a unit's approval (or its not-expected mark): the approver's level or above."""
    _one(ApprovalAction.UNAPPROVE, unit, period, (by, role, scope), comment, json_out)


def not_expected(
    unit: UnitOpt,
    period: PeriodOpt,
    reason: ReasonOpt,
    by: ByOpt,
    scope: ScopeOpt,
    role: RoleOpt = "steward",
    json_out: JsonOpt = False,
) -> None:
    """Mark a unit "not expected this period" (with a reason): its parent may be approved without it."""
    _one(ApprovalAction.NOT_EXPECTED, unit, period, (by, role, scope), reason, json_out)


def approvals(
    period: PeriodOpt,
    level: Annotated[
        str | None, typer.Option(help="Only units of this level (district, commune, ...).")
    ] = None,
    under: Annotated[str | None, typer.Option(help="Only the children of this unit.")] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", "-u", help="One unit: its state and its history.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Every unit's approval state in a period: who, when, changed since approval, children.

    With ``--unit``: that unit's state and every action recorded on it, oldest first.
    """
    p = parse_period(period)
    if unit is not None:
        _print_unit(_service(), unit, p, json_out)
        return
    try:
        lvl = canonical_level(level) if level else None
    except LevelError as exc:
        raise typer.BadParameter(str(exc), param_hint="--level") from exc
    board = _service().approvals(p, lvl, under)
    if json_out:
        print_json(board.model_dump(mode="json"))
        return
    table = Table(
        "unit",
        "name",
        "level",
        "state",
        "step",
        "by",
        "at",
        "changed",
        "children",
        title=f"Approvals {board.period} ({board.period_vi}), hierarchy {board.hierarchy_version}",
    )
    table.add_column("next", no_wrap=True, overflow="ellipsis", max_width=48)
    pending = load_approval_config().pending_reapproval.vi
    zone = load_calendar().time_zone
    for u in board.units:
        state = u.state_text.vi + (f" · {pending}" if u.pending_reapproval else "")
        if u.returned_reason and u.state.value == "returned":
            state += f": {u.returned_reason}"
        nxt = (
            f"{u.next_action} by {u.next_by_unit}"
            if u.ready and u.next_action
            else (u.blocked.en if u.blocked and u.next_action else "")
        )
        table.add_row(
            u.unit_code,
            u.name,
            u.level,
            state,
            u.step,
            f"{u.approved_by} ({u.approved_by_unit})" if u.approved_by else "",
            f"{u.approved_at.astimezone(zone):%d/%m/%Y %H:%M}" if u.approved_at else "",
            str(u.changed_since_approval) if u.changed_since_approval else "",
            f"{u.children_approved}/{u.children_expected}" if u.children_expected else "",
            nxt,
        )
    console.print(table)
    console.print(", ".join(f"{k} {v}" for k, v in board.totals.items() if v))


def _print_unit(service: ApprovalService, unit: str, p: Period, json_out: bool) -> None:
    try:
        view = service.unit(unit, p)
    except ApprovalError as exc:
        raise _refused(exc) from exc
    history = service.history(p, unit)
    if json_out:
        print_json(
            view.model_dump(mode="json") | {"history": [e.model_dump(mode="json") for e in history]}
        )
        return
    zone = load_calendar().time_zone
    console.print(
        f"[bold]{view.unit_code} {view.name}[/] ({view.level_label}), {view.period}: "
        f"{view.state_text.both} ({view.step})"
    )
    if view.pending_reapproval:
        console.print(load_approval_config().pending_reapproval.both)
    table = Table("at", "action", "by", "comment", "upload")
    for e in history:
        table.add_row(
            f"{e.at.astimezone(zone):%d/%m/%Y %H:%M}",
            e.action,
            f"{e.by} ({e.by_role}, {e.by_unit})",
            e.comment or "",
            e.upload_key or "",
        )
    console.print(table)
