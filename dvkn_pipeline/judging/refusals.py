"""Refusing a file before it is read: the problem it gets, and the parse-time budget.

Guards raise :class:`Refused` from deep inside a scan (a zip member, an XML
handler, a CSV line loop) so the scan stops at once; the parser entry points
catch it and turn it into the file's one problem. Messages are data, in
``schemas/refusals.yaml``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

import schemas
from schemas.records import Problem, Severity

REFUSALS_PATH = Path(schemas.__file__).parent / "refusals.yaml"


@lru_cache(maxsize=1)
def _messages() -> dict[str, dict[str, str]]:
    raw: dict[str, dict[str, str]] = yaml.safe_load(REFUSALS_PATH.read_text(encoding="utf-8"))
    return raw


def refusal(
    rule: str,
    *,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    found: object = "",
    limit: object = "",
) -> Problem:
    """The problem a refused file gets; ``found`` also goes into the receipt's value."""
    spec = _messages()[rule]
    params = {"found": found, "limit": limit, "row": row if row is not None else "?"}
    return Problem(
        severity=Severity.ERROR,
        rule=rule,
        sheet=sheet,
        row=row,
        column=column,
        value=str(found)[:200] if found != "" else None,
        message_vi=spec["vi"].format(**params),
        message_en=spec["en"].format(**params),
        hint_vi=spec["hint_vi"],
        hint_en=spec["hint_en"],
    )


class Refused(Exception):  # noqa: N818 (reads as "the file was refused")
    """A file the guards will not read further; carries the problem for its receipt."""

    def __init__(self, rule: str, **kw: Any) -> None:
        self.problem = refusal(rule, **kw)
        super().__init__(self.problem.message_en)


class Deadline:
    """A wall-clock budget checked cheaply inside parsing loops (no thread is killed).

    Work outside our loops (calamine decoding a workbook) is not interrupted,
    but it only starts once the guards have bounded its input: decompressed
    bytes, cells and sheets.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._start = clock()

    def check(self) -> None:
        if self._clock() - self._start > self.seconds:
            raise Refused("parse_too_slow", limit=f"{self.seconds:g}")
