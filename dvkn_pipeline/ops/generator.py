"""Realistic synthetic reports for demos, tests and benchmarks.

Magnitudes follow the published figures in DOMAIN.md: Hanoi registers about
10,000 models a year over ~556 reporting units; about 56% of registered models
are recognized (Quảng Ninh: 1,400 of ~2,500), of which ~84% collectives
(1,179 of 1,400); Hanoi's 382 rural communes all meet the new-rural standard,
188 of them advanced and 76 model; about 76-92% of households are cultural
families. Every generated report satisfies the catalogue's rules, so a demo
accepts all of them unless a fault is injected on purpose.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from dvkn_pipeline.judging.report_format import write_csv
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.hierarchy import Unit
from dvkn_pipeline.reference.periods import Period

_FIELD_SHARE = {"KT": 0.38, "VHXH": 0.22, "QPAN": 0.16, "XDHTCT": 0.24}
#: Models a unit of each level registers in a year (its own models only).
_MODELS_PER_YEAR = {"commune": 17.0, "district": 30.0, "province": 120.0}
_NTM_WEIGHTS = {"DAT_CHUAN": 118, "NANG_CAO": 188, "KIEU_MAU": 76}


@dataclass(frozen=True)
class SyntheticReport:
    unit: Unit
    period: Period
    version: int
    header: dict[str, str]
    rows: list[dict[str, Any]]

    def to_csv(self, catalogue: Catalogue) -> bytes:
        return write_csv(self.header, self.rows, catalogue)

    def value(self, indicator: str, **dims: str) -> float:
        """Sum of the breakdown cells matching ``dims`` (for assertions)."""
        return sum(
            float(r["value"])
            for r in self.rows
            if r["indicator"] == indicator
            and not r.get("total")
            and all(r.get(k) == v for k, v in dims.items())
        )


def _rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _split(rng: random.Random, total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split a whole number into parts by noisy shares; parts add up to the total."""
    keys = list(shares)
    weights = [shares[k] * rng.uniform(0.6, 1.4) for k in keys]
    scale = sum(weights)
    parts = {k: int(total * w / scale) for k, w in zip(keys, weights, strict=True)}
    for k in rng.sample(keys, k=len(keys))[: total - sum(parts.values())]:
        parts[k] += 1
    return parts


def generate_report(
    unit: Unit,
    period: Period,
    catalogue: Catalogue,
    *,
    seed: int = 0,
    version: int = 1,
    with_totals: bool = True,
) -> SyntheticReport:
    """One unit's report for one period; same inputs give the same report."""
    rng = _rng(seed, unit.code, period.code, version)
    months = len(period.months)
    yearly = _MODELS_PER_YEAR.get(unit.level, 10.0)
    registered_total = max(0, round(rng.gauss(yearly * months / 12, yearly * months / 48)))
    registered = _split(rng, registered_total, _FIELD_SHARE)
    rows: list[dict[str, Any]] = []
    reported = {i.code for i in catalogue.reported_by(unit.level)}

    def add(indicator: str, value: object, **dims: str) -> None:
        if indicator in reported:
            rows.append({"indicator": indicator, "value": value, **dims})

    def add_total(indicator: str, value: object, **dims: str) -> None:
        if with_totals and indicator in reported:
            rows.append({"indicator": indicator, "value": value, "total": True, **dims})

    recognized: dict[str, dict[str, int]] = {}
    for field, n in registered.items():
        rec = sum(rng.random() < 0.56 for _ in range(n))
        coll = sum(rng.random() < 0.84 for _ in range(rec))
        recognized[field] = {"TT": coll, "CN": rec - coll}
    replicated = {f: sum(rng.random() < 0.2 for _ in range(n)) for f, n in registered.items()}

    for field in _FIELD_SHARE:
        add("MH_DANG_KY", registered[field], field=field)
    add_total("MH_DANG_KY", registered_total)
    for field in _FIELD_SHARE:
        for holder in ("TT", "CN"):
            add("MH_CONG_NHAN", recognized[field][holder], field=field, holder=holder)
        add_total("MH_CONG_NHAN", sum(recognized[field].values()), field=field)
    add_total("MH_CONG_NHAN", sum(sum(v.values()) for v in recognized.values()))
    for field in _FIELD_SHARE:
        add("MH_NHAN_RONG", replicated[field], field=field)
    add_total("MH_NHAN_RONG", sum(replicated.values()))

    scale = months / 3
    add("TIEN_VAN_DONG", round(rng.lognormvariate(19.5, 0.8) * scale / 1000) * 1000)
    add("DAT_HIEN", round(rng.lognormvariate(6.5, 1.2) * scale, 1))
    add("NGAY_CONG", round(rng.lognormvariate(6.8, 0.7) * scale))
    add("QUA_TANG", round(rng.lognormvariate(4.3, 0.6) * scale))
    add("HOI_NGHI_DOI_THOAI", max(1, round(rng.gauss(3, 1.2) * scale)))
    received = max(0, round(rng.lognormvariate(3.8, 0.7) * scale))
    add("Y_KIEN_TIEP_NHAN", received)
    add("Y_KIEN_GIAI_QUYET", round(received * rng.uniform(0.7, 1.0)))

    if unit.division_type.lower().startswith("xã"):
        ntm = rng.choices(list(_NTM_WEIGHTS), weights=list(_NTM_WEIGHTS.values()))[0]
    else:
        ntm = "KHONG_AP_DUNG"
    add("NTM_MUC_DAT", ntm)
    households = round(rng.uniform(1500, 9000))
    add("GD_TONG_SO", households)
    add("GD_VAN_HOA_DAT", round(households * rng.uniform(0.76, 0.92)))

    header = {
        "unit_code": unit.code,
        "unit_name": unit.name,
        "period": period.code,
        "report_version": str(version),
        "prepared_on": period.window[1].strftime("%d/%m/%Y"),
    }
    return SyntheticReport(unit, period, version, header, rows)
