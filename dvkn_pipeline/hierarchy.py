"""The administrative hierarchy as effective-dated data.

A hierarchy is never code: each version is a CSV of GSO units with a validity
period (``schemas/hierarchy/versions.yaml``), so the 2025 reform is one more
version, and the roll-up engine works for any number of levels through the
closure table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

import schemas

DEFAULT_DIR = Path(schemas.__file__).parent / "hierarchy"


class NoHierarchyError(LookupError):
    """No hierarchy version is in force on the date asked for."""


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    division_type: str
    parent_code: str | None


class Hierarchy:
    """One version of the hierarchy: units, their parents, and derived lookups."""

    def __init__(
        self,
        version_id: str,
        valid_from: date,
        valid_to: date | None,
        levels: tuple[str, ...],
        units: dict[str, Unit],
    ) -> None:
        self.version_id = version_id
        self.valid_from = valid_from
        self.valid_to = valid_to
        self.levels = levels
        self.units = units

    def __repr__(self) -> str:
        return f"Hierarchy({self.version_id!r}, {len(self.units)} units)"

    def __contains__(self, code: object) -> bool:
        return code in self.units

    def get(self, code: str) -> Unit | None:
        return self.units.get(code)

    def unit(self, code: str) -> Unit:
        try:
            return self.units[code]
        except KeyError:
            raise KeyError(f"unit {code!r} is not in hierarchy {self.version_id}") from None

    @cached_property
    def _children(self) -> dict[str, list[Unit]]:
        out: dict[str, list[Unit]] = {}
        for u in self.units.values():
            if u.parent_code is not None:
                out.setdefault(u.parent_code, []).append(u)
        return out

    def children(self, code: str) -> list[Unit]:
        return list(self._children.get(code, []))

    def ancestors(self, code: str) -> list[Unit]:
        """Parent first, up to the root."""
        out: list[Unit] = []
        parent = self.unit(code).parent_code
        while parent is not None and parent in self.units:
            unit = self.units[parent]
            out.append(unit)
            parent = unit.parent_code
        return out

    def descendants(self, code: str, level: str | None = None) -> list[Unit]:
        out: list[Unit] = []
        stack = list(reversed(self.children(code)))
        while stack:
            u = stack.pop()
            if level is None or u.level == level:
                out.append(u)
            stack.extend(reversed(self.children(u.code)))
        return out

    def subtree(self, root_code: str) -> Hierarchy:
        """The root and its descendants only (an installation serves one province)."""
        root = self.unit(root_code)
        keep = {root.code: Unit(root.code, root.name, root.level, root.division_type, None)}
        keep |= {u.code: u for u in self.descendants(root_code)}
        levels = tuple(lvl for lvl in self.levels if any(u.level == lvl for u in keep.values()))
        return Hierarchy(self.version_id, self.valid_from, self.valid_to, levels, keep)

    def units_at(self, level: str) -> list[Unit]:
        return [u for u in self.units.values() if u.level == level]

    def level_below(self, level: str) -> str | None:
        i = self.levels.index(level)
        return self.levels[i + 1] if i + 1 < len(self.levels) else None

    def units_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            [
                {
                    "unit_code": u.code,
                    "name": u.name,
                    "level": u.level,
                    "division_type": u.division_type,
                    "parent_code": u.parent_code,
                }
                for u in self.units.values()
            ],
            schema={
                "unit_code": pl.Utf8,
                "name": pl.Utf8,
                "level": pl.Utf8,
                "division_type": pl.Utf8,
                "parent_code": pl.Utf8,
            },
        )

    @cached_property
    def _closure(self) -> pl.DataFrame:
        rows: list[tuple[str, str, str, int]] = []
        for u in self.units.values():
            rows.append((u.code, u.code, u.level, 0))
            for depth, a in enumerate(self.ancestors(u.code), start=1):
                rows.append((u.code, a.code, a.level, depth))
        return pl.DataFrame(
            rows,
            schema={"unit_code": pl.Utf8, "ancestor_code": pl.Utf8, "ancestor_level": pl.Utf8, "depth": pl.Int64},
            orient="row",
        )

    def closure_frame(self) -> pl.DataFrame:
        """Every (unit, ancestor-or-self) pair: the roll-up joins facts to it."""
        return self._closure

    @cached_property
    def _by_name(self) -> dict[str, list[Unit]]:
        out: dict[str, list[Unit]] = {}
        for u in self.units.values():
            out.setdefault(normalize_name(u.name), []).append(u)
        return out

    def find_by_name(self, name: str, level: str | None = None, parent_code: str | None = None) -> list[Unit]:
        """Units whose name matches however it was typed (Unicode form, tone placement, type word)."""
        found = self._by_name.get(normalize_name(name), [])
        return [
            u
            for u in found
            if (level is None or u.level == level) and (parent_code is None or u.parent_code == parent_code)
        ]


class HierarchyCatalog:
    """All versions, loaded lazily; picks the one in force on a date."""

    def __init__(self, directory: Path, spec: dict[str, Any]) -> None:
        self.directory = directory
        self.spec = spec
        self.level_labels: dict[str, dict[str, str]] = spec.get("level_labels", {})
        self._loaded: dict[str, Hierarchy] = {}

    @property
    def version_ids(self) -> list[str]:
        return [v["id"] for v in self.spec["versions"]]

    @property
    def versions(self) -> list[Hierarchy]:
        return [self.version(v) for v in self.version_ids]

    def version(self, version_id: str) -> Hierarchy:
        if version_id not in self._loaded:
            entry = next((v for v in self.spec["versions"] if v["id"] == version_id), None)
            if entry is None:
                raise NoHierarchyError(f"no hierarchy version {version_id!r}")
            self._loaded[version_id] = _read_version(self.directory, entry)
        return self._loaded[version_id]

    def for_date(self, d: date) -> Hierarchy:
        for v in self.spec["versions"]:
            start, end = v["valid_from"], v.get("valid_to")
            if start <= d and (end is None or d <= end):
                return self.version(v["id"])
        raise NoHierarchyError(
            f"không có danh mục đơn vị hành chính cho ngày {d:%d/%m/%Y} / "
            f"no administrative hierarchy is in force on {d.isoformat()}"
        )


def _read_version(directory: Path, entry: dict[str, Any]) -> Hierarchy:
    frame = pl.read_csv(directory / entry["file"], schema_overrides={"unit_code": pl.Utf8, "parent_code": pl.Utf8})
    units = {
        r["unit_code"]: Unit(r["unit_code"], r["name"], r["level"], r["division_type"], r["parent_code"] or None)
        for r in frame.iter_rows(named=True)
    }
    return Hierarchy(entry["id"], entry["valid_from"], entry.get("valid_to"), tuple(entry["levels"]), units)


def load_hierarchies(directory: Path | None = None) -> HierarchyCatalog:
    return _load(directory or DEFAULT_DIR)


@lru_cache(maxsize=4)
def _load(directory: Path) -> HierarchyCatalog:
    spec = yaml.safe_load((directory / "versions.yaml").read_text(encoding="utf-8"))
    return HierarchyCatalog(directory, spec)


# -- names ----------------------------------------------------------------------

_TYPE_WORDS = ("thành phố", "thị trấn", "thị xã", "phường", "quận", "huyện", "tỉnh", "đặc khu", "xã")
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below
_WORD = re.compile(r"\w+", re.UNICODE)
_SPACES = re.compile(r"\s+")


def _retone_word(word: str) -> str:
    """Fold the two tone placements of open oa/oe/uy syllables onto one.

    The traditional style writes "hoá", "thuỷ", "khoẻ" (tone on the last vowel),
    the modern one "hóa", "thủy", "khỏe" (on the first). Both occur in the same
    name lists; for matching, every such syllable gets the tone on its last vowel.
    A syllable with a final consonant ("hoàn", "tuyên") has one placement only.
    """
    decomposed = unicodedata.normalize("NFD", word)
    tone = next((c for c in decomposed if c in _TONES), None)
    if tone is None:
        return word
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
    low = bare.lower()
    for pair in ("oa", "oe", "uy"):
        i = low.find(pair)
        if i >= 0 and i + 2 == len(low):  # the pair ends the syllable: tone on its second vowel
            target = i + 1
            break
    else:
        return word
    chars = list(bare)
    chars[target] = unicodedata.normalize("NFC", chars[target] + tone)
    return "".join(chars)


def normalize_name(text: str) -> str:
    """Fold a place name for matching: NFC, case, spaces, tone placement, leading type word."""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip().lower()
    for word in _TYPE_WORDS:
        if folded.startswith(word + " "):
            folded = folded[len(word) + 1 :]
            break
    return _WORD.sub(lambda m: _retone_word(m.group(0)), folded)
