"""The shape of ``rules.yaml``: cross-field validation rules as data."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Severity


class MissingValueStrategy(StrEnum):
    NEVER_SKIP = "never_skip"
    SKIP_IF_ANY_VALUE_MISSING = "skip_if_any_value_missing"
    SKIP_IF_ALL_VALUES_MISSING = "skip_if_all_values_missing"


class Term(BaseModel):
    model_config = ConfigDict(frozen=True)
    indicator: str
    where: dict[str, str] = Field(default_factory=dict)


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    kind: Literal["compare", "declared_totals", "history_outlier", "late_report"]
    severity: Severity
    importance: Literal["high", "medium", "low"] = "medium"
    vi: str
    en: str
    hint_vi: str = ""
    hint_en: str = ""
    left: tuple[Term, ...] = ()
    operator: Literal["<=", "<", "==", "!=", ">=", ">"] = "=="
    right: tuple[Term, ...] = ()
    by: tuple[str, ...] = ()
    missing_value_strategy: MissingValueStrategy = MissingValueStrategy.SKIP_IF_ANY_VALUE_MISSING
    # history_outlier: compare each indicator's total with the unit's own earlier periods.
    history_periods: int = 8
    min_history: int = 3
    z_threshold: float = 3.5
    range_factor: float = 3.0
    # late_report: warn when a report arrives this many days after its deadline.
    days_after_deadline: int = 15


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True)
    rules: tuple[Rule, ...]
