"""Cross-field rules, evaluated on hand-made report cells."""

from typing import Any

import polars as pl

from dvkn_pipeline.judging.rules import (
    evaluate_rules,
    history_problems,
    lateness_problems,
    load_rules,
)
from dvkn_pipeline.reference.catalogue import load_catalogue

CAT = load_catalogue()
DIMS = list(CAT.dimension_columns)


def cells(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema: dict[str, Any] = {"sheet": pl.Utf8, "row": pl.Int64, "indicator": pl.Utf8}
    schema |= {d: pl.Utf8 for d in DIMS} | {"value": pl.Float64}
    full = [
        {"sheet": "csv", "row": i + 10, **{d: None for d in DIMS}, **r} for i, r in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=schema)


def by_rule(problems: list[Any], rule: str) -> list[Any]:
    return [p for p in problems if p.rule == rule]


NGHE_AN_GRASSROOTS = {"KT": 1210, "VHXH": 565, "QPAN": 482, "XDHTCT": 705}


def test_nghe_an_declared_total_fails_naming_both_numbers() -> None:
    details = cells(
        [{"indicator": "MH_DANG_KY", "field": f, "value": v} for f, v in NGHE_AN_GRASSROOTS.items()]
    )
    declared = cells([{"indicator": "MH_DANG_KY", "value": 2852}])
    problems = by_rule(evaluate_rules(details, declared, CAT), "declared_total_matches_parts")
    assert len(problems) == 1
    assert "2.852" in problems[0].message_vi and "2.962" in problems[0].message_vi
    # Issue 11: the English half writes English numbers (was "2.852" in both halves),
    # and the problem points at the detail cells the clerk typed, not at the total row.
    assert "2,852" in problems[0].message_en and "2,962" in problems[0].message_en
    assert "2.852" not in problems[0].message_en
    assert problems[0].row == 10
    assert problems[0].value == "1.210 + 565 + 482 + 705 = 2.962"


def test_a_correct_declared_total_passes() -> None:
    details = cells(
        [{"indicator": "MH_DANG_KY", "field": f, "value": v} for f, v in NGHE_AN_GRASSROOTS.items()]
    )
    declared = cells([{"indicator": "MH_DANG_KY", "value": 2962}])
    assert evaluate_rules(details, declared, CAT) == []


def test_collective_plus_individual_must_equal_recognized_per_field() -> None:
    details = cells(
        [
            {"indicator": "MH_CONG_NHAN", "field": "KT", "holder": "TT", "value": 1179},
            {"indicator": "MH_CONG_NHAN", "field": "KT", "holder": "CN", "value": 221},
            {"indicator": "MH_DANG_KY", "field": "KT", "value": 2500},
        ]
    )
    ok = cells([{"indicator": "MH_CONG_NHAN", "field": "KT", "value": 1400}])
    bad = cells([{"indicator": "MH_CONG_NHAN", "field": "KT", "value": 1401}])
    assert evaluate_rules(details, ok, CAT) == []
    [problem] = evaluate_rules(details, bad, CAT)
    assert problem.rule == "declared_total_matches_parts"
    assert "Kinh tế" in problem.message_vi and "1.401" in problem.message_vi


def test_recognized_above_registered_is_an_error_per_field() -> None:
    details = cells(
        [
            {"indicator": "MH_DANG_KY", "field": "KT", "value": 10},
            {"indicator": "MH_DANG_KY", "field": "VHXH", "value": 10},
            {"indicator": "MH_CONG_NHAN", "field": "KT", "holder": "TT", "value": 9},
            {"indicator": "MH_CONG_NHAN", "field": "KT", "holder": "CN", "value": 3},
            {"indicator": "MH_CONG_NHAN", "field": "VHXH", "holder": "TT", "value": 2},
        ]
    )
    problems = by_rule(evaluate_rules(details, cells([]), CAT), "recognized_le_registered")
    assert len(problems) == 1
    assert problems[0].severity.value == "error"
    assert "12" in problems[0].message_en and "10" in problems[0].message_en
    assert "Economy" in problems[0].message_en


def test_resolved_opinions_above_received_is_an_error() -> None:
    details = cells(
        [
            {"indicator": "Y_KIEN_TIEP_NHAN", "value": 40},
            {"indicator": "Y_KIEN_GIAI_QUYET", "value": 41},
        ]
    )
    [problem] = evaluate_rules(details, cells([]), CAT)
    assert problem.rule == "resolved_le_received"


def test_numerator_above_denominator_is_an_error() -> None:
    details = cells(
        [{"indicator": "GD_VAN_HOA_DAT", "value": 5791}, {"indicator": "GD_TONG_SO", "value": 5790}]
    )
    assert [p.rule for p in evaluate_rules(details, cells([]), CAT)] == [
        "cultural_families_le_households"
    ]


def test_missing_side_is_skipped_not_treated_as_zero() -> None:
    details = cells([{"indicator": "Y_KIEN_GIAI_QUYET", "value": 41}])
    assert evaluate_rules(details, cells([]), CAT) == []


def test_replicated_above_registered_only_warns() -> None:
    details = cells(
        [
            {"indicator": "MH_DANG_KY", "field": "KT", "value": 1},
            {"indicator": "MH_NHAN_RONG", "field": "KT", "value": 3},
        ]
    )
    [problem] = evaluate_rules(details, cells([]), CAT)
    assert problem.severity.value == "warning"


def test_every_rule_names_indicators_of_the_catalogue() -> None:
    for rule in load_rules().rules:
        for term in (*rule.left, *rule.right):
            assert term.indicator in CAT.by_code, rule.id
        for dim in rule.by:
            assert dim in CAT.dimension_columns, rule.id


def history(values: list[float], indicator: str = "TIEN_VAN_DONG") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": [f"2024-Q{4 - i}" for i in range(len(values))],
            "indicator": [indicator] * len(values),
            "value": values,
        }
    )


def test_a_value_far_from_the_units_history_warns_by_modified_z_score() -> None:
    past = history([100.0, 110.0, 95.0, 105.0])
    [warning] = history_problems({"TIEN_VAN_DONG": 1050.0}, past, CAT)
    assert warning.severity.value == "warning" and warning.rule == "value_far_from_history"
    assert "1.050" in warning.message_vi and "modified z" in warning.message_en
    assert history_problems({"TIEN_VAN_DONG": 108.0}, past, CAT) == []


def test_with_short_history_a_min_max_band_is_used() -> None:
    past = history([100.0, 120.0])
    assert history_problems({"TIEN_VAN_DONG": 300.0}, past, CAT) == []
    [warning] = history_problems({"TIEN_VAN_DONG": 1000.0}, past, CAT)
    assert "range" in warning.message_en


def test_no_history_no_warning() -> None:
    assert history_problems({"TIEN_VAN_DONG": 1e12}, history([]), CAT) == []


def test_a_report_long_after_its_deadline_warns_but_a_slightly_late_one_does_not() -> None:
    [warning] = lateness_problems(40)
    assert warning.severity.value == "warning" and "40" in warning.message_en
    assert lateness_problems(3) == []


def test_a_compare_rule_points_at_the_detail_cells_not_the_subtotal() -> None:
    """Row 10 holds 3 and row 11 holds 2: the problem names both cells and says 3 + 2 = 5."""
    details = cells(
        [
            {"indicator": "MH_CONG_NHAN", "field": "KT", "holder": "TT", "value": 3},
            {"indicator": "MH_CONG_NHAN", "field": "KT", "holder": "CN", "value": 2},
            {"indicator": "MH_DANG_KY", "field": "KT", "value": 4},
        ]
    ).with_columns(pl.lit(6, dtype=pl.Int64).alias("value_col"))
    [p] = by_rule(evaluate_rules(details, cells([]), CAT), "recognized_le_registered")
    assert (p.row, p.cell, p.value) == (10, "F10, F11, F12", "3 + 2 = 5")
