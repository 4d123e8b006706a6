"""Reading single cells the way commune staff type them.

Vietnamese number format groups thousands with ``.`` and marks decimals with
``,`` (``3.864.463`` is three million, ``76,5`` is seventy-six and a half);
English-format files also occur. Dates are ``dd/mm/yyyy``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_VN_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_VN_DECIMAL = re.compile(r"^-?\d+,\d+$")
_EN_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def column_letter(index: int) -> str:
    """Excel's name of a 1-based column: 1 -> A, 6 -> F, 27 -> AA."""
    out = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def cell_name(row: int | None, col: int | None) -> str | None:
    """``F10`` for row 10, column 6; None when either is unknown."""
    return f"{column_letter(col)}{row}" if row and col else None


def clean_text(value: object) -> str | None:
    """NFC, trimmed, inner whitespace collapsed; empty becomes None."""
    if value is None:
        return None
    # str.split() without arguments splits on exactly the characters ``_SPACES`` matches
    # (``str.isspace``; checked over every code point) and drops the ends: the same text
    # as sub-then-strip without the regex, and this runs for every cell of every file.
    return " ".join(unicodedata.normalize("NFC", str(value)).split()) or None


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


_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # grave, acute, tilde, hook, dot below
# Letters plus stray combining marks (NFC leaves some uncomposed), so a word is never split.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Pairs whose tone placement differs between the old style and the new one
# when they end the syllable.
_OPEN_PAIRS = ("oa", "oe", "uy")


def _retone_word(word: str) -> str:
    """Put the tone of an open oa/oe/uy syllable where the new rule puts it.

    The old style writes the tone on the first vowel ("hóa", "khỏe", "thủy"),
    the new rule (Ministry of Education, 1984) on the second ("hoá", "khoẻ",
    "thuỷ"), and both occur in official lists and in what commune staff type.
    With a final consonant ("hoàn", "huỳnh") or a third vowel
    ("ngoài", "khuya") both styles agree, so those words are left alone.
    """
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in _TONES]
    if len(tones) != 1:
        return word
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    if bare[-2:] not in _OPEN_PAIRS:
        return word
    return bare[:-1] + unicodedata.normalize("NFC", bare[-1] + tones[0])


def fold_text(text: str) -> str:
    """Fold Vietnamese text the ways people type it, so that it matches.

    Unicode form (NFC/NFD), case, invisible characters, runs of spaces, the
    lookalike "Ð" (Icelandic eth, left by legacy encodings) and old/new tone
    placement. Diacritics are kept: "Hà" and "Hạ" differ. Idempotent.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).lower()).replace(
        "ð", "đ"
    )
    folded = _SPACES.sub(" ", _INVISIBLE.sub("", folded)).strip()
    return _WORD.sub(lambda m: _retone_word(m.group(0)), folded)


@lru_cache(maxsize=65536)
def label_key(text: str) -> str:
    """Fold a label or name for matching (see :func:`fold_text`), without a trailing colon."""
    return fold_text(text).rstrip(":").strip()
