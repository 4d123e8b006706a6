"""A steward's override: which decisions are allowed, and what they do to a judgement.

The policy is data (``schemas/overrides.yaml``): only errors of the listed
cross-field rules may be accepted, because only then does the file still hold
figures someone can stand behind. A rejection may overrule anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel

import schemas
from schemas.records import OverrideDecision, Problem, Severity

DEFAULT_PATH = Path(schemas.__file__).parent / "overrides.yaml"


class AcceptPolicy(BaseModel):
    overridable_rules: frozenset[str]


class OverridePolicy(BaseModel):
    accept_with_warnings: AcceptPolicy


@lru_cache(maxsize=2)
def load_policy(path: Path = DEFAULT_PATH) -> OverridePolicy:
    return OverridePolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def blocking_errors(
    decision: OverrideDecision, problems: Iterable[Problem], policy: OverridePolicy | None = None
) -> list[Problem]:
    """The errors that stop ``decision`` from applying (none: it may apply)."""
    if decision is OverrideDecision.REJECT:
        return []
    allowed = (policy or load_policy()).accept_with_warnings.overridable_rules
    return [p for p in problems if p.severity is Severity.ERROR and p.rule not in allowed]
