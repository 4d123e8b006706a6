"""services/exports.py: which roll-up an export is built from (stored, or over time)."""

from __future__ import annotations

import polars as pl
import pytest

from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.temporal import TemporalError, temporal_rollup
from dvkn_pipeline.services.exports import ExportFiles, period_rollup, publish_export
from tests.unit.test_temporal import C1, CAT, MONTHS, Q1, fact, month_table


class FakeTables:
    """The three reads an export makes, over frames in memory."""

    def __init__(self, rollups: dict[str, pl.DataFrame]) -> None:
        self.rollups = rollups

    def rollup_periods(self) -> list[str]:
        return sorted(self.rollups)

    def read_rollup(self, period: str) -> pl.DataFrame:
        return self.rollups.get(period, month_table(Period.parse(period), []).clear())

    def read_completeness(self, period: str) -> pl.DataFrame:
        return pl.DataFrame({"period": [period], "unit_code": ["01"]})


def months() -> dict[str, pl.DataFrame]:
    return {
        p.code: month_table(p, [fact(p, C1, "MH_DANG_KY", i + 1, field="KT", level="CS")])
        for i, p in enumerate(MONTHS)
    }


def test_a_stored_roll_up_is_used_as_it_is() -> None:
    stored = month_table(Q1, [fact(Q1, C1, "MH_DANG_KY", 42, field="KT", level="CS")])
    found = period_rollup(FakeTables({**months(), Q1.code: stored}), Q1, CAT)
    assert found.sources == ()
    assert found.rollup.equals(stored)
    assert found.completeness["period"].to_list() == [Q1.code]


def test_a_quarter_nobody_reported_is_rolled_up_from_its_months() -> None:
    by_month = months()
    found = period_rollup(FakeTables(by_month), Q1, CAT)
    assert [p.code for p in found.sources] == [p.code for p in MONTHS]
    assert found.rollup.equals(temporal_rollup(by_month, Q1, CAT))
    assert found.completeness["period"].to_list() == [p.code for p in MONTHS]


def test_a_gap_in_the_months_is_a_domain_error_naming_it() -> None:
    by_month = months()
    del by_month["2025-M02"]
    with pytest.raises(TemporalError, match="M02"):
        period_rollup(FakeTables(by_month), Q1, CAT)


class FakeStore:
    name = "dvkn"

    def __init__(self) -> None:
        self.objects: dict[str, list[tuple[bytes, str]]] = {}

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        self.objects.setdefault(key, []).append((data, content_type))
        return "etag"


def test_an_export_is_published_under_its_period_and_canonical_level() -> None:
    store = FakeStore()
    files = ExportFiles(xlsx=b"x", csv=b"c")
    keys = publish_export(store, "exports/", Q1, "city", files)
    assert keys == (
        "exports/2025-Q1/province/dvkn-2025-Q1-province.xlsx",
        "exports/2025-Q1/province/dvkn-2025-Q1-province.csv",
    )
    publish_export(store, "exports/", Q1, "tỉnh", files)  # the same level, another word
    assert [len(v) for v in store.objects.values()] == [2, 2]  # same keys: new versions
    assert store.objects[keys[1]][0][1] == "text/csv; charset=utf-8"
