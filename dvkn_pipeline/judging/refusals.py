"""Refusing a file before it is read: the problem it gets, and the parse-time budget.

Guards raise :class:`Refused` from deep inside a scan (a zip member, an XML
handler, a CSV line loop) so the scan stops at once; the parser entry points
catch it and turn it into the file's one problem. Messages are data, in
``schemas/messages.yaml`` (a refusal's rule is its message key).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dvkn_pipeline.reference.messages import render
from schemas.messages import MessageKey
from schemas.records import Problem


def refusal(
    rule: MessageKey,
    *,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    found: object = "",
    limit: object = "",
) -> Problem:
    """The problem a refused file gets; ``found`` also goes into the receipt's value."""
    text = render(rule, found=found, limit=limit, row=row if row is not None else "?")
    return text.problem(
        rule,
        sheet=sheet,
        row=row,
        column=column,
        value=str(found)[:200] if found != "" else None,
    )


class Refused(Exception):  # noqa: N818 (reads as "the file was refused")
    """A file the guards will not read further; carries the problem for its receipt."""

    def __init__(self, rule: MessageKey, **kw: Any) -> None:
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
