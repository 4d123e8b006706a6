"""Reading single cells the way commune staff type them.

Vietnamese number format groups thousands with ``.`` and marks decimals with
``,`` (``3.864.463`` is three million, ``76,5`` is seventy-six and a half);
English-format files also occur. Dates are ``dd/mm/yyyy``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_VN_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_VN_DECIMAL = re.compile(r"^-?\d+,\d+$")
_EN_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def clean_text(value: object) -> str | None:
    """NFC, trimmed, inner whitespace collapsed; empty becomes None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value))
    text = _SPACES.sub(" ", text).strip()
    return text or None


def parse_number(value: object) -> float | None:
    """A number from a cell, or None when the text is not a number.

    A dot followed by exactly three digits groups thousands (Vietnamese); a single
    comma marks decimals unless it groups thousands English-style (``1,234,567``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = clean_text(value)
    if text is None:
        return None
    text = text.replace(" ", "")
    if _VN_THOUSANDS.match(text):
        return float(text.replace(".", "").replace(",", "."))
    if _EN_THOUSANDS.match(text) and (text.count(",") > 1 or "." in text):
        return float(text.replace(",", ""))
    if _VN_DECIMAL.match(text):
        return float(text.replace(",", "."))
    if _PLAIN.match(text):
        return float(text)
    return None


def parse_date(value: object) -> date | None:
    """``dd/mm/yyyy`` (also ``.`` or ``-``), ISO, or an Excel date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = clean_text(value)
    if text is None:
        return None
    m = _DMY.match(text)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        m = _ISO.match(text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return None


def label_key(text: str) -> str:
    """Fold a label for matching: NFC, lower case, single spaces, no trailing colon."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().lower()
    return folded.rstrip(":").strip()
