"""The 2025 reform: the shipped old→new commune mapping, and comparing across it."""

from typing import Any

import polars as pl
import pytest

from dvkn_pipeline.judging.facts import empty_facts
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.reference.reform import WHOLE, NoMappingError, mapping_between
from dvkn_pipeline.rollup.compare import EXACT, PARTIAL, UNMAPPED, compare
from dvkn_pipeline.rollup.spatial import rollup

CAT = load_catalogue()
Q1, Q3 = Period.parse("2025-Q1"), Period.parse("2025-Q3")
CATALOG = load_hierarchies()
OLD = CATALOG.version("vn-3level-2025-01")
NEW = CATALOG.version("vn-2level-2025-07")
OLD_HN, NEW_HN = OLD.subtree("01"), NEW.subtree("01")
MAPPING = mapping_between(OLD.version_id, NEW.version_id)
PAIRS = MAPPING.pairs_at(OLD_HN, NEW_HN, "commune")


# -- the mapping file ------------------------------------------------------------------


def test_the_periods_either_side_of_1_july_2025_use_the_two_versions() -> None:
    assert CATALOG.for_date(Q1.reference_date) is OLD
    assert CATALOG.for_date(Period.parse("2025-Q2").reference_date) is OLD
    assert CATALOG.for_date(Q3.reference_date) is NEW
    assert CATALOG.for_date(Period.parse("2025-M07").reference_date) is NEW


def test_mapping_file_agrees_with_itself_and_with_both_hierarchies() -> None:
    assert MAPPING.problems(OLD, NEW) == []


def test_every_old_hanoi_commune_is_mapped_whole_to_one_new_commune_or_split() -> None:
    old_communes = {u.code for u in OLD_HN.units_at("commune")}
    assert len(old_communes) == 526
    per_old = PAIRS.group_by("old_code").agg(pl.len().alias("n"), pl.col("whole").all())
    assert set(per_old["old_code"].to_list()) == old_communes
    whole = per_old.filter(pl.col("whole"))
    assert whole["n"].to_list() == [1] * whole.height  # whole means exactly one new commune
    assert whole.height == 327
    assert per_old.filter(~pl.col("whole") & (pl.col("n") > 1)).height == 198


def test_every_new_hanoi_commune_was_formed_from_old_ones() -> None:
    new_communes = {u.code for u in NEW_HN.units_at("commune")}
    assert len(new_communes) == 126
    assert set(PAIRS["new_code"].to_list()) == new_communes


def test_known_merger_phuong_ba_dinh() -> None:
    """Resolution 1656/NQ-UBTVQH15: Trúc Bạch and Quán Thánh whole, parts of others."""
    rows = PAIRS.filter(pl.col("new_code") == "00004")
    whole = {OLD.unit(c).name for c in rows.filter(pl.col("whole"))["old_code"]}
    assert NEW.unit("00004").name == "Phường Ba Đình"
    assert whole == {"Phường Trúc Bạch", "Phường Quán Thánh"}
    assert "00016" in rows.filter(~pl.col("whole"))["old_code"].to_list()  # part of Ngọc Hà


def test_codes_are_reused_for_other_units_so_pairs_are_versioned() -> None:
    assert OLD.unit("00004").name == "Phường Trúc Bạch"
    assert NEW.unit("00004").name == "Phường Ba Đình"
    assert set(MAPPING.pairs["old_version"].unique()) == {OLD.version_id}
    assert set(MAPPING.pairs["new_version"].unique()) == {NEW.version_id}


def test_methods_are_official_and_share_is_given_only_for_whole_pairs() -> None:
    m = MAPPING.pairs
    assert set(m["method"].unique()) <= {WHOLE, "official_part"}
    assert (m.filter(pl.col("method") == WHOLE)["share"] == "1").all()
    assert m.filter(pl.col("method") != WHOLE)["share"].is_null().all()


def test_province_pairs_are_lifted_from_commune_pairs() -> None:
    provinces = MAPPING.pairs_at(OLD, NEW, "province")
    hanoi = provinces.filter(pl.col("new_code") == "01")
    assert hanoi["old_code"].to_list() == ["01"]
    # Vĩnh Phúc (26) and Hòa Bình (17) went whole into Phú Thọ (25).
    phu_tho = set(provinces.filter(pl.col("new_code") == "25")["old_code"].to_list())
    assert {"17", "25", "26"} <= phu_tho


def test_no_mapping_backwards() -> None:
    with pytest.raises(NoMappingError):
        mapping_between(NEW.version_id, OLD.version_id)


# -- comparing -------------------------------------------------------------------------


def fact(period: Period, unit: str, indicator: str, value: float, **dims: str) -> dict[str, Any]:
    return {
        "submission_id": f"{unit}{period.code}".ljust(64, "0"),
        "unit_code": unit,
        "period": period.code,
        "indicator": indicator,
        **{d: dims.get(d) for d in CAT.dimension_columns},
        "value": float(value),
    }


def table(period: Period, tree: Hierarchy, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return rollup(pl.DataFrame(rows, schema=empty_facts(CAT).schema), tree, CAT, period)


def _exact_unit() -> tuple[str, list[str]]:
    """A new Hanoi commune formed whole from two or more old ones, none split."""
    per_new = PAIRS.group_by("new_code").agg(pl.col("whole").all(), pl.col("old_code").sort())
    found = per_new.filter(pl.col("whole") & (pl.col("old_code").list.len() >= 2)).sort("new_code")
    return found["new_code"][0], found["old_code"][0].to_list()


EXACT_NEW, EXACT_OLD = _exact_unit()
BA_DINH = "00004"  # whole: 00004, 00013; partial: 00016 and others


def q1_and_q3() -> tuple[pl.DataFrame, pl.DataFrame]:
    a, b = EXACT_OLD[:2]
    q1 = [
        fact(Q1, a, "MH_DANG_KY", 3, field="KT", level="CS"),
        fact(Q1, a, "MH_DANG_KY", 2, field="VHXH", level="CS"),
        fact(Q1, b, "MH_DANG_KY", 4, field="KT", level="CS"),
        fact(Q1, a, "GD_VAN_HOA_DAT", 90),
        fact(Q1, a, "GD_TONG_SO", 100),
        fact(Q1, b, "GD_VAN_HOA_DAT", 10),
        fact(Q1, b, "GD_TONG_SO", 100),
        fact(Q1, a, "NTM_MUC_DAT", 1, category="DAT_CHUAN"),
        fact(Q1, b, "NTM_MUC_DAT", 1, category="NANG_CAO"),
        # Ba Đình: two whole old wards and a split one.
        fact(Q1, "00004", "QUA_TANG", 10),
        fact(Q1, "00013", "QUA_TANG", 20),
        fact(Q1, "00016", "QUA_TANG", 400),
    ]
    q3 = [
        fact(Q3, EXACT_NEW, "MH_DANG_KY", 11, field="KT", level="CS"),
        fact(Q3, EXACT_NEW, "GD_VAN_HOA_DAT", 150),
        fact(Q3, EXACT_NEW, "GD_TONG_SO", 200),
        fact(Q3, EXACT_NEW, "NTM_MUC_DAT", 1, category="NANG_CAO"),
        fact(Q3, BA_DINH, "QUA_TANG", 50),
    ]
    return table(Q1, OLD_HN, q1), table(Q3, NEW_HN, q3)


def run(**kw: Any) -> Any:
    q1, q3 = q1_and_q3()
    return compare(q1, q3, PAIRS, CAT, old=OLD_HN, new=NEW_HN, level="commune", **kw)


def row(result: Any, unit: str, indicator: str, category: str | None = None) -> dict[str, Any]:
    sel = result.rows.filter((pl.col("new_code") == unit) & (pl.col("indicator") == indicator))
    sel = sel.filter(
        pl.col("category").is_null() if category is None else pl.col("category") == category
    )
    assert sel.height == 1, sel
    return dict(sel.row(0, named=True))


def test_sums_of_whole_old_communes_sit_beside_the_new_commune() -> None:
    r = row(run(), EXACT_NEW, "MH_DANG_KY")
    assert r["comparable"] == EXACT
    assert (r["from_value"], r["to_value"], r["change"]) == (9.0, 11.0, 2.0)


def test_ratios_are_re_divided_from_summed_parts_not_averaged() -> None:
    r = row(run(), EXACT_NEW, "TL_GD_VAN_HOA")
    # (90 + 10) / (100 + 100) = 50%, not the mean of 90% and 10% weighted otherwise.
    assert (r["from_numerator"], r["from_denominator"]) == (100.0, 200.0)
    assert r["from_value"] == pytest.approx(50.0)
    assert r["to_value"] == pytest.approx(75.0)


def test_statuses_count_the_old_communes_per_category() -> None:
    res = run()
    assert row(res, EXACT_NEW, "NTM_MUC_DAT", "DAT_CHUAN")["from_value"] == 1.0
    nang_cao = row(res, EXACT_NEW, "NTM_MUC_DAT", "NANG_CAO")
    assert (nang_cao["from_value"], nang_cao["to_value"]) == (1.0, 1.0)


def test_split_old_communes_are_not_apportioned_but_shown_as_an_upper_bound() -> None:
    r = row(run(), BA_DINH, "QUA_TANG")
    assert r["comparable"] == PARTIAL
    assert r["from_value"] == 30.0  # whole wards only
    assert r["from_value_with_parts"] == 430.0  # plus split Ngọc Hà in full
    assert r["change"] is None


def test_units_say_what_they_were_formed_from_and_who_reported() -> None:
    units = run().units
    ba_dinh = units.filter(pl.col("new_code") == BA_DINH).row(0, named=True)
    assert ba_dinh["old_whole"] == ["00004", "00013"]
    assert "00016" in ba_dinh["old_partial"]
    assert ba_dinh["old_reporting"] == 3
    assert units.height == 126
    assert set(units["comparable"].unique()) <= {EXACT, PARTIAL}


def test_breakdowns_are_kept_on_request() -> None:
    res = run(by_dimension=True, indicators=["MH_DANG_KY"], units=[EXACT_NEW])
    kt = res.rows.filter(pl.col("field") == "KT").row(0, named=True)
    assert (kt["from_value"], kt["to_value"]) == (7.0, 11.0)
    vhxh = res.rows.filter(pl.col("field") == "VHXH").row(0, named=True)
    assert (vhxh["from_value"], vhxh["to_value"]) == (2.0, None)
    assert set(res.rows["indicator"].to_list()) == {"MH_DANG_KY"}


def test_new_units_without_a_mapping_are_listed_as_unmapped() -> None:
    q1, q3 = q1_and_q3()
    res = compare(
        q1, q3, PAIRS.filter(pl.col("new_code") != BA_DINH), CAT,
        old=OLD_HN, new=NEW_HN, level="commune", units=[BA_DINH],
    )  # fmt: skip
    assert res.units["comparable"].to_list() == [UNMAPPED]
    assert row(res, BA_DINH, "QUA_TANG")["from_value"] is None


def test_old_units_with_figures_but_no_mapping_are_reported() -> None:
    q1, q3 = q1_and_q3()
    pairs = PAIRS.filter(pl.col("old_code") != "00016")
    res = compare(q1, q3, pairs, CAT, old=OLD_HN, new=NEW_HN, level="commune")
    assert res.unmapped_old == ["00016"]


def test_roll_ups_of_the_wrong_hierarchy_are_refused() -> None:
    q1, q3 = q1_and_q3()
    with pytest.raises(ValueError, match="wrong units"):
        compare(q3, q1, PAIRS, CAT, old=OLD_HN, new=NEW_HN, level="commune")
