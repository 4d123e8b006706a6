"""A steward steers: reprocess after a rule fix, and overrides, on the real object store.

Driven in-process through ``build_intake`` (as the flow does), so each test
can change the rules the way a deployed fix would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from dvkn_pipeline.judging import rules as rules_module
from dvkn_pipeline.judging.receipt import render_markdown
from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.demo import with_value
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.keys import incoming_key, receipt_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.steering import NothingToReprocessError
from dvkn_pipeline.services.wiring import build_intake
from schemas.records import Override, OverrideDecision, Receipt, ReprocessRequest
from schemas.rules import RuleSet
from schemas.settings import Settings

pytestmark = pytest.mark.integration

CAT = load_catalogue()
Q1 = Period.parse("2025-Q1")
HANOI = load_hierarchies().for_date(Q1.reference_date).scope("01")
COMMUNES = list(HANOI.children("001"))[:5]
GOOD = COMMUNES[:4]
BROKEN = COMMUNES[4]
BROKEN_KEY = incoming_key(BROKEN.code, Q1.code, "bao-cao.csv")


def _broken_report() -> SyntheticReport:
    """More opinions resolved than received: rejected by ``resolved_le_received`` only."""
    r = generate_report(BROKEN, Q1, CAT, seed=21)
    return with_value(r, "Y_KIEN_GIAI_QUYET", r.value("Y_KIEN_TIEP_NHAN") + 5)


@pytest.fixture
def intake(object_store: Settings) -> Intake:
    settings = object_store.model_copy(update={"bucket": f"t-{uuid.uuid4().hex[:12]}"})
    local_stack.ensure_bucket(settings)
    it = build_intake(settings)
    for u in GOOD:
        it.bucket.put_bytes(
            incoming_key(u.code, Q1.code, "bao-cao.csv"),
            generate_report(u, Q1, CAT, seed=21).to_csv(CAT),
        )
    it.bucket.put_bytes(BROKEN_KEY, _broken_report().to_csv(CAT))
    result = it.process(it.pending())
    it.refresh(result.periods)
    return it


def _district(it: Intake, indicator: str) -> float:
    table = it.tables.read_rollup(Q1.code)
    return float(
        table.filter((pl.col("unit_code") == "001") & (pl.col("indicator") == indicator))[
            "value"
        ].sum()
    )


def _accepted(it: Intake) -> int:
    comp = it.tables.read_completeness(Q1.code)
    row = comp.filter((pl.col("unit_code") == "001") & (pl.col("reporter_level") == "commune"))
    return int(row["accepted"][0])


def _receipt(it: Intake, key: str) -> dict[str, Any]:
    data = it.bucket.get_json(receipt_key(key))
    assert isinstance(data, dict)
    return data


def _status(it: Intake, key: str) -> tuple[str, int]:
    row = it.tables.read_ledger().filter(pl.col("key") == key).row(0, named=True)
    return row["status"], row["attempt"]


def _snapshot(it: Intake) -> dict[str, object]:
    keys = ["unit_code", "indicator", *CAT.dimension_columns]
    return {
        "rollup": it.tables.read_rollup(Q1.code).sort(keys, nulls_last=True).to_dicts(),
        "completeness": it.tables.read_completeness(Q1.code)
        .sort("unit_code", "reporter_level")
        .to_dicts(),
    }


def _relaxed_rules() -> RuleSet:
    """The rule fix: ``resolved_le_received`` becomes a warning."""
    rules = rules_module.load_rules()
    return RuleSet(
        rules=tuple(
            r.model_copy(update={"severity": "warning"}) if r.id == "resolved_le_received" else r
            for r in rules.rules
        )
    )


def _rejudge(it: Intake, request: ReprocessRequest) -> None:
    result = it.rejudge(request)
    it.refresh(result.periods)


def test_reprocess_after_a_rule_fix_accepts_the_file_and_the_rollup_follows(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    received_before = _district(intake, "Y_KIEN_TIEP_NHAN")
    assert _status(intake, BROKEN_KEY) == ("rejected", 0)
    assert _accepted(intake) == 4

    relaxed = _relaxed_rules()
    monkeypatch.setattr(rules_module, "load_rules", lambda *a, **k: relaxed)
    _rejudge(intake, ReprocessRequest(unit=BROKEN.code, period=Q1.code, reason="rule fix #12"))

    assert _status(intake, BROKEN_KEY) == ("accepted", 1)
    broken = _broken_report()
    assert _district(intake, "Y_KIEN_TIEP_NHAN") == received_before + broken.value(
        "Y_KIEN_TIEP_NHAN"
    )
    assert _accepted(intake) == 5
    assert intake.pending() == []  # a re-judged upload is not pending again
    receipt = _receipt(intake, BROKEN_KEY)
    assert receipt["status"] == "accepted" and receipt["attempt"] == 1
    assert receipt["reprocess_reason"] == "rule fix #12"
    assert [p["severity"] for p in receipt["problems"] if p["rule"] == "resolved_le_received"] == [
        "warning"
    ]
    # The first receipt is kept as an earlier version of the receipt object.
    versions = intake.bucket.client.list_object_versions(
        Bucket=intake.bucket.name, Prefix=receipt_key(BROKEN_KEY)
    )["Versions"]
    assert len([v for v in versions if v["Key"] == receipt_key(BROKEN_KEY)]) == 2

    # And back: the rule restored, the file is rejected again and leaves the totals.
    monkeypatch.undo()
    _rejudge(intake, ReprocessRequest(upload_keys=[BROKEN_KEY], reason="rule restored"))
    assert _status(intake, BROKEN_KEY) == ("rejected", 2)
    assert _district(intake, "Y_KIEN_TIEP_NHAN") == received_before
    assert _accepted(intake) == 4


def test_reprocessing_a_period_twice_changes_no_total(intake: Intake) -> None:
    before = _snapshot(intake)
    _rejudge(intake, ReprocessRequest(period=Q1.code, reason="catalogue fix"))
    once = _snapshot(intake)
    _rejudge(intake, ReprocessRequest(period=Q1.code, reason="catalogue fix"))
    assert _snapshot(intake) == once == before
    ledger = intake.tables.read_ledger(Q1.code)
    assert ledger.height == 5 and set(ledger["attempt"]) == {2}
    # Every judgement is kept: the history holds three attempts of each upload.
    assert intake.tables.read_ledger(all_attempts=True).height == 15
    assert intake.stale_periods() == {}


def test_a_recorded_override_accepts_or_rejects_and_the_rollup_follows(intake: Intake) -> None:
    received_before = _district(intake, "Y_KIEN_TIEP_NHAN")
    at = datetime(2025, 4, 2, 9, 30, tzinfo=UTC)
    accept = Override(
        decision=OverrideDecision.ACCEPT_WITH_WARNINGS,
        by="Nguyễn Thị Lan",
        reason="Ý kiến quý trước được giải quyết trong quý này",
        at=at,
    )
    _rejudge(intake, ReprocessRequest(upload_keys=[BROKEN_KEY], override=accept, reason="override"))
    row = intake.tables.read_ledger().filter(pl.col("key") == BROKEN_KEY).row(0, named=True)
    assert (row["status"], row["override"], row["override_by"]) == (
        "accepted",
        "accept_with_warnings",
        "Nguyễn Thị Lan",
    )
    assert row["override_reason"] == accept.reason and row["override_at"] == at
    assert row["n_errors"] == 1  # the overruled error stays on record
    assert _district(intake, "Y_KIEN_TIEP_NHAN") == received_before + _broken_report().value(
        "Y_KIEN_TIEP_NHAN"
    )
    receipt = _receipt(intake, BROKEN_KEY)
    assert receipt["override"]["by"] == "Nguyễn Thị Lan" and receipt["override_applied"] is True
    assert "Nguyễn Thị Lan" in render_markdown(Receipt.model_validate(receipt))

    # A later plain reprocess keeps the steward's decision.
    _rejudge(intake, ReprocessRequest(period=Q1.code, reason="catalogue fix"))
    assert _status(intake, BROKEN_KEY) == ("accepted", 2)

    # Rejecting an accepted report takes it out of the totals and the completeness.
    good_key = incoming_key(GOOD[0].code, Q1.code, "bao-cao.csv")
    reject = Override(
        decision=OverrideDecision.REJECT, by="Trần Văn Minh", reason="số liệu sai", at=at
    )
    _rejudge(intake, ReprocessRequest(upload_keys=[good_key], override=reject))
    assert _status(intake, good_key) == ("rejected", 2)
    assert _district(intake, "Y_KIEN_TIEP_NHAN") == received_before - generate_report(
        GOOD[0], Q1, CAT, seed=21
    ).value("Y_KIEN_TIEP_NHAN") + _broken_report().value("Y_KIEN_TIEP_NHAN")
    assert _accepted(intake) == 4


def test_a_file_without_usable_figures_cannot_be_accepted_by_override(intake: Intake) -> None:
    key = incoming_key(GOOD[0].code, Q1.code, "hong.csv")
    intake.bucket.put_bytes(key, b"this is not a report\n")
    result = intake.process(intake.pending())
    intake.refresh(result.periods)
    accept = Override(
        decision=OverrideDecision.ACCEPT_WITH_WARNINGS, by="x", reason="y", at=datetime.now(UTC)
    )
    before = _snapshot(intake)
    _rejudge(intake, ReprocessRequest(upload_keys=[key], override=accept))
    row = intake.tables.read_ledger().filter(pl.col("key") == key).row(0, named=True)
    assert row["status"] == "rejected" and row["override"] == "accept_with_warnings"
    receipt = _receipt(intake, key)
    assert receipt["override_applied"] is False
    assert _snapshot(intake) == before
    with pytest.raises(NothingToReprocessError):
        intake.rejudge(ReprocessRequest(upload_keys=["incoming/none/2025-Q1/x.csv"]))
