"""Reporting periods: one canonical form, the Decree 09/2019 data windows, deadlines.

The calendar (period types, window days, deadlines per level) is data in
``schemas/calendar.yaml``; this module only interprets it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

import schemas
from dvkn_pipeline.reference.errors import DvknError

DEFAULT_PATH = Path(schemas.__file__).parent / "calendar.yaml"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_ROMAN_OUT = {v: k.upper() for k, v in _ROMAN.items()}


class PeriodError(DvknError, ValueError):
    """A period text that matches no form of the calendar."""


@dataclass(frozen=True)
class PeriodType:
    id: str
    months: int
    count: int
    code: str
    vi: str
    en: str
    aliases: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class Calendar:
    start_day: int
    end_day: int
    deadline_days: dict[str, int]
    types: tuple[PeriodType, ...]
    #: The zone whose calendar days deadlines are counted in.
    time_zone: ZoneInfo

    def type(self, type_id: str) -> PeriodType:
        for t in self.types:
            if t.id == type_id:
                return t
        raise KeyError(type_id)


@lru_cache(maxsize=4)
def load_calendar(path: Path = DEFAULT_PATH) -> Calendar:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    types = tuple(
        PeriodType(
            id=t["id"],
            months=int(t["months"]),
            count=int(t["count"]),
            code=t["code"],
            vi=t["vi"],
            en=t["en"],
            aliases=tuple(re.compile(a) for a in t.get("aliases", [])),
        )
        for t in raw["period_types"]
    )
    return Calendar(
        start_day=int(raw["window"]["start_day"]),
        end_day=int(raw["window"]["end_day"]),
        deadline_days={k: int(v) for k, v in raw["deadline_days_after_window_end"].items()},
        types=types,
        time_zone=ZoneInfo(raw["time_zone"]),
    )


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period such as ``2025-Q1``; ordered by year, then type, then index."""

    year: int
    type_id: str
    index: int = 1

    def __post_init__(self) -> None:
        ptype = load_calendar().type(self.type_id)
        if not 1 <= self.index <= ptype.count:
            raise PeriodError(f"{self.type_id} index must be 1..{ptype.count}, got {self.index}")
        if not 1900 < self.year < 2200:
            raise PeriodError(f"implausible year {self.year}")

    @property
    def ptype(self) -> PeriodType:
        return load_calendar().type(self.type_id)

    @property
    def code(self) -> str:
        return f"{self.year}-{self.ptype.code.format(index=self.index)}"

    def __str__(self) -> str:
        return self.code

    @property
    def first_month(self) -> int:
        return (self.index - 1) * self.ptype.months + 1

    @property
    def last_month(self) -> int:
        return self.first_month + self.ptype.months - 1

    @property
    def months(self) -> tuple[tuple[int, int], ...]:
        """Calendar months covered, as (year, month)."""
        return tuple((self.year, m) for m in range(self.first_month, self.last_month + 1))

    @property
    def window(self) -> tuple[date, date]:
        """First and last day of the data the report covers (Decree 09/2019, Art. 12)."""
        cal = load_calendar()
        y, m = (self.year, self.first_month - 1) if self.first_month > 1 else (self.year - 1, 12)
        return date(y, m, cal.start_day), date(self.year, self.last_month, cal.end_day)

    @property
    def reference_date(self) -> date:
        """The day whose administrative hierarchy the period is rolled up with."""
        return self.window[1]

    def deadline(self, reporter_level: str) -> date:
        days = load_calendar().deadline_days[reporter_level]
        return self.window[1] + timedelta(days=days)

    def deadline_instant(self, reporter_level: str) -> datetime:
        """:func:`deadline_instant` of this period's deadline day for ``reporter_level``."""
        return deadline_instant(self.deadline(reporter_level))

    def previous(self, count: int) -> list[Period]:
        """The ``count`` periods of the same type before this one, nearest first."""
        out: list[Period] = []
        year, index, per_year = self.year, self.index, self.ptype.count
        for _ in range(count):
            index -= 1
            if index < 1:
                year, index = year - 1, per_year
            out.append(Period(year, self.type_id, index))
        return out

    def contains(self, other: Period) -> bool:
        """True when ``other``'s months all lie inside this period (temporal roll-up)."""
        return set(other.months) <= set(self.months)

    @property
    def label_vi(self) -> str:
        half_vi = "đầu" if self.index == 1 else "cuối"
        return self.ptype.vi.format(
            index=self.index, year=self.year, roman=_ROMAN_OUT.get(self.index, ""), half_vi=half_vi
        )

    @property
    def label_en(self) -> str:
        return self.ptype.en.format(index=self.index, year=self.year)

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse the canonical form or a form people write (``Quý I/2025``, ``03/2025``)."""
        norm = " ".join(unicodedata.normalize("NFC", str(text)).strip().lower().split())
        for ptype in load_calendar().types:
            for pattern in ptype.aliases:
                m = pattern.match(norm)
                if m:
                    return cls(int(m["year"]), ptype.id, _index_of(m))
        raise PeriodError(
            f"không hiểu kỳ báo cáo {text!r} / unknown period {text!r} "
            "(e.g. 2025-M03, 2025-Q1, 2025-H1, 2025-9M, 2025-Y)"
        )


def _index_of(m: re.Match[str]) -> int:
    groups = m.groupdict()
    if groups.get("index"):
        return int(groups["index"])
    if groups.get("roman"):
        r = groups["roman"]
        return int(r) if r.isdigit() else _ROMAN[r]
    if groups.get("half"):
        return 1 if groups["half"].startswith(("đ", "d")) else 2
    return 1


def periods_of_year(year: int, type_id: str) -> list[Period]:
    return [Period(year, type_id, i) for i in range(1, load_calendar().type(type_id).count + 1)]


def local_date(moment: datetime) -> date:
    """The calendar day ``moment`` falls on in the reporting time zone.

    An upload at 23:30 in Hanoi is 16:30 UTC the same day, but one at 07:30 on
    the 18th is still 00:30 UTC that day: only the local day says "on time".
    """
    return moment.astimezone(load_calendar().time_zone).date()


def deadline_instant(day: date) -> datetime:
    """The last second of ``day`` in the reporting time zone, in UTC.

    Stored in UTC so it compares with object-store timestamps as they come;
    taken through the zone (not a fixed offset) so a change in the calendar's
    zone moves every deadline with it.
    """
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), load_calendar().time_zone)
    return (next_midnight - timedelta(seconds=1)).astimezone(UTC)
