"""Approval actions across levels: approve, accept, return, unapprove, bulk, not expected.

The one place the rules of who may do what live, so the CLI and the console's
buttons are a few lines each:

- a step (``approve``, then ``accept`` on a two-step level) is taken by the
  steward ``schemas/approval.yaml`` names for it (the level above, or the unit's
  own level), and only once every child expected in the period's hierarchy is
  approved or marked not expected;
- ``return`` sends a unit back to whoever reported it, with a reason, from any
  level above it; ``unapprove`` is for the approver's level or any level above;
  neither while the level above still stands on the unit's approval;
- every action appends rows to the approvals table (history kept), names the
  live submission it concerns, and announces itself with one Prefect event
  (``dvkn.approval.approved|returned|unapproved``), one per bulk action.

Recording comes first: an event that cannot be sent is logged, never undoes
the action (the table is the truth; notifications are a courtesy).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy, HierarchyCatalog
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.approval import (
    approval_board,
    approved_submissions,
    block_key,
    pending_children,
)
from dvkn_pipeline.rollup.spatial import rollup
from dvkn_pipeline.services.ports import ApprovalTables, EventSink
from dvkn_pipeline.views.approval import (
    ActionChoices,
    ActionOutcome,
    ApprovalBoard,
    BilingualText,
    HistoryEntry,
    UnitApproval,
    approval_list,
    history_entries,
    message,
    portal_note,
    unit_approval,
)
from schemas.approval import ApprovalAction, ApprovalConfig, ApprovalState, load_approval_config
from schemas.messages import MessageKey
from schemas.records import (
    EVENT_APPROVAL_APPROVED,
    EVENT_APPROVAL_RETURNED,
    EVENT_APPROVAL_UNAPPROVED,
    Actor,
    ApprovalRow,
)

log = logging.getLogger(__name__)

#: Which event announces each action (``not_expected`` only changes what is expected).
EVENTS: dict[ApprovalAction, str] = {
    ApprovalAction.APPROVE: EVENT_APPROVAL_APPROVED,
    ApprovalAction.ACCEPT: EVENT_APPROVAL_APPROVED,
    ApprovalAction.RETURN: EVENT_APPROVAL_RETURNED,
    ApprovalAction.UNAPPROVE: EVENT_APPROVAL_UNAPPROVED,
}


class ApprovalError(DvknError, ValueError):
    """An action the state does not allow (children not approved, nothing to unapprove, ...)."""

    def __init__(self, text: BilingualText) -> None:
        super().__init__(text.both)
        self.text = text


class ForbiddenError(ApprovalError, PermissionError):
    """An actor whose role or unit does not allow the action on that unit."""


def _refuse(key: MessageKey, **fields: object) -> ApprovalError:
    return ApprovalError(message(key, **fields))


def _forbid(key: MessageKey, **fields: object) -> ForbiddenError:
    return ForbiddenError(message(key, **fields))


@dataclass(frozen=True)
class _Period:
    """One period's hierarchy and board, read once per action."""

    period: Period
    hierarchy: Hierarchy
    board: pl.DataFrame

    def row(self, unit: str) -> dict[str, object]:
        found = self.board.filter(pl.col("unit_code") == unit)
        if found.is_empty():
            raise _refuse(
                "approval.unknown_unit",
                unit=unit,
                period=self.period.code,
                version=self.hierarchy.version_id,
            )
        return found.row(0, named=True)

    def above(self, actor_unit: str, unit: str, or_same: bool = False) -> bool:
        """Is ``actor_unit`` an ancestor of ``unit`` (or the unit itself, with ``or_same``)?"""
        if or_same and actor_unit == unit:
            return True
        return any(a.code == actor_unit for a in self.hierarchy.ancestors(unit))


@dataclass(frozen=True)
class ApprovalService:
    """Approve, accept, return, unapprove, mark not expected; and read the state.

    Built by :func:`dvkn_pipeline.services.wiring.build_approvals`; tests pass
    in-memory tables and a recording event sink.
    """

    tables: ApprovalTables
    hierarchies: HierarchyCatalog
    catalogue: Catalogue
    root_unit: str
    events: EventSink
    config: ApprovalConfig = field(default_factory=load_approval_config)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # -- reading ------------------------------------------------------------------------

    def hierarchy(self, period: Period) -> Hierarchy:
        """The hierarchy in force for ``period`` (three levels before July 2025, two after)."""
        return self.hierarchies.for_date(period.reference_date).scope(self.root_unit)

    def board(self, period: Period) -> pl.DataFrame:
        """Every unit's approval state in ``period`` (``rollup.approval.BOARD_SCHEMA``)."""
        return self._open(period).board

    def approvals(
        self, period: Period, level: str | None = None, under: str | None = None
    ) -> ApprovalBoard:
        """The list a steward works from: every unit, or one level, or one unit's children."""
        p = self._open(period)
        return approval_list(p.board, p.hierarchy, self.config, period, level, under)

    def unit(self, unit: str, period: Period) -> UnitApproval:
        """One unit's state: what a unit page shows (and a commune's portal, see ``portal_note``)."""
        p = self._open(period)
        return unit_approval(p.row(unit), p.hierarchy, self.config)

    def returned_notes(self, unit: str) -> dict[str, BilingualText]:
        """Per period, what a unit's portal shows while it is returned: "returned: <reason>".

        Reads the history once and folds only the periods where the unit was
        ever returned (a correction uploaded since clears the note).
        """
        rows = self.tables.read_approvals()
        periods = (
            rows.filter((pl.col("unit_code") == unit) & (pl.col("action") == "return"))["period"]
            .unique()
            .sort()
            .to_list()
        )
        out: dict[str, BilingualText] = {}
        for code in periods:
            p = self._open(Period.parse(code))
            if unit in p.hierarchy:
                note = portal_note(unit_approval(p.row(unit), p.hierarchy, self.config))
                if note is not None:
                    out[code] = note
        return out

    def history(self, period: Period, unit: str | None = None) -> tuple[HistoryEntry, ...]:
        """Every recorded action of the period (of one unit), oldest first."""
        rows = self.tables.read_approvals(period.code)
        return history_entries(rows.filter(pl.col("unit_code") == unit) if unit else rows)

    def approved_rollup(self, period: Period) -> pl.DataFrame:
        """The roll-up of ``period`` over approved figures only.

        Read from the facts of the submissions the approvals point at, not of
        the live ones: a later upload for an approved unit changes nothing here
        until it is approved in turn.
        """
        p = self._open(period)
        ids = approved_submissions(p.board)
        facts = self.tables.read_facts(period.code, ids)
        return rollup(facts, p.hierarchy, self.catalogue, period)

    def _open(self, period: Period) -> _Period:
        hierarchy = self.hierarchy(period)
        board = approval_board(
            self.tables.read_approvals(period.code),
            self.tables.read_ledger(period.code),
            hierarchy,
            self.config,
            period.code,
        )
        return _Period(period, hierarchy, board)

    # -- acting -------------------------------------------------------------------------

    def approve(
        self, actor: Actor, unit: str, period: Period, comment: str | None = None
    ) -> ActionOutcome:
        """Take the unit's next step (``approve``, or ``accept`` on a two-step level).

        Raises :class:`ForbiddenError` when the actor is not the steward of that
        step, :class:`ApprovalError` when the unit is not ready (why, in both languages).
        """
        p = self._open(period)
        return self._record(actor, [(p, unit, self._check_approve(actor, p, unit))], comment, [])

    def accept(
        self, actor: Actor, unit: str, period: Period, comment: str | None = None
    ) -> ActionOutcome:
        """The level above accepts a unit its own level approved (two-step levels)."""
        p = self._open(period)
        return self._record(actor, [(p, unit, self._check_accept(actor, p, unit))], comment, [])

    def approve_children(
        self,
        actor: Actor,
        parent: str,
        periods: Sequence[Period],
        comment: str | None = None,
    ) -> ActionOutcome:
        """Approve, in one action, every child of ``parent`` that is ready, in each period.

        Children the actor may not approve, or that are not ready, are skipped
        with the reason; the rows of all periods are one commit and one event.
        """
        done: list[tuple[_Period, str, ApprovalAction]] = []
        skipped: list[tuple[str, BilingualText]] = []
        for period in periods:
            p = self._open(period)
            self._in_scope(actor, p)
            if parent not in p.hierarchy:
                skipped.append((f"{period.code}/{parent}", self._unknown(p, parent).text))
                continue
            for child in p.hierarchy.children(parent):
                try:
                    done.append((p, child.code, self._check_approve(actor, p, child.code)))
                except ApprovalError as exc:
                    skipped.append((f"{period.code}/{child.code}", exc.text))
        return self._record(actor, done, comment, skipped, bulk_of=parent)

    def return_unit(self, actor: Actor, unit: str, period: Period, reason: str) -> ActionOutcome:
        """Send a unit back, with a reason, to whoever reported it (any level above may)."""
        self._need_reason(reason)
        p = self._open(period)
        return self._record(actor, [(p, unit, self._check_return(actor, p, unit))], reason, [])

    def unapprove(
        self, actor: Actor, unit: str, period: Period, comment: str | None = None
    ) -> ActionOutcome:
        """Withdraw a unit's approval (or its not-expected mark): the approver's level or above."""
        p = self._open(period)
        action = self._check_unapprove(actor, p, unit)
        return self._record(actor, [(p, unit, action)], comment, [])

    def mark_not_expected(
        self, actor: Actor, unit: str, period: Period, reason: str
    ) -> ActionOutcome:
        """A steward says a child owes no report this period (counts as settled for its parent)."""
        self._need_reason(reason)
        p = self._open(period)
        action = self._check_not_expected(actor, p, unit)
        return self._record(actor, [(p, unit, action)], reason, [])

    def act(
        self,
        actor: Actor,
        action: ApprovalAction,
        unit: str,
        period: Period,
        text: str | None = None,
    ) -> ActionOutcome:
        """One button of a page: ``action`` on ``unit``, ``text`` its comment or reason.

        The console's form posts the action's name; this is the one place it
        becomes a call, so a page and the CLI take the same checks.
        """
        if action is ApprovalAction.RETURN:
            return self.return_unit(actor, unit, period, text or "")
        if action is ApprovalAction.NOT_EXPECTED:
            return self.mark_not_expected(actor, unit, period, text or "")
        step = {
            ApprovalAction.APPROVE: self.approve,
            ApprovalAction.ACCEPT: self.accept,
            ApprovalAction.UNAPPROVE: self.unapprove,
        }[action]
        return step(actor, unit, period, text)

    def choices(self, actor: Actor, unit: str, period: Period) -> ActionChoices:
        """Which actions ``actor`` may take on ``unit`` now, and why not the others.

        What a page needs to show only the buttons that will work (and a tooltip
        for the others); the same checks the actions themselves run.
        """
        p = self._open(period)
        checks = {
            ApprovalAction.APPROVE: self._check_approve,
            ApprovalAction.ACCEPT: self._check_accept,
            ApprovalAction.RETURN: self._check_return,
            ApprovalAction.UNAPPROVE: self._check_unapprove,
            ApprovalAction.NOT_EXPECTED: self._check_not_expected,
        }
        allowed: list[str] = []
        refused: dict[str, BilingualText] = {}
        for action, check in checks.items():
            try:
                taken = check(actor, p, unit)
            except ApprovalError as exc:
                refused[action.value] = exc.text
                continue
            if action is ApprovalAction.APPROVE and taken is ApprovalAction.ACCEPT:
                continue  # the accept button says it
            allowed.append(action.value)
        return ActionChoices(
            unit_code=unit, period=period.code, allowed=tuple(allowed), refused=refused
        )

    # -- one check per action: the action to record, or why not ---------------------------

    def _check_approve(self, actor: Actor, p: _Period, unit: str) -> ApprovalAction:
        return self._step(self._check_step(actor, p, unit))

    def _check_accept(self, actor: Actor, p: _Period, unit: str) -> ApprovalAction:
        row = p.row(unit)
        if row["next_action"] != ApprovalAction.ACCEPT.value:
            raise _refuse("approval.nothing_to_accept", unit=unit)
        self._check_step(actor, p, unit)
        return ApprovalAction.ACCEPT

    def _check_return(self, actor: Actor, p: _Period, unit: str) -> ApprovalAction:
        row = self._may(actor, p, unit, ApprovalAction.RETURN)
        if row["state"] in (ApprovalState.NOT_SUBMITTED.value, ApprovalState.RETURNED.value):
            raise _refuse("approval.nothing_to_return", unit=unit)
        self._parent_not_standing(p, unit)
        return ApprovalAction.RETURN

    def _check_unapprove(self, actor: Actor, p: _Period, unit: str) -> ApprovalAction:
        row = self._may(actor, p, unit, ApprovalAction.UNAPPROVE)
        if row["steps_done"] == 0 and row["state"] != ApprovalState.NOT_EXPECTED.value:
            raise _refuse("approval.not_approved", unit=unit)
        approver = str(row["last_by_unit"])
        if not p.above(actor.unit, approver, or_same=True):
            raise _forbid("approval.unapprove_below", unit=unit, approver=approver)
        self._parent_not_standing(p, unit)
        return ApprovalAction.UNAPPROVE

    def _check_not_expected(self, actor: Actor, p: _Period, unit: str) -> ApprovalAction:
        row = self._may(actor, p, unit, ApprovalAction.NOT_EXPECTED)
        if int(str(row["steps_done"])) > 0:
            raise _refuse("approval.already_approved", unit=unit)
        self._parent_not_standing(p, unit)
        return ApprovalAction.NOT_EXPECTED

    # -- the rules ----------------------------------------------------------------------

    def _in_scope(self, actor: Actor, p: _Period) -> None:
        if actor.unit not in p.hierarchy:
            raise _forbid(
                "approval.scope_unknown",
                scope=actor.unit,
                period=p.period.code,
                version=p.hierarchy.version_id,
            )

    def _unknown(self, p: _Period, unit: str) -> ApprovalError:
        return _refuse(
            "approval.unknown_unit",
            unit=unit,
            period=p.period.code,
            version=p.hierarchy.version_id,
        )

    def _may(
        self, actor: Actor, p: _Period, unit: str, action: ApprovalAction
    ) -> dict[str, object]:
        """The unit's board row, once the actor's role and scope allow ``action`` on it."""
        if action not in self.config.roles.get(actor.role, ()):
            raise _forbid("approval.role_forbidden", role=actor.role, action=action.value)
        self._in_scope(actor, p)
        row = p.row(unit)
        if action in (ApprovalAction.RETURN, ApprovalAction.NOT_EXPECTED) and not p.above(
            actor.unit, unit
        ):
            raise _forbid("approval.not_above", scope=actor.unit, unit=unit)
        return row

    def _check_step(self, actor: Actor, p: _Period, unit: str) -> dict[str, object]:
        """The unit's row if ``actor`` may take its next step now; else why not."""
        row = p.row(unit)
        step = ApprovalAction(str(row["next_action"] or ApprovalAction.APPROVE.value))
        self._may(actor, p, unit, step)
        by = row["next_by_unit"]
        if row["next_action"] is not None and actor.unit != by:
            raise _forbid("approval.not_your_step", unit=unit, action=step.value, steward=by)
        if not row["ready"]:
            pending = ", ".join(pending_children(p.board, unit)[:20])
            raise ApprovalError(message(block_key(row["blocked"]), unit=unit, pending=pending))
        return row

    def _step(self, row: dict[str, object]) -> ApprovalAction:
        return ApprovalAction(str(row["next_action"]))

    def _parent_not_standing(self, p: _Period, unit: str) -> None:
        """Nothing below an approval may move while it stands: unapprove the parent first."""
        parent = p.hierarchy.unit(unit).parent_code
        if parent is None:
            return
        above = p.row(parent)
        if int(str(above["steps_done"])) > 0:
            raise _refuse("approval.parent_approved", unit=unit, parent=parent)

    def _need_reason(self, reason: str) -> None:
        if not reason or not reason.strip():
            raise _refuse("approval.reason_needed")

    # -- recording ----------------------------------------------------------------------

    def _record(
        self,
        actor: Actor,
        actions: Iterable[tuple[_Period, str, ApprovalAction]],
        comment: str | None,
        skipped: list[tuple[str, BilingualText]],
        bulk_of: str | None = None,
    ) -> ActionOutcome:
        """Append the rows (one commit), then announce them (one event)."""
        batch = uuid.uuid4().hex
        at = self.clock()
        rows = [
            self._row(actor, p, unit, action, comment, batch, at) for p, unit, action in actions
        ]
        self.tables.add_approvals(rows)
        action = ApprovalAction(rows[0].action) if rows else ApprovalAction.APPROVE
        announced = bool(rows) and self._announce(actor, action, rows, comment, bulk_of)
        return ActionOutcome(
            action=action.value,
            periods=tuple(sorted({r.period for r in rows} | {k.split("/")[0] for k, _ in skipped})),
            batch_id=batch,
            by=actor.name,
            by_unit=actor.unit,
            done=tuple(f"{r.period}/{r.unit_code}" if bulk_of else r.unit_code for r in rows),
            skipped=dict(skipped),
            announced=announced,
        )

    def _row(
        self,
        actor: Actor,
        p: _Period,
        unit: str,
        action: ApprovalAction,
        comment: str | None,
        batch: str,
        at: datetime,
    ) -> ApprovalRow:
        row = p.row(unit)
        # An accept vouches for what was approved; every other action for what is live.
        prefix = "approved" if action is ApprovalAction.ACCEPT else "live"
        sid, key = row[f"{prefix}_submission_id"], row[f"{prefix}_key"]
        etag, version = row[f"{prefix}_etag"], row[f"{prefix}_version"]
        return ApprovalRow(
            approval_id=uuid.uuid4().hex,
            batch_id=batch,
            period=p.period.code,
            unit_code=unit,
            unit_level=str(row["unit_level"]),
            action=action.value,
            by_name=actor.name,
            by_role=actor.role,
            by_unit=actor.unit,
            at=at,
            comment=comment.strip() if comment and comment.strip() else None,
            hierarchy_version=p.hierarchy.version_id,
            submission_id=str(sid) if sid else None,
            upload_key=str(key) if key else None,
            upload_etag=_opt(etag),
            report_version=_opt_int(version),
        )

    def _announce(
        self,
        actor: Actor,
        action: ApprovalAction,
        rows: list[ApprovalRow],
        comment: str | None,
        bulk_of: str | None,
    ) -> bool:
        event = EVENTS.get(action)
        if event is None:
            return False
        periods = sorted({r.period for r in rows})
        units = [r.unit_code for r in rows]
        first = rows[0]
        subject = f"{bulk_of}.children" if bulk_of else first.unit_code
        resource = {
            "prefect.resource.id": f"dvkn.approval.{periods[0]}.{subject}",
            "dvkn.period": ",".join(periods),
            "dvkn.unit": bulk_of or first.unit_code,
            "dvkn.count": str(len(rows)),
            "dvkn.by": actor.name,
            "dvkn.by_unit": actor.unit,
        }
        payload = {
            "action": action.value,
            "units": [f"{r.period}/{r.unit_code}" for r in rows] if bulk_of else units,
            "periods": periods,
            "by": actor.name,
            "by_unit": actor.unit,
            "comment": comment or "",
            "batch_id": first.batch_id,
        }
        try:
            self.events.emit(event, resource, payload)
        except Exception:  # the action is recorded; a lost notification must not undo it
            log.warning("could not announce %s of %s", event, units, exc_info=True)
            return False
        return True


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def period_range(first: Period, last: Period) -> list[Period]:
    """``first`` to ``last`` inclusive (same period type): the past periods of a bulk approval."""
    if first.type_id != last.type_id:
        raise _refuse("approval.range_types", first=first.code, last=last.code)
    if (last.year, last.index) < (first.year, first.index):
        first, last = last, first
    out = [last]
    while (out[-1].year, out[-1].index) > (first.year, first.index):
        out.append(out[-1].previous(1)[0])
    return list(reversed(out))
