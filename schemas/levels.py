"""The shape of ``levels.yaml``: the administrative levels and the words for them.

Validated when loaded so that a word given to two levels fails at start-up,
not as a command that silently picks one of them.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Level(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str = Field(pattern=r"^[a-z_]+$")
    vi: str
    en: str
    vi_counted: str
    en_counted: str
    words: tuple[str, ...] = Field(min_length=1)


class LevelsModel(BaseModel):
    model_config = ConfigDict(frozen=True)
    levels: tuple[Level, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [lv.name for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"repeated level name in {names}")
        for lv in self.levels:
            if lv.name not in lv.words:
                raise ValueError(f"level {lv.name!r}: its own name must be one of its words")
        return self
