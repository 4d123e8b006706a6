"""The approval state of every unit of a period, derived from the append-only history.

The ``approvals`` table only ever gains rows (who did what, when, on which
submission); the state a page shows is folded from them here, every time, so
an unapprove or a return never erases what was vouched for before, and two
readers cannot disagree about the state. Pure: frames and the period's own
hierarchy in, one row per unit out. The period's hierarchy decides the chain:
a 2025-M05 period folds over districts, a 2025-M08 period has none.

"Approved" here always means the *last* step of the unit's level is done
(``approve``, or ``approve`` then ``accept``), or its steward marked it not
expected this period; that is what lets its parent take its own first step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from dvkn_pipeline.reference.hierarchy import Hierarchy, Unit
from dvkn_pipeline.rollup.spatial import live_submissions
from schemas.approval import ApprovalAction, ApprovalConfig, ApprovalState
from schemas.messages import MessageKey

#: Why a unit cannot take its next step (a key of ``messages.yaml``).
BLOCK_COMPLETE: MessageKey = "approval.already_approved"
BLOCK_CHILDREN: MessageKey = "approval.children_not_ready"
BLOCK_NOTHING: MessageKey = "approval.nothing_submitted"
BLOCK_RETURNED: MessageKey = "approval.returned_unchanged"
BLOCK_NOT_EXPECTED: MessageKey = "approval.not_expected"
BLOCK_KEYS: tuple[MessageKey, ...] = (
    BLOCK_COMPLETE,
    BLOCK_CHILDREN,
    BLOCK_NOTHING,
    BLOCK_RETURNED,
    BLOCK_NOT_EXPECTED,
)


def block_key(value: object) -> MessageKey:
    """The ``blocked`` column of a board row as the message key it is."""
    for key in BLOCK_KEYS:
        if key == value:
            return key
    raise ValueError(f"not a reason a step is blocked: {value!r}")


BOARD_SCHEMA: dict[str, Any] = {
    "period": pl.Utf8,
    "unit_code": pl.Utf8,
    "unit_level": pl.Utf8,
    "parent_code": pl.Utf8,
    "state": pl.Utf8,
    "steps_done": pl.Int64,
    "n_steps": pl.Int64,
    "complete": pl.Boolean,
    "settled": pl.Boolean,
    "next_action": pl.Utf8,
    "next_by_unit": pl.Utf8,
    "ready": pl.Boolean,
    "blocked": pl.Utf8,
    "last_action": pl.Utf8,
    "last_by": pl.Utf8,
    "last_by_unit": pl.Utf8,
    "last_at": pl.Datetime("us", "UTC"),
    "last_comment": pl.Utf8,
    "approved_by": pl.Utf8,
    "approved_by_unit": pl.Utf8,
    "approved_at": pl.Datetime("us", "UTC"),
    "approved_submission_id": pl.Utf8,
    "approved_key": pl.Utf8,
    "approved_etag": pl.Utf8,
    "approved_version": pl.Int64,
    "returned_reason": pl.Utf8,
    "live_submission_id": pl.Utf8,
    "live_key": pl.Utf8,
    "live_etag": pl.Utf8,
    "live_version": pl.Int64,
    "pending_reapproval": pl.Boolean,
    "changed_since_approval": pl.Int64,
    "children_expected": pl.Int64,
    "children_complete": pl.Int64,
    "children_not_expected": pl.Int64,
    "hierarchy_version": pl.Utf8,
}


def live_uploads(ledger: pl.DataFrame, period: str) -> pl.DataFrame:
    """Each unit's live accepted submission with the upload that carries it (key, etag).

    The choice of submission is :func:`~dvkn_pipeline.rollup.spatial.live_submissions`
    (one rule for the roll-up and the approvals); the etag is the one of that upload.
    """
    live = live_submissions(ledger, period)
    etags = ledger.select("key", "received_at", "submission_id", "etag").unique(
        subset=["key", "received_at", "submission_id"], keep="first"
    )
    return live.join(etags, on=["key", "received_at", "submission_id"], how="left").select(
        "unit_code", "submission_id", "key", "etag", "report_version"
    )


@dataclass
class _Fold:
    """What a unit's rows add up to (see :func:`approval_board`)."""

    steps_done: int = 0
    approve: dict[str, Any] | None = None
    last_step: dict[str, Any] | None = None
    returned: dict[str, Any] | None = None
    not_expected: dict[str, Any] | None = None
    last: dict[str, Any] | None = None

    def add(self, row: dict[str, Any]) -> None:
        action = ApprovalAction(row["action"])
        self.last = row
        if action is ApprovalAction.APPROVE:
            self.steps_done, self.approve, self.last_step = 1, row, row
            self.returned = self.not_expected = None
        elif action is ApprovalAction.ACCEPT and self.approve is not None:
            self.steps_done, self.last_step = 2, row
        elif action is ApprovalAction.RETURN:
            self.steps_done, self.approve, self.last_step = 0, None, None
            self.returned, self.not_expected = row, None
        elif action is ApprovalAction.UNAPPROVE:
            self.steps_done, self.approve, self.last_step = 0, None, None
            self.returned = self.not_expected = None
        elif action is ApprovalAction.NOT_EXPECTED:
            self.steps_done, self.approve, self.last_step = 0, None, None
            self.returned, self.not_expected = None, row


def _folds(rows: pl.DataFrame) -> dict[str, _Fold]:
    out: dict[str, _Fold] = {}
    for row in rows.sort("at", maintain_order=True).iter_rows(named=True):
        out.setdefault(row["unit_code"], _Fold()).add(row)
    return out


def _changes(
    ledger: pl.DataFrame, hierarchy: Hierarchy, period: str, since: dict[str, datetime]
) -> dict[str, int]:
    """Accepted uploads in each approved unit's subtree (itself included) after its approval."""
    if not since:
        return {}
    moments = pl.DataFrame(
        {"ancestor_code": list(since), "since": list(since.values())},
        schema={"ancestor_code": pl.Utf8, "since": pl.Datetime("us", "UTC")},
    )
    counted = (
        ledger.filter((pl.col("period") == period) & (pl.col("status") == "accepted"))
        .select("unit_code", "processed_at")
        .join(hierarchy.closure_frame().select("unit_code", "ancestor_code"), on="unit_code")
        .join(moments, on="ancestor_code")
        .filter(pl.col("processed_at") > pl.col("since"))
        .group_by("ancestor_code")
        .len()
    )
    return dict(zip(counted["ancestor_code"].to_list(), counted["len"].to_list(), strict=True))


def step_unit(hierarchy: Hierarchy, unit_code: str, by: str) -> str | None:
    """Whose steward takes a step ``by`` ``parent`` or ``own`` (None: a root has no parent)."""
    return unit_code if by == "own" else hierarchy.unit(unit_code).parent_code


def approval_board(
    rows: pl.DataFrame,
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    config: ApprovalConfig,
    period: str,
    units: Iterable[str] | None = None,
) -> pl.DataFrame:
    """One row per unit of ``hierarchy`` (or of ``units``): its approval state in ``period``.

    ``rows``: the approvals table's rows of the period; ``ledger``: the period's
    ledger (what was submitted, and what arrived after an approval). Columns:
    :data:`BOARD_SCHEMA`. ``complete``: approved to its level's last step, or
    marked not expected. ``settled``: complete and unchanged since (no later
    upload in its subtree), which is what its parent's first step needs of
    it (``children_complete`` counts settled children). ``ready`` says the unit
    may take its next step now, else ``blocked`` names why (a message key); an
    approved unit that changed since may be approved again from its first step.
    """
    folds = _folds(rows.filter(pl.col("period") == period))
    live = {r["unit_code"]: r for r in live_uploads(ledger, period).iter_rows(named=True)}
    order = [u.code for u in hierarchy] if units is None else list(units)
    since = {c: f.last_step["at"] for c, f in folds.items() if f.last_step and c in hierarchy}
    changes = _changes(ledger, hierarchy, period, since)
    # Children first, so a parent sees whether its children are settled.
    depth = {lvl: i for i, lvl in enumerate(hierarchy.levels)}
    every = sorted(hierarchy.units, key=lambda c: -depth[hierarchy.unit(c).level])
    settled: dict[str, bool] = {}
    not_expected: dict[str, bool] = {}
    out: dict[str, dict[str, Any]] = {}
    for code in every:
        unit = hierarchy.unit(code)
        fold = folds.get(code, _Fold())
        steps = config.workflow(unit.level).steps
        mine = live.get(code)
        kids = hierarchy.children(code)
        state = _state(fold, len(steps), mine, bool(kids))
        approve, last_step, last = fold.approve, fold.last_step, fold.last
        pending = bool(approve and mine and mine["submission_id"] != approve["submission_id"])
        complete = state is ApprovalState.NOT_EXPECTED or fold.steps_done == len(steps)
        # An approved unit that changed since (its own upload, or any below it) may be
        # approved again, from its first step, pointing at what is live now.
        # It goes back to its first step, so nobody accepts what is no longer what was approved.
        stale = fold.steps_done > 0 and (pending or changes.get(code, 0) > 0)
        # Settled: what its parent may stand on (approved as it is now, or not expected).
        settled[code] = complete and not stale
        not_expected[code] = state is ApprovalState.NOT_EXPECTED
        kids_settled = sum(settled[k.code] for k in kids)
        step_no = 0 if stale else fold.steps_done
        next_step = steps[step_no] if (stale or not complete) else None
        blocked = (
            (BLOCK_CHILDREN if kids_settled < len(kids) else None)
            if stale
            else _blocked(state, fold.steps_done, complete, kids, kids_settled, mine)
        )
        out[code] = {
            "period": period,
            "unit_code": code,
            "unit_level": unit.level,
            "parent_code": unit.parent_code,
            "state": state.value,
            "steps_done": fold.steps_done,
            "n_steps": len(steps),
            "complete": complete,
            "settled": settled[code],
            "next_action": next_step.action.value if next_step else None,
            "next_by_unit": step_unit(hierarchy, code, next_step.by) if next_step else None,
            "ready": blocked is None,
            "blocked": blocked,
            "last_action": last["action"] if last else None,
            "last_by": last["by_name"] if last else None,
            "last_by_unit": last["by_unit"] if last else None,
            "last_at": last["at"] if last else None,
            "last_comment": last["comment"] if last else None,
            "approved_by": last_step["by_name"] if last_step else None,
            "approved_by_unit": last_step["by_unit"] if last_step else None,
            "approved_at": last_step["at"] if last_step else None,
            "approved_submission_id": approve["submission_id"] if approve else None,
            "approved_key": approve["upload_key"] if approve else None,
            "approved_etag": approve["upload_etag"] if approve else None,
            "approved_version": approve["report_version"] if approve else None,
            "returned_reason": fold.returned["comment"] if fold.returned else None,
            "live_submission_id": mine["submission_id"] if mine else None,
            "live_key": mine["key"] if mine else None,
            "live_etag": mine["etag"] if mine else None,
            "live_version": mine["report_version"] if mine else None,
            "pending_reapproval": pending,
            "changed_since_approval": changes.get(code, 0) if last_step else 0,
            "children_expected": len(kids),
            "children_complete": kids_settled,
            "children_not_expected": sum(not_expected[k.code] for k in kids),
            "hierarchy_version": hierarchy.version_id,
        }
    return pl.DataFrame([out[c] for c in order if c in out], schema=BOARD_SCHEMA)


def _state(
    fold: _Fold, n_steps: int, live: dict[str, Any] | None, has_children: bool
) -> ApprovalState:
    if fold.not_expected is not None:
        return ApprovalState.NOT_EXPECTED
    if fold.steps_done == 2:
        return ApprovalState.ACCEPTED
    if fold.steps_done == 1:
        return ApprovalState.APPROVED
    live_sid = live["submission_id"] if live else None
    if fold.returned is not None and live_sid == fold.returned["submission_id"]:
        return ApprovalState.RETURNED  # nothing new since it was sent back
    if live_sid is not None or has_children:
        return ApprovalState.SUBMITTED
    return ApprovalState.NOT_SUBMITTED


def _blocked(
    state: ApprovalState,
    steps_done: int,
    complete: bool,
    kids: Sequence[Unit],
    kids_settled: int,
    live: dict[str, Any] | None,
) -> MessageKey | None:
    """Why the unit cannot take its next step now, or None (see the ``BLOCK_*`` keys).

    A returned commune waits for a corrected upload; a returned district or city
    is put right below it (its stewards unapprove, return, approve again), so
    only its children's state holds it back.
    """
    if state is ApprovalState.NOT_EXPECTED:
        return BLOCK_NOT_EXPECTED
    if complete:
        return BLOCK_COMPLETE
    if steps_done > 0:
        return None  # approved, waiting to be accepted: nothing more to check
    if state is ApprovalState.RETURNED and not kids:
        return BLOCK_RETURNED
    if state is ApprovalState.NOT_SUBMITTED and live is None:
        return BLOCK_NOTHING
    if kids_settled < len(kids):
        return BLOCK_CHILDREN
    return None


def pending_children(board: pl.DataFrame, unit_code: str) -> list[str]:
    """The children of ``unit_code`` its approval cannot stand on yet: not approved to their
    last step (nor marked not expected), or changed since their approval."""
    return (
        board.filter((pl.col("parent_code") == unit_code) & ~pl.col("settled"))
        .sort("unit_code")["unit_code"]
        .to_list()
    )


def approved_submissions(board: pl.DataFrame) -> list[str]:
    """The submissions the approved-only roll-up reads: those the complete approvals point at.

    Not the live ones: a later upload for an approved unit waits for
    re-approval, and until then the approved figures are the ones vouched for.
    """
    return (
        board.filter(
            pl.col("complete")
            & (pl.col("state") != ApprovalState.NOT_EXPECTED.value)
            & pl.col("approved_submission_id").is_not_null()
        )["approved_submission_id"]
        .unique()
        .sort()
        .to_list()
    )
