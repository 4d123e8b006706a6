"""The administrative hierarchy as effective-dated data.

The hierarchy is never code: Vietnam abolished the district level on
1 July 2025, and each such reform is one more version, a CSV of GSO units with
a validity period in ``schemas/hierarchy/versions.yaml``. A period is rolled up
with the version in force for it, and the roll-up works for any number of
levels because it only joins facts to the closure table (every unit paired
with itself and each ancestor).

Pure: no I/O beyond reading the shipped files, no object store, no Prefect.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

import schemas
from dvkn_pipeline.reference.cells import fold_text
from dvkn_pipeline.reference.errors import DvknError

DEFAULT_DIR = Path(schemas.__file__).parent / "hierarchy"

UNITS_SCHEMA: dict[str, type[pl.DataType]] = {
    "unit_code": pl.String,
    "name": pl.String,
    "level": pl.String,
    "division_type": pl.String,
    "parent_code": pl.String,
}
CLOSURE_SCHEMA: dict[str, type[pl.DataType]] = {
    "unit_code": pl.String,
    "ancestor_code": pl.String,
    "ancestor_level": pl.String,
    "depth": pl.Int64,
}


#: Root code of a national installation (every province under one root).
COUNTRY = "VN"
COUNTRY_LEVEL = "country"


class NoHierarchyError(DvknError, LookupError):
    """No hierarchy version covers the date (or id) asked for.

    Its own class so that validation can turn it into a steward-facing message
    ("no unit list for this period") instead of a crash.
    """


class UnknownUnitError(DvknError, KeyError):
    """A unit code the hierarchy version in force does not hold."""


class UnknownLevelError(DvknError, ValueError):
    """A level word the hierarchy version in force does not have."""


class HierarchyDataError(DvknError, ValueError):
    """A shipped hierarchy file contradicts itself; loading refuses it rather
    than roll figures up a broken tree."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One administrative unit as of one hierarchy version.

    A code identifies a unit only together with its version: the 2025 reform
    reused old commune codes for new, merged communes.
    """

    code: str
    name: str
    level: str
    division_type: str
    parent_code: str | None


class Hierarchy:
    """One version of the hierarchy: its units and the lookups derived from them.

    Built once per version and shared (the catalog caches it), so the derived
    indexes are computed lazily on first use and kept.
    """

    def __init__(
        self,
        version_id: str,
        valid_from: date,
        valid_to: date | None,
        levels: Iterable[str],
        units: Iterable[Unit] | Mapping[str, Unit],
        *,
        source: str = "",
        notes: str = "",
    ) -> None:
        self.version_id = version_id
        self.valid_from = valid_from
        self.valid_to = valid_to
        self.levels: tuple[str, ...] = tuple(levels)
        self.source = source
        self.notes = notes
        items = units.values() if isinstance(units, Mapping) else units
        self.units: dict[str, Unit] = {}
        for u in items:
            if u.code in self.units:
                raise HierarchyDataError(f"{version_id}: unit code {u.code} appears twice")
            self.units[u.code] = u
        self._check()
        #: ``scope(root)`` by root: one per installation, built once and kept like the indexes.
        self._scopes: dict[str, Hierarchy] = {}
        self._scopes_lock = threading.Lock()

    def _check(self) -> None:
        """Every parent exists one level up, so walks up the tree always end.

        A root whose parent is absent is allowed only at the top of this
        hierarchy's levels, which is what a subtree's root is.
        """
        rank = {lvl: i for i, lvl in enumerate(self.levels)}
        if len(rank) != len(self.levels):
            raise HierarchyDataError(f"{self.version_id}: repeated level in {self.levels}")
        for u in self.units.values():
            if u.level not in rank:
                raise HierarchyDataError(
                    f"{self.version_id}: unit {u.code} has level {u.level!r}, "
                    f"not one of {self.levels}"
                )
            if u.parent_code is None:
                if rank[u.level] != 0:
                    raise HierarchyDataError(
                        f"{self.version_id}: {u.level} {u.code} ({u.name}) has no parent"
                    )
                continue
            parent = self.units.get(u.parent_code)
            if parent is None:
                raise HierarchyDataError(
                    f"{self.version_id}: parent {u.parent_code} of {u.code} ({u.name}) is missing"
                )
            if rank[parent.level] != rank[u.level] - 1:
                raise HierarchyDataError(
                    f"{self.version_id}: {u.level} {u.code} has a {parent.level} as parent"
                )

    def __repr__(self) -> str:
        return f"Hierarchy({self.version_id!r}, levels={self.levels}, {len(self.units)} units)"

    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units.values())

    def __contains__(self, code: object) -> bool:
        return code in self.units

    def covers(self, d: date) -> bool:
        """Whether this version is in force on ``d`` (both ends inclusive)."""
        return self.valid_from <= d and (self.valid_to is None or d <= self.valid_to)

    # -- single units ----------------------------------------------------------

    def get(self, code: str) -> Unit | None:
        return self.units.get(code)

    def unit(self, code: str) -> Unit:
        """The unit, or a KeyError that names the version, since a code valid in
        one version is often unknown (or another unit) in the next."""
        try:
            return self.units[code]
        except KeyError:
            raise UnknownUnitError(
                f"unit code {code!r} is not in hierarchy {self.version_id} "
                f"(valid {self.valid_from} to {self.valid_to or 'now'})"
            ) from None

    # -- navigation ------------------------------------------------------------

    @cached_property
    def _children(self) -> dict[str, list[Unit]]:
        out: dict[str, list[Unit]] = {}
        for u in self.units.values():
            if u.parent_code is not None:
                out.setdefault(u.parent_code, []).append(u)
        return out

    @cached_property
    def _by_level(self) -> dict[str, list[Unit]]:
        out: dict[str, list[Unit]] = {lvl: [] for lvl in self.levels}
        for u in self.units.values():
            out[u.level].append(u)
        return out

    def children(self, code: str) -> list[Unit]:
        """Direct children in file order; raises KeyError for an unknown code so
        that a typo is not mistaken for a unit without children."""
        self.unit(code)
        return list(self._children.get(code, ()))

    def ancestors(self, code: str) -> list[Unit]:
        """Parent first, up to the root of this hierarchy."""
        out: list[Unit] = []
        parent = self.unit(code).parent_code
        while parent is not None:
            unit = self.units[parent]
            out.append(unit)
            parent = unit.parent_code
        return out

    def descendants(self, code: str, level: str | None = None) -> list[Unit]:
        """All units below ``code`` (not itself), depth-first in file order,
        optionally only those of one level."""
        if level is not None:
            self._check_level(level)
        out: list[Unit] = []
        stack = list(reversed(self.children(code)))
        while stack:
            u = stack.pop()
            if level is None or u.level == level:
                out.append(u)
            stack.extend(reversed(self._children.get(u.code, ())))
        return out

    def subtree(self, root_code: str) -> Hierarchy:
        """The root and its descendants only: an installation serves one
        province, and its roll-up must not expect reports from the others.

        The root loses its parent, and the levels above it are dropped, so the
        result is a complete hierarchy in its own right.
        """
        root = self.unit(root_code)
        units = [
            Unit(root.code, root.name, root.level, root.division_type, None),
            *self.descendants(root_code),
        ]
        levels = self.levels[self.levels.index(root.level) :]
        return Hierarchy(
            self.version_id,
            self.valid_from,
            self.valid_to,
            levels,
            units,
            source=self.source,
            notes=self.notes,
        )

    def scope(self, root_code: str) -> Hierarchy:
        """What one installation rolls up to: a province's subtree, or with
        :data:`COUNTRY` the whole country under one national root.

        Kept per root: every refresh and run summary asks for it, and a fresh
        copy of the country's ~10,800 units (with its indexes rebuilt on first
        use) cost each refresh CPU and a second tree's memory at once.
        """
        with self._scopes_lock:
            found = self._scopes.get(root_code)
            if found is None:
                found = self._scopes[root_code] = self._build_scope(root_code)
            return found

    def _build_scope(self, root_code: str) -> Hierarchy:
        if root_code != COUNTRY:
            return self.subtree(root_code)
        country = Unit(COUNTRY, "Việt Nam", COUNTRY_LEVEL, "quốc gia", None)
        units = [
            country,
            *(
                Unit(u.code, u.name, u.level, u.division_type, u.parent_code or COUNTRY)
                for u in self.units.values()
            ),
        ]
        return Hierarchy(
            self.version_id,
            self.valid_from,
            self.valid_to,
            (COUNTRY_LEVEL, *self.levels),
            units,
            source=self.source,
            notes=self.notes,
        )

    def units_at(self, level: str) -> list[Unit]:
        self._check_level(level)
        return list(self._by_level[level])

    def level_below(self, level: str) -> str | None:
        """The next level down, or None at the bottom; which level that is
        depends on the version (district before July 2025, commune after)."""
        i = self._check_level(level)
        return self.levels[i + 1] if i + 1 < len(self.levels) else None

    def level_above(self, level: str) -> str | None:
        i = self._check_level(level)
        return self.levels[i - 1] if i > 0 else None

    def _check_level(self, level: str) -> int:
        try:
            return self.levels.index(level)
        except ValueError:
            raise UnknownLevelError(
                f"level {level!r} is not in hierarchy {self.version_id} (levels: {self.levels})"
            ) from None

    # -- frames ----------------------------------------------------------------

    @cached_property
    def _units_frame(self) -> pl.DataFrame:
        us = list(self.units.values())
        return pl.DataFrame(
            {
                "unit_code": [u.code for u in us],
                "name": [u.name for u in us],
                "level": [u.level for u in us],
                "division_type": [u.division_type for u in us],
                "parent_code": [u.parent_code for u in us],
            },
            schema=UNITS_SCHEMA,
        )

    def units_frame(self) -> pl.DataFrame:
        """unit_code, name, level, division_type, parent_code (null at the root)."""
        return self._units_frame

    @cached_property
    def _closure(self) -> pl.DataFrame:
        units = self._units_frame
        parent_of = units.select(
            pl.col("unit_code").alias("ancestor_code"), pl.col("parent_code").alias("next_code")
        ).filter(pl.col("next_code").is_not_null())
        step = units.select(
            "unit_code",
            pl.col("unit_code").alias("ancestor_code"),
            pl.lit(0, dtype=pl.Int64).alias("depth"),
        )
        parts = [step]
        # One join per level: terminates because every parent is one level up (_check).
        while step.height:
            step = step.join(parent_of, on="ancestor_code", how="inner").select(
                "unit_code",
                pl.col("next_code").alias("ancestor_code"),
                (pl.col("depth") + 1).alias("depth"),
            )
            parts.append(step)
        level_of = units.select(
            pl.col("unit_code").alias("ancestor_code"), pl.col("level").alias("ancestor_level")
        )
        return (
            pl.concat(parts)
            .join(level_of, on="ancestor_code", how="left")
            .select(list(CLOSURE_SCHEMA))
            .cast(CLOSURE_SCHEMA)  # type: ignore[arg-type]  # polars stubs reject type[DataType]
            .sort("unit_code", "depth")
        )

    def closure_frame(self) -> pl.DataFrame:
        """Every (unit, ancestor-or-self) pair with the ancestor's level and the
        distance (0 for the unit itself).

        Rolling up is one join of facts to this frame and a group-by on the
        ancestor, whatever the number of levels.
        """
        return self._closure

    # -- names -----------------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[str, list[Unit]]:
        out: dict[str, list[Unit]] = {}
        for u in self.units.values():
            out.setdefault(normalize_name(u.name), []).append(u)
        return out

    def find_by_name(
        self, name: str, level: str | None = None, parent_code: str | None = None
    ) -> list[Unit]:
        """Units whose name matches however it was typed (see normalize_name).

        A name alone is often ambiguous ("Phường 1" exists in dozens of
        districts), so callers narrow it by level and parent.
        """
        if level is not None:
            self._check_level(level)
        return [
            u
            for u in self._by_name.get(normalize_name(name), ())
            if (level is None or u.level == level)
            and (parent_code is None or u.parent_code == parent_code)
        ]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One entry of versions.yaml, known without reading its CSV."""

    id: str
    valid_from: date
    valid_to: date | None
    levels: tuple[str, ...]
    file: str
    source: str
    notes: str

    def covers(self, d: date) -> bool:
        return self.valid_from <= d and (self.valid_to is None or d <= self.valid_to)


class HierarchyCatalog:
    """All versions of the hierarchy; picks the one in force on a date.

    A version's CSV is read on first use only: most runs need one version,
    and the three-level list alone is ten thousand rows.
    """

    def __init__(self, directory: Path, spec: Mapping[str, Any]) -> None:
        self.directory = directory
        self.level_labels: dict[str, dict[str, str]] = dict(spec.get("level_labels") or {})
        self.infos: list[VersionInfo] = sorted(
            (_version_info(v) for v in spec.get("versions") or ()), key=lambda v: v.valid_from
        )
        ids = [v.id for v in self.infos]
        if len(set(ids)) != len(ids):
            raise HierarchyDataError(f"{directory}: repeated version id in {ids}")
        for a, b in zip(self.infos, self.infos[1:], strict=False):
            if a.valid_to is None or a.valid_to >= b.valid_from:
                raise HierarchyDataError(f"{directory}: versions {a.id} and {b.id} overlap")
        self._loaded: dict[str, Hierarchy] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HierarchyCatalog({self.directory}, {self.version_ids})"

    @property
    def version_ids(self) -> list[str]:
        return [v.id for v in self.infos]

    @property
    def versions(self) -> list[Hierarchy]:
        """Every version, oldest first (reads every file not read yet)."""
        return [self.version(v) for v in self.version_ids]

    def info(self, version_id: str) -> VersionInfo:
        for v in self.infos:
            if v.id == version_id:
                return v
        raise NoHierarchyError(
            f"no hierarchy version {version_id!r} in {self.directory} (known: {self.version_ids})"
        )

    def version(self, version_id: str) -> Hierarchy:
        info = self.info(version_id)
        with self._lock:  # flows run tasks in threads; read each file once
            if version_id not in self._loaded:
                self._loaded[version_id] = _read_version(self.directory, info)
            return self._loaded[version_id]

    def for_date(self, d: date) -> Hierarchy:
        for v in self.infos:
            if v.covers(d):
                return self.version(v.id)
        known = ", ".join(f"{v.id} {v.valid_from}..{v.valid_to or ''}" for v in self.infos)
        raise NoHierarchyError(
            f"không có danh mục đơn vị hành chính cho ngày {d:%d/%m/%Y} / "
            f"no administrative hierarchy is in force on {d.isoformat()} (versions: {known})"
        )


def _as_date(value: Any, field: str, version_id: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise HierarchyDataError(f"version {version_id}: {field} {value!r} is not a date")


def _version_info(entry: Mapping[str, Any]) -> VersionInfo:
    vid = str(entry["id"])
    valid_to = entry.get("valid_to")
    info = VersionInfo(
        id=vid,
        valid_from=_as_date(entry["valid_from"], "valid_from", vid),
        valid_to=None if valid_to is None else _as_date(valid_to, "valid_to", vid),
        levels=tuple(entry["levels"]),
        file=str(entry["file"]),
        source=str(entry.get("source") or ""),
        notes=str(entry.get("notes") or ""),
    )
    if info.valid_to is not None and info.valid_to < info.valid_from:
        raise HierarchyDataError(f"version {vid}: valid_to is before valid_from")
    return info


def _read_version(directory: Path, info: VersionInfo) -> Hierarchy:
    # All columns as strings: codes keep their leading zeros.
    frame = pl.read_csv(directory / info.file, schema=UNITS_SCHEMA)
    units = [
        Unit(code, name, level, dtype, parent or None)
        for code, name, level, dtype, parent in frame.iter_rows()
    ]
    for u in units:
        if not unicodedata.is_normalized("NFC", u.name):
            raise HierarchyDataError(f"{info.file}: name of {u.code} is not in Unicode NFC")
    return Hierarchy(
        info.id,
        info.valid_from,
        info.valid_to,
        info.levels,
        units,
        source=info.source,
        notes=info.notes,
    )


def _read_catalog(directory: Path) -> HierarchyCatalog:
    spec = yaml.safe_load((directory / "versions.yaml").read_text(encoding="utf-8"))
    return HierarchyCatalog(directory, spec or {})


@lru_cache(maxsize=1)
def _default_catalog() -> HierarchyCatalog:
    return _read_catalog(DEFAULT_DIR)


def load_hierarchies(directory: Path | None = None) -> HierarchyCatalog:
    """The catalog of shipped versions (cached: the files never change at run
    time), or of another directory (read afresh, e.g. for tests)."""
    if directory is None or directory.resolve() == DEFAULT_DIR.resolve():
        return _default_catalog()
    return _read_catalog(directory)


# -- names ----------------------------------------------------------------------

# A leading type word, or its usual abbreviation ("TP. Hà Nội", "TX Sơn Tây").
# Stripped repeatedly, so that "Phường Phường Đúc" (official name) and
# "Phường Đúc" (as typed) meet, and so that normalizing twice changes nothing.
_TYPE_PREFIX = re.compile(
    r"(?:(?:thành phố|thị trấn|thị xã|đặc khu|phường|quận|huyện|tỉnh|xã) |(?:tp|tx|tt)(?:\. ?| ))"
    r"(?=\S)"
)


def normalize_name(text: str) -> str:
    """Fold a place name the ways commune staff type it, so that names match.

    Folds Unicode form (NFC/NFD), case, invisible characters and runs of
    spaces, the lookalike "Ð" (Icelandic eth, left by legacy encodings) to
    "đ", old/new tone placement, and leading type words ("Xã", "Thị trấn",
    "TP."). Diacritics are kept: "Hà" and "Hạ" are different places.
    Idempotent, so stored keys can be normalized again safely.
    """
    folded = fold_text(text)
    while m := _TYPE_PREFIX.match(folded):
        folded = folded[m.end() :]
    return folded
