"""Old→new unit mappings across a reform of the hierarchy, as data.

On 1 July 2025 every commune of Vietnam was merged, split or kept, and most
new communes took the code of one of the old communes they were formed from,
so a code names a different unit before and after. Figures of the two periods
can only be set side by side through the official pairing of old and new
units: ``schemas/hierarchy/mapping-2025-07.csv``, listed under ``mappings:``
in ``versions.yaml`` and produced by ``infra/hierarchy/extract_mapping.py``.

A pair is *whole* when the old unit went entirely into that new unit, and
*partial* when only part of it did (it was split). The source gives no share
for a split unit, so nothing here apportions one: a comparison says which of
its figures are exact and which rest on split units.

Pure: reads the shipped files only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import DEFAULT_DIR, Hierarchy

#: Columns of a mapping file (all strings; codes keep their leading zeros).
MAPPING_COLUMNS = (
    "old_version",
    "old_code",
    "old_name",
    "new_version",
    "new_code",
    "new_name",
    "method",
    "share",
    "source",
)
WHOLE, PART = "official_whole", "official_part"
METHODS = frozenset({WHOLE, PART})

#: Columns of :meth:`UnitMapping.pairs_at`.
PAIRS_SCHEMA: dict[str, pl.DataType] = {
    "old_code": pl.String(),
    "new_code": pl.String(),
    "whole": pl.Boolean(),
}


class NoMappingError(DvknError, LookupError):
    """No mapping links the two hierarchy versions asked for."""


@dataclass(frozen=True)
class UnitMapping:
    """The pairs of one reform (old version → new version) at its finest level."""

    id: str
    from_version: str
    to_version: str
    level: str
    source: str
    notes: str
    pairs: pl.DataFrame = field(repr=False)

    def problems(self, old: Hierarchy, new: Hierarchy) -> list[str]:
        """Why the file contradicts itself or the hierarchies (empty when sound).

        Checked by the tests, not at run time: the file is shipped data.
        """
        out: list[str] = []
        rows = self.pairs
        for col, version, h in (
            ("old_code", self.from_version, old),
            ("new_code", self.to_version, new),
        ):
            if h.version_id != version:
                out.append(f"{col}: expected hierarchy {version}, got {h.version_id}")
                continue
            unknown = [c for c in rows[col].unique().to_list() if h.get(c) is None]
            wrong_level = [
                c for c in rows[col].unique().to_list() if (u := h.get(c)) and u.level != self.level
            ]
            if unknown:
                out.append(f"{len(unknown)} {col}s not in {version}: {sorted(unknown)[:5]}")
            if wrong_level:
                out.append(f"{len(wrong_level)} {col}s not {self.level}s: {wrong_level[:5]}")
        if rows.select("old_code", "new_code").is_duplicated().any():
            out.append("a pair appears twice")
        bad = sorted(set(rows["method"].to_list()) - METHODS)
        if bad:
            out.append(f"unknown methods {bad}")
        per_old = rows.group_by("old_code").agg(
            pl.len().alias("targets"), (pl.col("method") == WHOLE).sum().alias("whole")
        )
        mixed = per_old.filter((pl.col("whole") > 0) & (pl.col("whole") != pl.col("targets")))
        if mixed.height:
            out.append(f"old units both whole and split: {mixed['old_code'].to_list()[:5]}")
        split_whole = per_old.filter((pl.col("whole") > 0) & (pl.col("targets") > 1))
        if split_whole.height:
            out.append(f"old units whole in several new ones: {split_whole['old_code'][:5]}")
        return out

    def pairs_at(self, old: Hierarchy, new: Hierarchy, level: str) -> pl.DataFrame:
        """(old_code, new_code, whole) between units of ``level`` of the two hierarchies.

        At the mapping's own level these are its pairs; at a level above that
        exists in both versions (province) they are the pairs of the units'
        ancestors, and an old unit is whole in a new one when all of its
        mapped units went into that one. Pairs with a unit outside either
        hierarchy (an installation scoped to one province) are dropped, but an
        old unit partly mapped outside stays partial.
        """
        pairs = self.pairs.select(
            "old_code", "new_code", (pl.col("method") == WHOLE).alias("whole")
        )
        if level == self.level:
            return pairs.filter(
                pl.col("old_code").is_in(list(old.units))
                & pl.col("new_code").is_in(list(new.units))
            ).cast(PAIRS_SCHEMA)  # type: ignore[arg-type]
        for h in (old, new):
            h.level_below(level)  # raises for a level a version does not have
        old_up = _ancestor_at(old, level).rename({"unit_code": "old_code", "ancestor": "old_up"})
        new_up = _ancestor_at(new, level).rename({"unit_code": "new_code", "ancestor": "new_up"})
        lifted = pairs.join(old_up, on="old_code", how="inner").join(
            new_up, on="new_code", how="left"
        )
        targets = lifted.group_by("old_up").agg(pl.col("new_up").n_unique().alias("n"))
        return (
            lifted.filter(pl.col("new_up").is_not_null())
            .select("old_up", "new_up")
            .unique()
            .join(targets, on="old_up")
            .select(
                pl.col("old_up").alias("old_code"),
                pl.col("new_up").alias("new_code"),
                (pl.col("n") == 1).alias("whole"),
            )
            .sort("new_code", "old_code")
            .cast(PAIRS_SCHEMA)  # type: ignore[arg-type]
        )


def _ancestor_at(h: Hierarchy, level: str) -> pl.DataFrame:
    return (
        h.closure_frame()
        .filter(pl.col("ancestor_level") == level)
        .select("unit_code", pl.col("ancestor_code").alias("ancestor"))
    )


def _read_mapping(directory: Path, entry: Mapping[str, Any]) -> UnitMapping:
    frame = pl.read_csv(
        directory / str(entry["file"]),
        schema=dict.fromkeys(MAPPING_COLUMNS, pl.String()),
    )
    return UnitMapping(
        id=str(entry["id"]),
        from_version=str(entry["from"]),
        to_version=str(entry["to"]),
        level=str(entry["level"]),
        source=str(entry.get("source") or ""),
        notes=str(entry.get("notes") or ""),
        pairs=frame,
    )


@lru_cache(maxsize=4)
def _load(directory: Path) -> tuple[UnitMapping, ...]:
    spec = yaml.safe_load((directory / "versions.yaml").read_text(encoding="utf-8")) or {}
    return tuple(_read_mapping(directory, e) for e in spec.get("mappings") or ())


def load_mappings(directory: Path | None = None) -> tuple[UnitMapping, ...]:
    """Every mapping listed in ``versions.yaml`` (cached: shipped files do not change)."""
    return _load((directory or DEFAULT_DIR).resolve())


def mapping_between(
    from_version: str, to_version: str, directory: Path | None = None
) -> UnitMapping:
    """The mapping from one hierarchy version to the next, or :class:`NoMappingError`."""
    for m in load_mappings(directory):
        if (m.from_version, m.to_version) == (from_version, to_version):
            return m
    known = ", ".join(f"{m.from_version}->{m.to_version}" for m in load_mappings(directory))
    raise NoMappingError(
        f"không có bảng chuyển đổi đơn vị từ {from_version} sang {to_version} / "
        f"no unit mapping from {from_version} to {to_version} (known: {known or 'none'})"
    )
