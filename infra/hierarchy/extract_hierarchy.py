"""Extract the administrative hierarchy the project ships from `vietnam-provinces`.

The PyPI package `vietnam-provinces` carries the official GSO unit lists (codes
of Decision 124/2004/QĐ-TTg): its 0.6.x releases the three-level list in force
until 30 June 2025 (63 provinces, 696 districts, 10,051 communes; data retrieved
2025-01-04), its 2026.x releases the two-level list in force from 1 July 2025
(34 provinces, 3,321 communes, wards and special zones, with the codes of the
official NSO list; the 2025.8-2025.10 releases carried the codes of the draft
decision, 114 of which the final list changed, e.g. Phường Cửa Nam 00073 ->
00082). The pipeline never
imports the package at run time: the lists are data files under
`schemas/hierarchy/`, regenerated only by this script, one package release at a
time (the two data sets live in incompatible releases of the same package):

    uv run --no-project --with vietnam-provinces==0.6.0 \
        python infra/hierarchy/extract_hierarchy.py three-level
    uv run --no-project -p 3.12 --with vietnam-provinces==2026.9.0 \
        python infra/hierarchy/extract_hierarchy.py two-level

(2026.x releases need Python 3.12; the project itself stays on 3.11.)

Each run rewrites one CSV (`unit_code,name,level,division_type,parent_code`)
and checks it before writing: zero-padded codes (province 2 digits, district 3,
commune 5), unique codes, every parent present, names in Unicode NFC. The
versions, their validity periods and sources are in `versions.yaml`, kept by
hand next to the CSVs.

Division types: 0.6.0 gives only the generic type of a level ("tỉnh", "huyện",
"xã" for every unit, Hanoi included), so the specific type is taken from the
leading word(s) of the official name, which always carry it ("Quận Ba Đình",
"Thị xã Sơn Tây"); a province named "Thành phố ..." gets the package's own
level-1 value "thành phố trung ương". 2026.9.0 gives the specific type itself.

The old-to-new commune mapping of the same release is extracted by
`extract_mapping.py` beside this script (`mapping-2025-07.csv`).
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import vietnam_provinces

OUT = Path(__file__).resolve().parents[2] / "schemas" / "hierarchy"
FILES = {"three-level": "vn-3level-2025-01.csv", "two-level": "vn-2level-2025-07.csv"}
HEADER = ["unit_code", "name", "level", "division_type", "parent_code"]
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}

# Type words a name starts with, per level, tried in order so that a longer word wins
# over a shorter one it ends with ("thị xã" before "xã").
_NAME_PREFIXES = {
    "province": ("thành phố", "tỉnh"),
    "district": ("thành phố", "thị xã", "quận", "huyện"),
    "commune": ("thị trấn", "phường", "đặc khu", "xã"),
}
# The package's own level-1 value for a centrally-run city (VietNamDivisionType).
_CENTRAL_CITY = "thành phố trung ương"
_GENERIC_TYPES = {"tỉnh", "huyện", "xã"}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _division_type(name: str, level: str, given: str) -> str:
    """The specific type: the data's own unless it is only the generic one of the level."""
    given = _nfc(given)
    if given not in _GENERIC_TYPES:
        return given
    low = name.lower()
    for prefix in _NAME_PREFIXES[level]:
        if low.startswith(prefix + " "):
            return _CENTRAL_CITY if (level, prefix) == ("province", "thành phố") else prefix
    if level == "province" and given == "tỉnh":  # 2025 data: "Cao Bằng", no prefix
        return given
    raise SystemExit(f"cannot tell the type of {level} {name!r} (data says {given!r})")


def _row(code: int, name: str, level: str, division_type: str, parent: str) -> list[str]:
    nfc = _nfc(name)
    return [
        f"{code:0{CODE_WIDTH[level]}d}",
        nfc,
        level,
        _division_type(nfc, level, division_type),
        parent,
    ]


def extract(kind: str) -> list[list[str]]:
    """Rows in the package's order: each parent followed by its children."""
    data: list[dict[str, Any]] = json.loads(
        Path(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH).read_text(encoding="utf-8")
    )
    rows: list[list[str]] = []
    for p in data:
        prow = _row(p["code"], p["name"], "province", p["division_type"], "")
        rows.append(prow)
        if kind == "three-level":
            if "districts" not in p:
                raise SystemExit("this release has no districts: use vietnam-provinces 0.6.x")
            for d in p["districts"]:
                drow = _row(d["code"], d["name"], "district", d["division_type"], prow[0])
                rows.append(drow)
                rows.extend(
                    _row(w["code"], w["name"], "commune", w["division_type"], drow[0])
                    for w in d["wards"]
                )
        else:
            if "wards" not in p:
                raise SystemExit("this release is three-level: use vietnam-provinces 2025.x")
            rows.extend(
                _row(w["code"], w["name"], "commune", w["division_type"], prow[0])
                for w in p["wards"]
            )
    return rows


def check(rows: list[list[str]]) -> None:
    """Refuse to write a list the pipeline could not load."""
    codes = [r[0] for r in rows]
    if len(set(codes)) != len(codes):
        raise SystemExit("duplicate unit codes in the package data")
    known = set(codes)
    for code, name, level, _dtype, parent in rows:
        if len(code) != CODE_WIDTH[level] or not code.isdigit():
            raise SystemExit(f"bad {level} code {code!r}")
        if parent and parent not in known:
            raise SystemExit(f"{code} {name}: parent {parent} is missing")
        if not unicodedata.is_normalized("NFC", name):
            raise SystemExit(f"{code}: name not NFC")


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in FILES:
        raise SystemExit(f"usage: extract_hierarchy.py {'|'.join(FILES)}")
    kind = argv[0]
    rows = extract(kind)
    check(rows)
    target = OUT / FILES[kind]
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    counts = {lvl: sum(r[2] == lvl for r in rows) for lvl in CODE_WIDTH}
    data_version = getattr(vietnam_provinces, "__data_version__", "?")
    print(
        f"wrote {target} from vietnam-provinces {vietnam_provinces.__version__} "
        f"(data {data_version}): {counts}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
