"""Write ``schemas/contacts/sample-01.csv``: a made-up contact list for Hanoi's units.

No public list gives the phone of each commune's clerk, so the demo, the tests
and the screenshots use this one; every row is marked ``sample``. Names are
drawn from common Vietnamese family and given names, phones from the reserved
fiction-like ``0900 000 xxx`` block, with a fixed seed so the file is stable:

    uv run python infra/contacts/make_sample_contacts.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from dvkn_pipeline.reference.hierarchy import load_hierarchies
from schemas.contacts import COLUMNS, SAMPLE_PATH

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Đức", "Ngọc", "Quang", "Thanh")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hương", "Lan", "Long", "Mai", "Nam", "Tú")
ROLES = {
    "commune": "Cán bộ phụ trách Dân vận / DVK officer",
    "district": "Ban Dân vận Quận/Huyện ủy / district mass mobilization board",
    "province": "Ban Dân vận Thành ủy / city mass mobilization board",
}


def main(path: Path = SAMPLE_PATH, root: str = "01") -> None:
    rng = random.Random(15)
    units = {}
    for h in load_hierarchies().versions:
        for u in h.subtree(root):
            units.setdefault(u.code, u.level)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        for i, (code, level) in enumerate(sorted(units.items())):
            person = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            out.writerow(
                (
                    code,
                    person,
                    ROLES[level],
                    f"0900 {i // 1000:03d} {i % 1000:03d}",
                    f"dvk.{code}@example.vn",
                    "sample",
                )
            )


if __name__ == "__main__":
    main()
