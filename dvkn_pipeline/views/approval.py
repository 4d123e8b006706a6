"""What a person reads about approvals: a unit's state, a period's board, an action's outcome.

Typed view models built from the board of :mod:`dvkn_pipeline.rollup.approval`,
so ``dvkn approvals`` (table and ``--json``), the console's district and unit
pages and a commune's portal show one computation. Words come from
``schemas/approval.yaml`` (states, basis) and ``schemas/messages.yaml``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.levels import LevelError, level_labels
from dvkn_pipeline.reference.messages import render
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.approval import block_key
from schemas.approval import ApprovalConfig, ApprovalState, Basis
from schemas.messages import MessageKey


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class BilingualText(_View):
    vi: str
    en: str
    #: What to do about it, when the message says.
    hint_vi: str | None = None
    hint_en: str | None = None

    @property
    def both(self) -> str:
        return f"{self.vi} / {self.en}"


class SubmissionRef(_View):
    """The upload an approval vouched for, or the live one."""

    submission_id: str
    key: str | None = None
    etag: str | None = None
    report_version: int | None = None


class UnitApproval(_View):
    """One unit × period, as a unit page, a row of a list or ``--json`` shows it."""

    period: str
    unit_code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None
    state: ApprovalState
    state_text: BilingualText
    #: "1/2" once the unit's own level approved and the level above has yet to accept.
    step: str
    complete: bool
    #: May its next step be taken now (all children settled, something submitted, ...)?
    ready: bool
    #: Why not, when ``ready`` is false and a step remains.
    blocked: BilingualText | None
    #: The next step (``approve`` or ``accept``) and whose steward takes it.
    next_action: str | None
    next_by_unit: str | None
    approved_by: str | None
    approved_by_unit: str | None
    approved_at: datetime | None
    approved: SubmissionRef | None
    live: SubmissionRef | None
    last_action: str | None
    last_by: str | None
    last_at: datetime | None
    comment: str | None
    #: Why it was sent back (what a commune reads as "returned: <reason>").
    returned_reason: str | None
    #: A later upload is held: the approved figures stay those of ``approved``.
    pending_reapproval: bool
    #: Accepted uploads in this unit's subtree (itself included) since its approval.
    changed_since_approval: int
    children_expected: int
    children_approved: int
    children_not_expected: int


class ApprovalBoard(_View):
    """A period's approvals at one level (or under one unit): the list a steward works from."""

    period: str
    period_vi: str
    hierarchy_version: str
    levels: tuple[str, ...]
    units: tuple[UnitApproval, ...]
    totals: dict[str, int]


class ActionOutcome(_View):
    """What one action (or one bulk action) did: units done, units skipped and why."""

    action: str
    periods: tuple[str, ...]
    batch_id: str
    by: str
    by_unit: str
    done: tuple[str, ...]
    skipped: dict[str, BilingualText]
    announced: bool


class HistoryEntry(_View):
    """One recorded action on a unit × period, as a unit page's history lists it."""

    at: datetime
    unit_code: str
    period: str
    action: str
    by: str
    by_role: str
    by_unit: str
    comment: str | None
    submission_id: str | None
    upload_key: str | None
    hierarchy_version: str
    batch_id: str


def history_entries(rows: pl.DataFrame) -> tuple[HistoryEntry, ...]:
    """The approvals table's rows, oldest first, as typed entries."""
    return tuple(
        HistoryEntry(
            at=r["at"],
            unit_code=r["unit_code"],
            period=r["period"],
            action=r["action"],
            by=r["by_name"],
            by_role=r["by_role"],
            by_unit=r["by_unit"],
            comment=r["comment"],
            submission_id=r["submission_id"],
            upload_key=r["upload_key"],
            hierarchy_version=r["hierarchy_version"],
            batch_id=r["batch_id"],
        )
        for r in rows.sort("at", maintain_order=True).iter_rows(named=True)
    )


class ActionChoices(_View):
    """Which approval buttons an account gets on a unit's page, and why not the others."""

    unit_code: str
    period: str
    #: Actions that would succeed now: approve, accept, return, unapprove, not_expected.
    allowed: tuple[str, ...]
    #: The others, each with the reason it would be refused (a tooltip).
    refused: dict[str, BilingualText]


def message(key: MessageKey, **fields: object) -> BilingualText:
    text = render(key, **fields)
    return BilingualText(vi=text.vi, en=text.en, hint_vi=text.hint_vi, hint_en=text.hint_en)


def basis_text(config: ApprovalConfig, basis: Basis) -> BilingualText:
    """Which figures a table shows: "approved only" or "all accepted" (printed on every sheet)."""
    words = config.basis[basis]
    return BilingualText(vi=words.vi, en=words.en)


def _label(level: str) -> str:
    try:
        lv = level_labels(level)
    except LevelError:
        return level
    return f"{lv.vi} / {lv.en}"


def _ref(row: dict[str, Any], prefix: str) -> SubmissionRef | None:
    sid = row[f"{prefix}_submission_id"]
    if sid is None:
        return None
    return SubmissionRef(
        submission_id=sid,
        key=row[f"{prefix}_key"],
        etag=row[f"{prefix}_etag"],
        report_version=row[f"{prefix}_version"],
    )


def unit_approval(
    row: dict[str, Any], hierarchy: Hierarchy, config: ApprovalConfig
) -> UnitApproval:
    """One row of the board as its view model."""
    state = ApprovalState(row["state"])
    words = config.states[state]
    blocked = row["blocked"]
    return UnitApproval(
        period=row["period"],
        unit_code=row["unit_code"],
        name=hierarchy.unit(row["unit_code"]).name,
        level=row["unit_level"],
        level_label=_label(row["unit_level"]),
        parent_code=row["parent_code"],
        state=state,
        state_text=BilingualText(vi=words.vi, en=words.en),
        step=f"{row['steps_done']}/{row['n_steps']}",
        complete=row["complete"],
        ready=row["ready"],
        blocked=message(
            block_key(blocked),
            unit=row["unit_code"],
            pending=f"{row['children_expected'] - row['children_complete']}"
            f"/{row['children_expected']}",
        )
        if blocked
        else None,
        next_action=row["next_action"],
        next_by_unit=row["next_by_unit"],
        approved_by=row["approved_by"],
        approved_by_unit=row["approved_by_unit"],
        approved_at=row["approved_at"],
        approved=_ref(row, "approved"),
        live=_ref(row, "live"),
        last_action=row["last_action"],
        last_by=row["last_by"],
        last_at=row["last_at"],
        comment=row["last_comment"],
        returned_reason=row["returned_reason"],
        pending_reapproval=row["pending_reapproval"],
        changed_since_approval=row["changed_since_approval"],
        children_expected=row["children_expected"],
        children_approved=row["children_complete"],
        children_not_expected=row["children_not_expected"],
    )


def approval_list(
    board: pl.DataFrame,
    hierarchy: Hierarchy,
    config: ApprovalConfig,
    period: Period,
    level: str | None = None,
    under: str | None = None,
) -> ApprovalBoard:
    """The board of ``period``: every unit, or those of ``level``, or the children of ``under``."""
    rows = board
    if level is not None:
        rows = rows.filter(pl.col("unit_level") == level)
    if under is not None:
        rows = rows.filter(pl.col("parent_code") == under)
    units = tuple(unit_approval(r, hierarchy, config) for r in rows.iter_rows(named=True))
    totals = {s.value: sum(u.state is s for u in units) for s in ApprovalState}
    totals |= {
        "units": len(units),
        "ready": sum(u.ready for u in units),
        "pending_reapproval": sum(u.pending_reapproval for u in units),
        "changed_since_approval": sum(u.changed_since_approval > 0 for u in units),
    }
    return ApprovalBoard(
        period=period.code,
        period_vi=period.label_vi,
        hierarchy_version=hierarchy.version_id,
        levels=hierarchy.levels,
        units=units,
        totals=totals,
    )


def approval_state_words(config: ApprovalConfig) -> dict[str, tuple[str, str]]:
    """Each approval state's words (vi, en), for a table's badges."""
    return {s.value: (w.vi, w.en) for s, w in config.states.items()}


def portal_note(unit: UnitApproval) -> BilingualText | None:
    """What a commune's portal shows beside its report: "returned: <reason>", or nothing."""
    if unit.state is not ApprovalState.RETURNED or not unit.returned_reason:
        return None
    return message("approval.returned_note", reason=unit.returned_reason)


#: The buttons of a unit, in the order a page shows them.
BUTTON_ORDER = ("approve", "accept", "unapprove", "return", "not_expected")
#: Actions the service refuses without a reason (``ApprovalService._need_reason``).
REASON_ACTIONS = frozenset({"return", "not_expected"})


class ApprovalButton(_View):
    action: str
    #: The form carries a required reason field (return, not expected).
    needs_reason: bool


class ApprovalPanel(_View):
    """A steward page's approval card: the unit's state and the buttons that will work."""

    state: UnitApproval
    buttons: tuple[ApprovalButton, ...]
    #: Why the other actions would be refused (shown as each button's absence reason).
    refused: dict[str, BilingualText]


def approval_panel(unit: UnitApproval, choices: ActionChoices) -> ApprovalPanel:
    """Only the allowed actions become buttons; the rest keep their reason."""
    return ApprovalPanel(
        state=unit,
        buttons=tuple(
            ApprovalButton(action=a, needs_reason=a in REASON_ACTIONS)
            for a in BUTTON_ORDER
            if a in choices.allowed
        ),
        refused={a: choices.refused[a] for a in BUTTON_ORDER if a in choices.refused},
    )


class Flash(_View):
    """What a page says once after an approval form: done, or refused and why (both languages)."""

    ok: bool
    text: BilingualText
    #: Units a bulk action skipped, each with its reason.
    details: tuple[tuple[str, BilingualText], ...] = ()


def outcome_flash(outcome: ActionOutcome, done: BilingualText) -> Flash:
    """An action's outcome as the line a page shows: ``done``, which unit (how many, for
    a bulk action), and what was skipped and why."""
    what = str(len(outcome.done)) if outcome.skipped or len(outcome.done) != 1 else outcome.done[0]
    return Flash(
        ok=bool(outcome.done),
        text=BilingualText(vi=f"{done.vi}: {what}", en=f"{done.en}: {what}"),
        details=tuple(sorted(outcome.skipped.items())),
    )
