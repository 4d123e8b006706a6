"""The one table of administrative levels: what people type, what readers see.

Every command and view turns a typed level into the hierarchy's level id here,
so ``huyen`` means the same to ``status``, ``export``, ``compare`` and the
figures, and an unknown word is answered with the full list of accepted words
instead of a message about whichever hierarchy happened to be loaded.
Whether the period's hierarchy *has* that level (no districts after July 2025)
stays the caller's question: it depends on the period, not on the word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

import schemas
from dvkn_pipeline.reference.errors import DvknError
from schemas.levels import Level, LevelsModel

DEFAULT_PATH = Path(schemas.__file__).parent / "levels.yaml"
_SEPARATORS = re.compile(r"[\s_]+")


class LevelError(DvknError, ValueError):
    """A word that names no administrative level."""


def level_word_key(word: str) -> str:
    """The form words are compared in: NFC, case-folded, spaces and ``_`` as ``-``.

    NFC because names arrive in NFD as often as NFC; the separators because a
    shell user types ``thanh-pho``, ``thanh_pho`` or ``"thành phố"``.
    """
    text = unicodedata.normalize("NFC", word).strip().casefold()
    return _SEPARATORS.sub("-", text)


@dataclass(frozen=True)
class Levels:
    """The levels top first, with a reverse index from every accepted word."""

    levels: tuple[Level, ...]
    by_word: dict[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(lv.name for lv in self.levels)

    def level(self, name: str) -> Level:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise LevelError(self._unknown(name))

    def canonical(self, word: str) -> str:
        name = self.by_word.get(level_word_key(word))
        if name is None:
            raise LevelError(self._unknown(word))
        return name

    def accepted_words(self) -> str:
        return "; ".join(f"{lv.name}: {', '.join(lv.words)}" for lv in self.levels)

    def _unknown(self, word: str) -> str:
        return (
            f"cấp {word!r} không rõ / unknown level {word!r} "
            f"(accepted words: {self.accepted_words()})"
        )


def load_levels(path: Path | None = None) -> Levels:
    return _load(path or DEFAULT_PATH)


@lru_cache(maxsize=4)
def _load(path: Path) -> Levels:
    model = LevelsModel.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    by_word: dict[str, str] = {}
    for lv in model.levels:
        for w in lv.words:
            key = level_word_key(w)
            if by_word.get(key, lv.name) != lv.name:
                raise LevelError(f"{path}: {w!r} names both {by_word[key]!r} and {lv.name!r}")
            by_word[key] = lv.name
    return Levels(model.levels, by_word)


def canonical_level(word: str) -> str:
    """The hierarchy's level id for what a person typed (``huyen`` -> ``district``)."""
    return load_levels().canonical(word)


def level_labels(name: str) -> Level:
    """How a reader sees a level; a name the table lacks is a :class:`LevelError`."""
    return load_levels().level(name)
