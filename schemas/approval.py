"""The shape of ``approval.yaml``: approval steps per level, roles and the words for states.

Data, not code, so that a province that wants approve-then-accept at commune level
changes one line, and the console, the CLI and the exports read the same words.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.steward import Bilingual as Words
from schemas.strict_yaml import load_strict_file

DEFAULT_PATH = Path(__file__).parent / "approval.yaml"


class ApprovalAction(StrEnum):
    """What a row of the ``approvals`` table records."""

    APPROVE = "approve"
    ACCEPT = "accept"
    RETURN = "return"
    UNAPPROVE = "unapprove"
    NOT_EXPECTED = "not_expected"


class ApprovalState(StrEnum):
    """A unit's approval state in a period, derived from the table's rows."""

    NOT_SUBMITTED = "not_submitted"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    NOT_EXPECTED = "not_expected"


Basis = Literal["approved", "accepted"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Frozen):
    action: Literal[ApprovalAction.APPROVE, ApprovalAction.ACCEPT]
    by: Literal["parent", "own"]


class LevelWorkflow(_Frozen):
    steps: tuple[Step, ...] = Field(min_length=1, max_length=2)

    @model_validator(mode="after")
    def _approve_then_accept(self) -> Self:
        wanted = [ApprovalAction.APPROVE, ApprovalAction.ACCEPT][: len(self.steps)]
        if [s.action for s in self.steps] != wanted:
            raise ValueError("steps are [approve] or [approve, accept]")
        return self


class ApprovalConfig(_Frozen):
    levels: dict[str, LevelWorkflow]
    roles: dict[str, tuple[ApprovalAction, ...]]
    states: dict[ApprovalState, Words]
    pending_reapproval: Words
    basis: dict[Basis, Words]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if set(self.states) != set(ApprovalState):
            raise ValueError(f"states must name each of {[s.value for s in ApprovalState]}")
        if set(self.basis) != {"approved", "accepted"}:
            raise ValueError("basis must name approved and accepted")
        return self

    def workflow(self, level: str) -> LevelWorkflow:
        """The steps of ``level``; a level the file does not list takes one parent approval."""
        return self.levels.get(level) or LevelWorkflow(
            steps=(Step(action=ApprovalAction.APPROVE, by="parent"),)
        )


@lru_cache(maxsize=2)
def load_approval_config(path: Path = DEFAULT_PATH) -> ApprovalConfig:
    return ApprovalConfig.model_validate(load_strict_file(path))
