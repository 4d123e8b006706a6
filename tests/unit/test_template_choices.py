"""Every drop-down choice of every template is accepted when picked (issue 11, point 1)."""

from __future__ import annotations

import polars as pl
import pytest

from dvkn_pipeline.judging.judge import judge_upload
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.views.template import write_template
from schemas.records import Status, UploadRef
from schemas.settings import Settings
from tests.corpus import CAT, HANOI, Q1, dropdowns, filled_template, with_cell

HS = load_hierarchies()
#: One unit of each kind: ward, commune, town, district, province.
KINDS = {"ward": "00004", "commune": "00379", "town": "00376", "district": "001", "province": "01"}


def _labels() -> dict[str, str]:
    return {v.vi: code for spec in CAT.model.dimensions.values() for code, v in spec.values.items()}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_offered_choice_is_accepted(kind: str) -> None:
    unit = HANOI.unit(KINDS[kind])
    report = generate_report(unit, Q1, CAT, seed=3)
    filled = filled_template(report)
    menus = dropdowns(write_template(unit, Q1, CAT))
    if unit.level != "commune":
        assert menus == []  # only communes report a status
        return
    assert menus
    labels = _labels()
    for sheet, cell, choices in menus:
        assert len(choices) == len(CAT.model.dimensions["ntm_standard"].values)
        for choice in choices:
            content = with_cell(filled, sheet, cell, choice)
            key = f"incoming/{unit.code}/{Q1.code}/{kind}.xlsx"
            j = judge_upload(
                UploadRef(bucket="b", key=key, etag="e"),
                content,
                catalogue=CAT,
                hierarchies=HS,
                settings=Settings(),
            )
            assert j.receipt.status is Status.ACCEPTED, (choice, j.receipt.problems)
            assert j.facts is not None
            got = j.facts.filter(pl.col("indicator") == "NTM_MUC_DAT")["category"].to_list()
            assert got == [labels[choice]]
