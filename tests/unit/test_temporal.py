"""Temporal roll-ups: months to quarters, quarters to years, by aggregation kind."""

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dvkn_pipeline.judging.facts import empty_facts
from dvkn_pipeline.reference.catalogue import Catalogue, load_catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, Unit, load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import rollup
from dvkn_pipeline.rollup.temporal import (
    TemporalError,
    source_periods,
    temporal_coverage,
    temporal_rollup,
)
from schemas.catalogue import CatalogueModel, Temporal

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
MONTHS = [Period.parse(f"2025-M0{m}") for m in (1, 2, 3)]
HANOI = load_hierarchies().for_date(Q1.reference_date).subtree("01")
# Two communes of district 001 (Ba Đình) and one of district 002.
C1, C2, C3 = "00001", "00004", "00070"


def fact(period: Period, unit: str, indicator: str, value: float, **dims: str) -> dict[str, Any]:
    return {
        "submission_id": f"{unit}{period.code}".ljust(64, "0"),
        "unit_code": unit,
        "period": period.code,
        "indicator": indicator,
        **{d: dims.get(d) for d in CAT.dimension_columns},
        "value": float(value),
    }


def month_table(
    period: Period, rows: list[dict[str, Any]], tree: Hierarchy = HANOI
) -> pl.DataFrame:
    schema = empty_facts(CAT).schema
    return rollup(pl.DataFrame(rows, schema=schema), tree, CAT, period)


def value(table: pl.DataFrame, unit: str, indicator: str, **dims: str) -> float | None:
    sel = table.filter((pl.col("unit_code") == unit) & (pl.col("indicator") == indicator))
    for d, v in dims.items():
        sel = sel.filter(pl.col(d) == v)
    return None if sel.is_empty() else float(sel["value"].sum())


def quarter(rows_by_month: list[list[dict[str, Any]]]) -> dict[str, pl.DataFrame]:
    return {p.code: month_table(p, rows) for p, rows in zip(MONTHS, rows_by_month, strict=True)}


# -- aggregation kinds -------------------------------------------------------------


def test_sums_add_up_over_the_months_with_their_breakdowns() -> None:
    tables = quarter(
        [
            [fact(MONTHS[0], C1, "MH_DANG_KY", 3, field="KT", level="CS")],
            [
                fact(MONTHS[1], C1, "MH_DANG_KY", 4, field="KT", level="CS"),
                fact(MONTHS[1], C2, "MH_DANG_KY", 2, field="VHXH", level="CS"),
            ],
            [fact(MONTHS[2], C3, "TIEN_VAN_DONG", 21_000_000_000)],
        ]
    )
    q = temporal_rollup(tables, Q1, CAT)
    assert set(q["period"].to_list()) == {"2025-Q1"}
    assert value(q, C1, "MH_DANG_KY") == 7
    assert value(q, "001", "MH_DANG_KY", field="KT") == 7
    assert value(q, "001", "MH_DANG_KY", field="VHXH") == 2
    assert value(q, "01", "MH_DANG_KY") == 9
    assert value(q, "01", "TIEN_VAN_DONG") == 21_000_000_000
    assert q.columns == tables["2025-M01"].columns  # same schema as rollup()


def test_status_is_the_last_months_not_a_sum_of_months() -> None:
    tables = quarter(
        [
            [
                fact(MONTHS[0], C1, "NTM_MUC_DAT", 1, category="DAT_CHUAN"),
                fact(MONTHS[0], C2, "NTM_MUC_DAT", 1, category="DAT_CHUAN"),
            ],
            [
                fact(MONTHS[1], C1, "NTM_MUC_DAT", 1, category="NANG_CAO"),
                fact(MONTHS[1], C2, "NTM_MUC_DAT", 1, category="DAT_CHUAN"),
            ],
            [
                fact(MONTHS[2], C1, "NTM_MUC_DAT", 1, category="KIEU_MAU"),
                fact(MONTHS[2], C2, "NTM_MUC_DAT", 1, category="DAT_CHUAN"),
            ],
        ]
    )
    q = temporal_rollup(tables, Q1, CAT)
    assert value(q, C1, "NTM_MUC_DAT", category="KIEU_MAU") == 1
    assert value(q, C1, "NTM_MUC_DAT", category="DAT_CHUAN") is None
    assert value(q, "001", "NTM_MUC_DAT", category="DAT_CHUAN") == 1  # not 1 + 2 + 1
    assert value(q, "001", "NTM_MUC_DAT", category="KIEU_MAU") == 1
    assert value(q, "001", "NTM_MUC_DAT") == 2  # two communes, each counted once


def test_status_of_a_unit_silent_in_the_last_month_is_unknown_and_coverage_says_so() -> None:
    tables = quarter(
        [
            [fact(MONTHS[0], C1, "NTM_MUC_DAT", 1, category="NANG_CAO")],
            [fact(MONTHS[1], C2, "NTM_MUC_DAT", 1, category="DAT_CHUAN")],
            [fact(MONTHS[2], C2, "NTM_MUC_DAT", 1, category="DAT_CHUAN")],
        ]
    )
    q = temporal_rollup(tables, Q1, CAT)
    assert value(q, C1, "NTM_MUC_DAT") is None
    # The district's count still equals the sum of its communes' rows.
    assert value(q, "001", "NTM_MUC_DAT") == 1
    cov = temporal_coverage(tables, Q1)
    row = cov.filter((pl.col("unit_code") == C1) & (pl.col("indicator") == "NTM_MUC_DAT")).row(
        0, named=True
    )
    assert row["sources"] == 1 and row["sources_expected"] == 3
    assert row["missing_periods"] == ["2025-M02", "2025-M03"]
    assert row["last_period"] == "2025-M01" and row["complete"] is False


def _with_flow_households() -> Catalogue:
    """The catalogue with households counted as flows, to test a ratio of sums."""
    raw = CAT.model.model_dump()
    for ind in raw["indicators"]:
        if ind["code"] in {"GD_VAN_HOA_DAT", "GD_TONG_SO"}:
            ind["temporal"] = "sum"
    return Catalogue(CatalogueModel.model_validate(raw))


def test_ratio_is_redivided_from_summed_parts_where_averaging_would_differ() -> None:
    flows = _with_flow_households()
    # Month 1: 90 of 100 (90%); month 2: 100 of 1000 (10%); month 3: none.
    tables = quarter(
        [
            [
                fact(MONTHS[0], C1, "GD_VAN_HOA_DAT", 90),
                fact(MONTHS[0], C1, "GD_TONG_SO", 100),
            ],
            [
                fact(MONTHS[1], C1, "GD_VAN_HOA_DAT", 100),
                fact(MONTHS[1], C1, "GD_TONG_SO", 1000),
            ],
            [],
        ]
    )
    monthly = [value(tables[p.code], C1, "TL_GD_VAN_HOA") or 0.0 for p in MONTHS[:2]]
    assert monthly == [90.0, 10.0]
    q = temporal_rollup(tables, Q1, flows)
    row = q.filter((pl.col("unit_code") == C1) & (pl.col("indicator") == "TL_GD_VAN_HOA")).row(
        0, named=True
    )
    assert row["numerator"] == 190 and row["denominator"] == 1100
    assert row["value"] == pytest.approx(100 * 190 / 1100)  # 17.27%
    assert row["value"] != pytest.approx(sum(monthly) / 2)  # not the 50% an average gives


def test_stocks_marked_last_in_the_catalogue_take_the_last_month_not_the_sum() -> None:
    assert CAT.indicator("GD_TONG_SO").temporal_rule is Temporal.LAST
    assert CAT.indicator("NTM_MUC_DAT").temporal_rule is Temporal.LAST
    assert CAT.indicator("QUA_TANG").temporal_rule is Temporal.SUM
    tables = quarter(
        [
            [fact(MONTHS[0], C1, "GD_VAN_HOA_DAT", 90), fact(MONTHS[0], C1, "GD_TONG_SO", 100)],
            [fact(MONTHS[1], C1, "GD_VAN_HOA_DAT", 95), fact(MONTHS[1], C1, "GD_TONG_SO", 100)],
            [
                fact(MONTHS[2], C1, "GD_VAN_HOA_DAT", 96),
                fact(MONTHS[2], C1, "GD_TONG_SO", 120),
                fact(MONTHS[2], C1, "QUA_TANG", 5),
            ],
        ]
    )
    q = temporal_rollup(tables, Q1, CAT)
    # 120 households at the end of the quarter, not 320 household-months.
    assert value(q, C1, "GD_TONG_SO") == 120
    assert value(q, C1, "GD_VAN_HOA_DAT") == 96
    assert value(q, C1, "TL_GD_VAN_HOA") == pytest.approx(80.0)
    # The district above has the same end-of-quarter stock as its only reporting commune.
    assert value(q, "001", "GD_TONG_SO") == 120


def test_a_ratio_whose_parts_roll_up_differently_in_time_is_refused() -> None:
    raw = CAT.model.model_dump()
    for ind in raw["indicators"]:
        if ind["code"] == "GD_VAN_HOA_DAT":
            ind["temporal"] = "sum"
    with pytest.raises(ValueError, match="roll up differently in time"):
        CatalogueModel.model_validate(raw)


def test_a_status_cannot_be_summed_over_time() -> None:
    raw = CAT.model.model_dump()
    for ind in raw["indicators"]:
        if ind["code"] == "NTM_MUC_DAT":
            ind["temporal"] = "sum"
    with pytest.raises(ValueError, match="cannot be summed over time"):
        CatalogueModel.model_validate(raw)


def test_units_missing_from_some_months_sum_what_exists_and_coverage_shows_it() -> None:
    tables = quarter(
        [
            [fact(MONTHS[0], C1, "NGAY_CONG", 10), fact(MONTHS[0], C2, "NGAY_CONG", 5)],
            [fact(MONTHS[1], C1, "NGAY_CONG", 20)],
            [fact(MONTHS[2], C1, "NGAY_CONG", 30)],
        ]
    )
    q = temporal_rollup(tables, Q1, CAT)
    assert value(q, C1, "NGAY_CONG") == 60
    assert value(q, C2, "NGAY_CONG") == 5
    assert value(q, "001", "NGAY_CONG") == 65
    cov = temporal_coverage(tables, Q1).filter(pl.col("indicator") == "NGAY_CONG")
    got = {r["unit_code"]: (r["sources"], r["complete"]) for r in cov.iter_rows(named=True)}
    assert got[C1] == (3, True)
    assert got[C2] == (1, False)
    assert got["001"] == (3, True)  # the district has figures every month


def test_a_year_from_quarters_and_empty_sources() -> None:
    qs = [Period(2025, "quarter", i) for i in (1, 2, 3, 4)]
    tree = _tiny_tree()
    tables = {
        p.code: month_table(p, [fact(p, "C1", "QUA_TANG", 100 * (i + 1))] if i != 2 else [], tree)
        for i, p in enumerate(qs)
    }
    y = temporal_rollup(tables, Period.parse("2025-Y"), CAT)
    assert value(y, "R", "QUA_TANG") == 100 + 200 + 400
    assert set(y["period"].to_list()) == {"2025-Y"}


def test_an_empty_table_without_columns_counts_as_no_rows() -> None:
    tables = quarter([[fact(MONTHS[0], C1, "QUA_TANG", 7)], [], []])
    tables["2025-M02"] = pl.DataFrame()  # what Tables.read_rollup gives before any write
    assert value(temporal_rollup(tables, Q1, CAT), C1, "QUA_TANG") == 7


# -- refusing what cannot be rolled up ----------------------------------------------


def test_incomplete_sources_are_refused_naming_the_gap() -> None:
    tables = quarter([[], [], []])
    del tables["2025-M02"]
    with pytest.raises(TemporalError, match="2025-M02"):
        temporal_rollup(tables, Q1, CAT)


def test_sources_from_two_hierarchy_versions_are_refused() -> None:
    tables = quarter([[fact(MONTHS[0], C1, "QUA_TANG", 1)], [], []])
    tables["2025-M01"] = tables["2025-M01"].with_columns(
        pl.lit("vn-2level-2025-07").alias("hierarchy_version")
    )
    tables["2025-M02"] = month_table(MONTHS[1], [fact(MONTHS[1], C1, "QUA_TANG", 1)])
    with pytest.raises(TemporalError, match="hierarchy versions"):
        temporal_rollup(tables, Q1, CAT)


def test_a_table_of_another_period_is_refused() -> None:
    tables = quarter([[fact(MONTHS[0], C1, "QUA_TANG", 1)], [], []])
    tables["2025-M02"], tables["2025-M01"] = tables["2025-M01"], tables["2025-M02"]
    with pytest.raises(TemporalError, match="2025-M01"):
        temporal_rollup(tables, Q1, CAT)


# -- which periods tile a target ----------------------------------------------------


def ps(*codes: str) -> list[Period]:
    return [Period.parse(c) for c in codes]


def codes(periods: list[Period]) -> list[str]:
    return [p.code for p in periods]


def test_months_tile_their_quarter_in_time_order() -> None:
    got = source_periods(Q1, ps("2025-M03", "2025-M01", "2025-M02", "2025-M04", "2024-M01"))
    assert codes(got) == ["2025-M01", "2025-M02", "2025-M03"]


def test_the_coarsest_complete_tiling_wins() -> None:
    year = Period.parse("2025-Y")
    months = [f"2025-M{m:02d}" for m in range(1, 13)]
    quarters = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert codes(source_periods(year, ps(*months, *quarters))) == quarters
    assert codes(source_periods(year, ps(*months, *quarters, "2025-H1", "2025-H2"))) == [
        "2025-H1",
        "2025-H2",
    ]
    # H1 + H2 and 9M + Q4 are both two periods; one period type wins the tie.
    assert codes(source_periods(year, ps(*quarters, "2025-H1", "2025-H2", "2025-9M"))) == [
        "2025-H1",
        "2025-H2",
    ]
    # A mixed tiling when nothing coarser is complete.
    assert codes(source_periods(year, ps("2025-H1", "2025-Q3", *months[9:]))) == [
        "2025-H1",
        "2025-Q3",
        "2025-M10",
        "2025-M11",
        "2025-M12",
    ]
    # The target itself is never its own source.
    assert codes(source_periods(Q1, ps("2025-Q1", "2025-M01", "2025-M02", "2025-M03"))) == [
        "2025-M01",
        "2025-M02",
        "2025-M03",
    ]


def test_no_complete_tiling_names_the_missing_periods() -> None:
    with pytest.raises(ValueError, match=r"missing 2025-M02\b"):
        source_periods(Q1, ps("2025-M01", "2025-M03"))
    year = Period.parse("2025-Y")
    with pytest.raises(ValueError, match=r"missing 2025-Q3 \(") as exc:
        source_periods(year, ps("2025-Q1", "2025-Q2", "2025-Q4"))
    assert "thiếu kỳ báo cáo 2025-Q3" in str(exc.value)  # said in Vietnamese too
    with pytest.raises(ValueError, match="missing 2025-M09, 2025-Q4"):
        source_periods(year, ps("2025-H1", "2025-M07", "2025-M08"))
    with pytest.raises(ValueError, match="missing 2025-M01, 2025-M02, 2025-M03"):
        source_periods(Q1, [])


def test_overlapping_periods_that_never_tile_are_explained() -> None:
    with pytest.raises(ValueError, match="overlap"):
        source_periods(Period.parse("2025-Y"), ps("2025-9M", "2025-H2"))


# -- property: a quarter's sum is the sum of its months -------------------------------


def _tiny_tree() -> Hierarchy:
    units = [
        Unit("R", "root", "province", "x", None),
        Unit("D1", "d1", "district", "x", "R"),
        Unit("D2", "d2", "district", "x", "R"),
        Unit("C1", "c1", "commune", "x", "D1"),
        Unit("C2", "c2", "commune", "x", "D1"),
        Unit("C3", "c3", "commune", "x", "D2"),
    ]
    return Hierarchy("tiny", date(2025, 1, 1), None, ("province", "district", "commune"), units)


TINY = _tiny_tree()


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 2),  # month
            st.sampled_from(["C1", "C2", "C3", "D1", "D2", "R"]),
            st.sampled_from(["KT", "VHXH", "QPAN", "XDHTCT"]),
            st.integers(0, 10**9),
        ),
        max_size=30,
        unique_by=lambda t: (t[0], t[1], t[2]),
    )
)
def test_a_quarters_total_is_the_sum_of_its_months(
    data: list[tuple[int, str, str, int]],
) -> None:
    rows: list[list[dict[str, Any]]] = [[], [], []]
    for m, unit, field, v in data:
        rows[m].append(fact(MONTHS[m], unit, "MH_DANG_KY", v, field=field, level="CS"))
    tables = {p.code: month_table(p, r, TINY) for p, r in zip(MONTHS, rows, strict=True)}
    q = temporal_rollup(tables, Q1, CAT)
    for unit in TINY.units:
        months_total = sum(value(tables[p.code], unit, "MH_DANG_KY") or 0 for p in MONTHS)
        assert (value(q, unit, "MH_DANG_KY") or 0) == months_total
        for field in ("KT", "VHXH", "QPAN", "XDHTCT"):
            assert (value(q, unit, "MH_DANG_KY", field=field) or 0) == sum(
                value(tables[p.code], unit, "MH_DANG_KY", field=field) or 0 for p in MONTHS
            )
    assert (value(q, "R", "MH_DANG_KY") or 0) == sum(v for *_, v in data)


def test_an_empty_year_asks_for_its_halves() -> None:
    with pytest.raises(ValueError, match="missing 2025-H1, 2025-H2 "):
        source_periods(Period.parse("2025-Y"), [])
