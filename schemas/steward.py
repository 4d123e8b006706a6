"""The shape of ``steward.yaml``: the words a data steward reads about runs and completeness.

Kept apart from ``messages.yaml`` (what a commune reads on a receipt) so run
names, state labels and column headers can be translated and reviewed as data,
and the chart, ``dvkn status`` and the Prefect artifacts say the same thing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

DEFAULT_PATH = Path(__file__).parent / "steward.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StateText(_Frozen):
    vi: str
    en: str
    colour: str

    @property
    def both(self) -> str:
        return f"{self.vi} / {self.en}"


class Bilingual(_Frozen):
    vi: str
    en: str

    @property
    def both(self) -> str:
        return f"{self.vi} / {self.en}"


class RunText(_Frozen):
    name: str
    name_no_period: str
    name_idle: str
    state_clean: str
    state_rejected: str
    message: str
    progress: str
    table_title: str
    table_title_capped: str
    summary_title: str


class ChartText(_Frozen):
    title: str
    total: str


class TrendColours(_Frozen):
    pct_accepted: str
    pct_on_time: str
    indicator: str


class TrendText(_Frozen):
    title: str
    pct_accepted: str
    pct_on_time: str
    colours: TrendColours


class StewardText(_Frozen):
    states: dict[str, StateText]
    attention: Bilingual
    columns: dict[str, str]
    outcomes: dict[str, str]
    run: RunText
    chart: ChartText
    trend: TrendText


@lru_cache(maxsize=2)
def load_steward_text(path: Path = DEFAULT_PATH) -> StewardText:
    return StewardText.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
