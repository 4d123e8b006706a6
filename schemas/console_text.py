"""The shape of ``console.yaml``: every word of the web console in Vietnamese and English."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

DEFAULT_PATH = Path(__file__).parent / "console.yaml"
Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")


class Words(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    vi: str
    en: str

    def in_(self, lang: Language) -> str:
        return self.vi if lang == "vi" else self.en


class ConsoleText(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    text: dict[str, Words]


@lru_cache(maxsize=2)
def load_console_text(path: Path = DEFAULT_PATH) -> ConsoleText:
    return ConsoleText.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
