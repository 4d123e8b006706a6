"""Across 1 July 2025, through the real pipeline: old communes in Q1, new ones in Q3.

Reports go into a fresh bucket on the real S3 server and through the intake
(parse, validate, ledger, facts, roll-up); then the roll-ups are read back,
compared through the mapping, and read as they stood before a later refresh.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import polars as pl
import pytest

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.reference.reform import mapping_between
from dvkn_pipeline.rollup.compare import EXACT, compare_periods
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.wiring import build_intake
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1, Q3 = Period.parse("2025-Q1"), Period.parse("2025-Q3")
OLD = load_hierarchies().for_date(Q1.reference_date).subtree("01")
NEW = load_hierarchies().for_date(Q3.reference_date).subtree("01")
PAIRS = mapping_between(OLD.version_id, NEW.version_id).pairs_at(OLD, NEW, "commune")


def _exact_new_commune() -> tuple[str, list[str]]:
    """A new commune formed whole from old communes only (Phường Hoàn Kiếm has parts)."""
    per_new = PAIRS.group_by("new_code").agg(pl.col("whole").all(), pl.col("old_code").sort())
    found = per_new.filter(pl.col("whole") & (pl.col("old_code").list.len() >= 2)).sort("new_code")
    return found["new_code"][0], found["old_code"][0].to_list()


NEW_CODE, OLD_CODES = _exact_new_commune()


@pytest.fixture
def fresh_bucket(object_store: Settings) -> Settings:
    """A new, empty bucket on this module's S3 server (as conftest's fixture does)."""
    settings = object_store.model_copy(
        update={"bucket": f"t-{uuid.uuid4().hex[:12]}", "root_unit": "01"}
    )
    local_stack.ensure_bucket(settings)
    return settings


def _send(intake: Intake, reports: list[SyntheticReport]) -> None:
    for r in reports:
        key = incoming_key(r.unit.code, r.period.code, f"bao-cao-v{r.version}.csv")
        intake.bucket.put_bytes(key, r.to_csv(CAT))
    result = intake.process(intake.pending())
    intake.refresh(result.periods)


def _value(frame: pl.DataFrame, unit: str, indicator: str) -> float:
    sel = frame.filter((pl.col("unit_code") == unit) & (pl.col("indicator") == indicator))
    return float(sel["value"].sum())


def test_periods_either_side_of_the_reform_roll_up_with_their_own_hierarchy(
    fresh_bucket: Settings,
) -> None:
    intake = build_intake(fresh_bucket)
    old_reports = [generate_report(OLD.unit(c), Q1, CAT, seed=5) for c in OLD_CODES]
    new_report = generate_report(NEW.unit(NEW_CODE), Q3, CAT, seed=6)
    _send(intake, [*old_reports, new_report])

    q1 = intake.tables.read_rollup(Q1.code)
    q3 = intake.tables.read_rollup(Q3.code)
    assert set(q1["hierarchy_version"].unique()) == {"vn-3level-2025-01"}
    assert set(q3["hierarchy_version"].unique()) == {"vn-2level-2025-07"}

    # Q1: commune -> district -> city, three levels.
    assert set(q1["unit_level"].unique()) == {"commune", "district", "province"}
    districts = {OLD.unit(c).parent_code for c in OLD_CODES}
    sent = sum(r.value("MH_DANG_KY") for r in old_reports)
    district_total = sum(_value(q1, str(d), "MH_DANG_KY") for d in districts)
    assert district_total == sent
    assert _value(q1, "01", "MH_DANG_KY") == sent
    # Q3: commune -> city directly; no district exists any more.
    assert set(q3["unit_level"].unique()) == {"commune", "province"}
    assert _value(q3, NEW_CODE, "MH_DANG_KY") == new_report.value("MH_DANG_KY")
    assert _value(q3, "01", "MH_DANG_KY") == new_report.value("MH_DANG_KY")
    # The same code names another unit in each version: rows never mix.
    if NEW_CODE in OLD:
        assert OLD.unit(NEW_CODE).name != NEW.unit(NEW_CODE).name

    result = compare_periods(
        intake.tables, load_hierarchies(), Q1, Q3, CAT, level="commune", root_unit="01"
    )
    unit = result.units.filter(pl.col("new_code") == NEW_CODE).row(0, named=True)
    assert unit["comparable"] == EXACT
    assert unit["old_whole"] == OLD_CODES and unit["old_reporting"] == len(OLD_CODES)
    row = result.rows.filter(
        (pl.col("new_code") == NEW_CODE) & (pl.col("indicator") == "MH_DANG_KY")
    ).row(0, named=True)
    assert row["from_value"] == sent
    assert row["to_value"] == new_report.value("MH_DANG_KY")
    assert row["change"] == new_report.value("MH_DANG_KY") - sent
    households = result.rows.filter(
        (pl.col("new_code") == NEW_CODE) & (pl.col("indicator") == "TL_GD_VAN_HOA")
    ).row(0, named=True)
    num = sum(r.value("GD_VAN_HOA_DAT") for r in old_reports)
    den = sum(r.value("GD_TONG_SO") for r in old_reports)
    assert households["from_value"] == pytest.approx(100 * num / den)


def test_roll_up_as_it_stood_before_a_correction(fresh_bucket: Settings) -> None:
    intake = build_intake(fresh_bucket)
    commune = OLD.unit(OLD_CODES[0])
    before_anything = datetime.now(UTC)
    time.sleep(1.1)
    first = generate_report(commune, Q1, CAT, seed=1)
    _send(intake, [first])
    time.sleep(1.1)
    between = datetime.now(UTC)
    time.sleep(1.1)
    corrected = generate_report(commune, Q1, CAT, seed=2, version=2)
    assert corrected.value("MH_DANG_KY") != first.value("MH_DANG_KY")
    _send(intake, [corrected])

    now = intake.tables.read_rollup(Q1.code)
    then = intake.tables.read_rollup(Q1.code, as_of=between)
    assert _value(now, "01", "MH_DANG_KY") == corrected.value("MH_DANG_KY")
    assert _value(then, "01", "MH_DANG_KY") == first.value("MH_DANG_KY")
    assert intake.tables.read_rollup(Q1.code, as_of=before_anything).is_empty()
    comp_then = intake.tables.read_completeness(Q1.code, as_of=between)
    assert comp_then.filter(pl.col("unit_code") == "01")["accepted"].sum() == 1
