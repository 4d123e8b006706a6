"""Every user-facing message, rendered from ``schemas/messages.yaml``.

Commune staff read these on receipts, and tests compare them byte for byte,
so the wording lives in one data file a translator can review, and code only
names a key and fills its fields. A field that reads differently per language
(an indicator's name) is passed as :class:`Both`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import get_args

import schemas
from schemas.messages import Message, MessageKey, MessagesModel
from schemas.records import Problem, Severity
from schemas.strict_yaml import load_strict_file

DEFAULT_PATH = Path(schemas.__file__).parent / "messages.yaml"
MESSAGE_KEYS: tuple[str, ...] = get_args(MessageKey)


@dataclass(frozen=True)
class Both:
    """A field value with a Vietnamese and an English form."""

    vi: object
    en: object


@dataclass(frozen=True)
class Text:
    """A rendered message; ``hint_*`` is None when the message brings no hint."""

    vi: str
    en: str
    hint_vi: str | None
    hint_en: str | None

    def problem(
        self,
        rule: str,
        *,
        severity: Severity = Severity.ERROR,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        cell: str | None = None,
        hint_vi: str | None = None,
        hint_en: str | None = None,
    ) -> Problem:
        """This message as a receipt's problem; ``hint_*`` given replace the message's own
        (a cross-field rule brings its hint from ``rules.yaml``)."""
        return Problem(
            severity=severity,
            rule=rule,
            sheet=sheet,
            row=row,
            column=column,
            value=value,
            cell=cell,
            message_vi=self.vi,
            message_en=self.en,
            hint_vi=hint_vi if hint_vi is not None else self.hint_vi or "",
            hint_en=hint_en if hint_en is not None else self.hint_en or "",
        )


def number(value: float) -> Both:
    """A figure as each language writes it: vi ``2.852`` / ``76,5``, en ``2,852`` / ``76.5``.

    Passed as a message field, so the English half of a receipt never reads
    "a total of 2.852" (two point eight) where a clerk wrote two thousand.
    """
    whole = float(value).is_integer()
    en = f"{int(value):,}" if whole else f"{value:,.2f}".rstrip("0").rstrip(".")
    vi = en.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return Both(vi, en)


def _both(value: object) -> Both:
    """A field in each language; a number is written each language's way (see ``number``)."""
    if isinstance(value, Both):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return Both(value, value)


def load_messages(path: Path | None = None) -> dict[str, Message]:
    return _load(path or DEFAULT_PATH)


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, Message]:
    raw = load_strict_file(path)
    return dict(MessagesModel.model_validate(raw).root)


def render(key: MessageKey, **fields: object) -> Text:
    """The message ``key`` with its ``{placeholders}`` filled (``str.format``, as an f-string would).

    A number field (int or float) is written as each language writes numbers,
    so callers pass figures as numbers, never pre-formatted text.

    Hints are fixed text, never formatted, so a brace in one is safe.
    """
    msg = load_messages()[key]
    both = {k: _both(v) for k, v in fields.items()}
    vi = {k: v.vi for k, v in both.items()}
    en = {k: v.en for k, v in both.items()}
    return Text(
        vi=msg.vi.format(**vi),
        en=msg.en.format(**en),
        hint_vi=msg.hint_vi,
        hint_en=msg.hint_en,
    )
