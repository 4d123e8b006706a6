"""Roll-up and completeness over in-memory ledgers and facts."""

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dvkn_pipeline.judging.facts import empty_facts
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import Hierarchy, Unit, load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import completeness, live_submissions, rollup
from dvkn_pipeline.storage.tables import ledger_polars_schema

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).subtree("01")
ON_TIME = datetime(2025, 3, 16, tzinfo=UTC)
LATE = datetime(2025, 3, 25, tzinfo=UTC)


def fact(sub: str, unit: str, indicator: str, value: float, **dims: str) -> dict[str, Any]:
    return {
        "submission_id": sub.ljust(64, "0"),
        "unit_code": unit,
        "period": Q1.code,
        "indicator": indicator,
        **{d: dims.get(d) for d in CAT.dimension_columns},
        "value": float(value),
    }


def facts(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.concat([empty_facts(CAT), pl.DataFrame(rows, schema=empty_facts(CAT).schema)])


def ledger_row(
    unit: str,
    status: str,
    sub: str,
    version: int = 1,
    at: datetime = ON_TIME,
    key: str | None = None,
) -> dict[str, Any]:
    return {
        "upload_id": f"{key or unit + sub}#e",
        "key": key or f"incoming/{unit}/{Q1.code}/{sub}.csv",
        "etag": "e",
        "sha256": sub.ljust(64, "0"),
        "size": 10,
        "uploader": None,
        "received_at": at,
        "processed_at": at,
        "status": status,
        "unit_code": unit,
        "period": Q1.code,
        "report_version": version,
        "submission_id": sub.ljust(64, "0") if status != "rejected" else None,
        "n_errors": 0,
        "n_warnings": 0,
        "receipt_key": "r",
        "archive_key": None,
        "flow_run_id": None,
    }


def ledger(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ledger_polars_schema())


def value(table: pl.DataFrame, unit: str, indicator: str, **dims: str) -> float:
    sel = table.filter((pl.col("unit_code") == unit) & (pl.col("indicator") == indicator))
    for d, v in dims.items():
        sel = sel.filter(pl.col(d) == v)
    return float(sel["value"].sum())


def test_district_and_city_sum_their_communes_and_the_districts_own_models() -> None:
    f = facts(
        [
            fact("a", "00001", "MH_DANG_KY", 3, field="KT", level="CS"),
            fact("b", "00004", "MH_DANG_KY", 4, field="KT", level="CS"),
            fact("c", "001", "MH_DANG_KY", 10, field="KT", level="HUYEN"),
            fact("d", "00070", "MH_DANG_KY", 5, field="VHXH", level="CS"),  # district 002
        ]
    )
    t = rollup(f, HANOI, CAT, Q1)
    assert value(t, "001", "MH_DANG_KY") == 17
    assert value(t, "001", "MH_DANG_KY", level="CS") == 7
    assert value(t, "002", "MH_DANG_KY") == 5
    assert value(t, "01", "MH_DANG_KY") == 22
    assert value(t, "01", "MH_DANG_KY", field="KT") == 17


def test_ratio_is_redivided_from_summed_parts_never_averaged() -> None:
    f = facts(
        [
            fact("a", "00001", "GD_VAN_HOA_DAT", 90),
            fact("a", "00001", "GD_TONG_SO", 100),
            fact("b", "00004", "GD_VAN_HOA_DAT", 100),
            fact("b", "00004", "GD_TONG_SO", 1000),
        ]
    )
    row = rollup(f, HANOI, CAT, Q1).filter(
        (pl.col("unit_code") == "001") & (pl.col("indicator") == "TL_GD_VAN_HOA")
    )
    assert row["numerator"].item() == 190 and row["denominator"].item() == 1100
    assert abs(row["value"].item() - 100 * 190 / 1100) < 1e-9  # not (90% + 10%) / 2


def test_categorical_status_rolls_up_as_counts_per_category() -> None:
    f = facts(
        [
            fact("a", "00001", "NTM_MUC_DAT", 1, category="NANG_CAO"),
            fact("b", "00004", "NTM_MUC_DAT", 1, category="NANG_CAO"),
            fact("c", "00006", "NTM_MUC_DAT", 1, category="KIEU_MAU"),
        ]
    )
    t = rollup(f, HANOI, CAT, Q1)
    assert value(t, "001", "NTM_MUC_DAT", category="NANG_CAO") == 2
    assert value(t, "001", "NTM_MUC_DAT", category="KIEU_MAU") == 1


def test_newer_version_replaces_older_whatever_the_order_they_arrive() -> None:
    rows = [
        ledger_row("00001", "accepted", "v2", version=2, at=ON_TIME),
        ledger_row("00001", "accepted", "v1", version=1, at=LATE),  # old version arriving late
        ledger_row("00004", "accepted", "x1", version=1, at=ON_TIME),
        ledger_row("00004", "accepted", "x1b", version=1, at=LATE),  # same version re-sent later
    ]
    live = live_submissions(ledger(rows), Q1.code)
    got = dict(zip(live["unit_code"], live["submission_id"], strict=True))
    assert got["00001"].startswith("v2") and got["00004"].startswith("x1b")


def test_completeness_counts_each_unit_once_and_judges_timeliness() -> None:
    rows = [
        ledger_row("00001", "rejected", "r1", at=ON_TIME),
        ledger_row("00001", "accepted", "a1", at=LATE),  # corrected late
        ledger_row("00004", "accepted", "b1", at=ON_TIME),
        ledger_row(
            "00004", "accepted", "b2", version=2, at=LATE
        ),  # correction after on-time report
        ledger_row("00006", "rejected", "c1", at=ON_TIME),  # never fixed
        ledger_row("99999", "accepted", "zz", at=ON_TIME),  # not a unit of this hierarchy
    ]
    comp = completeness(ledger(rows), HANOI, CAT, Q1)
    district = comp.filter(
        (pl.col("unit_code") == "001") & (pl.col("reporter_level") == "commune")
    ).row(0, named=True)
    n_communes = len(HANOI.children("001"))
    assert district["expected"] == n_communes
    assert district["received"] == 3
    assert district["accepted"] == 2
    assert district["rejected"] == 1
    assert district["missing"] == n_communes - 3
    assert district["on_time"] == 1 and district["late"] == 1
    city = comp.filter((pl.col("unit_code") == "01") & (pl.col("reporter_level") == "commune")).row(
        0, named=True
    )
    assert city["expected"] == 526 and city["received"] == 3


def test_completeness_lists_every_reporting_level_of_the_city() -> None:
    comp = completeness(ledger([]), HANOI, CAT, Q1)
    city = comp.filter(pl.col("unit_code") == "01").sort("reporter_level")
    assert dict(zip(city["reporter_level"], city["expected"], strict=True)) == {
        "commune": 526,
        "district": 30,
        "province": 1,
    }


# -- property: any depth, any figures, totals equal the sum of their parts ------------


@st.composite
def trees(draw: st.DrawFn) -> Hierarchy:
    depth = draw(st.integers(2, 4))
    levels = tuple(f"l{i}" for i in range(depth))
    units = {"R": Unit("R", "root", levels[0], "x", None)}
    frontier = ["R"]
    for lvl in levels[1:]:
        nxt: list[str] = []
        for parent in frontier:
            for i in range(draw(st.integers(1, 3))):
                code = f"{parent}.{i}"
                units[code] = Unit(code, code, lvl, "x", parent)
                nxt.append(code)
        frontier = nxt
    return Hierarchy("test", date(2025, 1, 1), None, levels, units)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_total_is_the_sum_of_the_figures_below_it(data: st.DataObject) -> None:
    tree = data.draw(trees())
    codes = list(tree.units)
    rows = [
        fact(f"s{i}", unit, "MH_DANG_KY", v, field=field, level="CS")
        for i, (unit, v, field) in enumerate(
            data.draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(codes),
                        st.integers(0, 10**9),
                        st.sampled_from(["KT", "VHXH", "QPAN", "XDHTCT"]),
                    ),
                    max_size=40,
                )
            )
        )
    ]
    f = facts(rows)
    t = rollup(f, tree, CAT, Q1)
    assert value(t, "R", "MH_DANG_KY") == sum(r["value"] for r in rows)
    for code in codes:
        subtree = {code, *(u.code for u in tree.descendants(code))}
        assert value(t, code, "MH_DANG_KY") == sum(
            r["value"] for r in rows if r["unit_code"] in subtree
        )


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_recomputing_only_the_ancestors_of_a_change_equals_a_full_recomputation(
    data: st.DataObject,
) -> None:
    _check_ancestors_equal_full(data, st.integers(0, 1000))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_decimal_figures_roll_up_to_the_same_bits_incrementally_and_in_full(
    data: st.DataObject,
) -> None:
    """Summing 0.1s in another order must not leave 21294.100000000002 beside 21294.1.

    A worker that met an outage refreshes incrementally where a clean run recomputes
    in full; their tables must still be identical, not merely close.
    """
    _check_ancestors_equal_full(data, st.integers(0, 10**7).map(lambda n: n / 10))


def _check_ancestors_equal_full(data: st.DataObject, values: st.SearchStrategy[float]) -> None:
    tree = data.draw(trees())
    codes = list(tree.units)
    inner = {c for c in codes if tree.children(c)}

    def draw_facts(tag: str, units: list[str]) -> list[dict[str, Any]]:
        return [
            fact(
                f"{tag}{unit}",
                unit,
                "MH_DANG_KY",
                data.draw(values),
                field="KT",
                level="CS",
            )
            for unit in units
        ]

    before = draw_facts("a", codes)
    changed = set(data.draw(st.lists(st.sampled_from(codes), min_size=1, max_size=3)))
    after = [r for r in before if r["unit_code"] not in changed] + draw_facts("b", sorted(changed))
    full_before = rollup(facts(before), tree, CAT, Q1).filter(
        pl.col("unit_code").is_in(sorted(inner))
    )
    full_after = rollup(facts(after), tree, CAT, Q1)
    from dvkn_pipeline.rollup.spatial import (
        affected_units,
        rollup_ancestors,
        stored_children,
        units_to_read,
    )

    affected = affected_units(changed, tree)
    needed = units_to_read(affected, tree)
    # Only the rows a refresh reads from the table: if ``stored_children`` missed a
    # child, that child's total would drop out of its parent's.
    stored = full_before.filter(pl.col("unit_code").is_in(stored_children(affected, tree)))
    new_rows = rollup_ancestors(
        changed, tree, CAT, Q1, facts([r for r in after if r["unit_code"] in needed]), stored
    )
    for unit in {r["unit_code"] for r in new_rows.to_dicts()}:
        assert value(new_rows, unit, "MH_DANG_KY") == value(full_after, unit, "MH_DANG_KY")
    touched = {u.code for u in affected_units(changed, tree)}
    assert {r["unit_code"] for r in new_rows.to_dicts()} == touched


def test_completeness_of_ancestors_matches_a_full_recount() -> None:
    from dvkn_pipeline.rollup.spatial import completeness_ancestors

    rows = [ledger_row("00001", "accepted", "a1"), ledger_row("00004", "rejected", "b1")]
    before = completeness(ledger(rows), HANOI, CAT, Q1)
    rows.append(ledger_row("00006", "accepted", "c1", at=LATE))
    full = completeness(ledger(rows), HANOI, CAT, Q1)
    part = completeness_ancestors({"00006"}, HANOI, CAT, Q1, ledger(rows), before)
    assert set(part["unit_code"]) == {"001", "01"}
    keys = ["unit_code", "reporter_level"]
    expected = full.filter(pl.col("unit_code").is_in(["001", "01"])).sort(keys)
    assert part.sort(keys).to_dicts() == expected.to_dicts()


@settings(max_examples=200, deadline=None)
@given(
    whole=st.integers(-(2**53), 2**53),
    tenths=st.lists(st.integers(0, 10**9), min_size=1, max_size=30),
)
def test_settling_a_sum_keeps_whole_numbers_and_drops_only_float_noise(
    whole: int, tenths: list[int]
) -> None:
    from dvkn_pipeline.rollup.spatial import settled

    frame = pl.DataFrame(
        {"v": [float(whole), sum(t / 10 for t in tenths), sum(t / 10 for t in reversed(tenths))]}
    )
    got = frame.select(settled(pl.col("v")))["v"].to_list()
    assert got[0] == float(whole)  # money in VND: never moved, however large
    assert got[1] == got[2] == sum(tenths) / 10  # the same sum in either order
