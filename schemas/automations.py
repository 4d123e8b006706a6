"""The shape of ``automations.yaml``: which events notify stewards, and what they say."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PATH = Path(__file__).parent / "automations.yaml"


class AutomationSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(pattern=r"^dvkn-[a-z0-9-]+$")
    description: str = ""
    expect: tuple[str, ...]
    match: dict[str, str | list[str]] = Field(default_factory=dict)
    match_related: dict[str, str | list[str]] = Field(default_factory=dict)
    #: Notify at most once per this many seconds per resource (0: every event).
    within_seconds: float = Field(default=0, ge=0)
    subject: str
    body: str


class AutomationSet(BaseModel):
    automations: tuple[AutomationSpec, ...]


def load_automations(path: Path = DEFAULT_PATH) -> AutomationSet:
    return AutomationSet.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
