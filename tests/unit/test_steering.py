"""Reprocess and overrides as pure functions: what is selected, what a decision may do."""

from __future__ import annotations

import json
import threading
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from dvkn_pipeline.judging.judge import Upload, judge_uploads, submission_id_of
from dvkn_pipeline.judging.overrides import blocking_errors, load_policy
from dvkn_pipeline.judging.receipt import render_markdown
from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.ops.demo import with_value
from dvkn_pipeline.ops.generator import generate_report
from dvkn_pipeline.ops.notify_sink import make_server
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.deadlines import describe, due_soon, missing_units
from dvkn_pipeline.rollup.freshness import marks_for, stale, upload_counts
from dvkn_pipeline.services.steering import (
    NothingToReprocessError,
    ref_of,
    select_uploads,
    standing_override,
)
from schemas.automations import load_automations
from schemas.records import (
    Override,
    OverrideDecision,
    Problem,
    ReprocessRequest,
    Severity,
    Status,
    UploadRef,
)
from schemas.settings import Settings

CAT = load_catalogue()
HS = load_hierarchies()
Q1 = Period.parse("2025-Q1")
HANOI = HS.for_date(Q1.reference_date).scope("01")
COMMUNE = HANOI.unit("00004")
AT = datetime(2025, 4, 2, tzinfo=UTC)
ACCEPT = Override(decision=OverrideDecision.ACCEPT_WITH_WARNINGS, by="Lan", reason="đúng", at=AT)
REJECT = Override(decision=OverrideDecision.REJECT, by="Minh", reason="sai", at=AT)


def _problem(rule: str, severity: Severity = Severity.ERROR) -> Problem:
    return Problem(severity=severity, rule=rule, message_vi=rule, message_en=rule)


# -- the override policy ---------------------------------------------------------------


def test_only_cross_field_rule_errors_may_be_accepted_by_a_steward() -> None:
    allowed = load_policy().accept_with_warnings.overridable_rules
    cross_field = {r.id for r in load_rules().rules if r.kind in {"compare", "declared_totals"}}
    errors = {r.id for r in load_rules().rules if r.severity is Severity.ERROR}
    assert allowed == cross_field & errors
    assert (
        blocking_errors(OverrideDecision.ACCEPT_WITH_WARNINGS, [_problem("resolved_le_received")])
        == []
    )
    structural = _problem("unit_known")
    assert blocking_errors(
        OverrideDecision.ACCEPT_WITH_WARNINGS,
        [
            _problem("resolved_le_received"),
            structural,
            _problem("value_far_from_history", Severity.WARNING),
        ],
    ) == [structural]


def test_a_rejection_may_overrule_anything() -> None:
    assert blocking_errors(OverrideDecision.REJECT, [_problem("file_readable")]) == []


# -- selecting what to judge again -----------------------------------------------------


def _ledger(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = {
        "etag": "e",
        "size": 1,
        "uploader": None,
        "status": "accepted",
        "period": "2025-Q1",
        "attempt": 0,
        "archive_key": None,
        "override": None,
        "processed_at": datetime(2025, 6, 30, tzinfo=UTC),
    }
    return pl.DataFrame([base | r for r in rows])


LEDGER = _ledger(
    [
        {"upload_id": "a#1", "key": "incoming/00004/2025-Q1/a.csv", "etag": "1", "unit_code": "00004",
         "received_at": datetime(2025, 3, 1, tzinfo=UTC), "archive_key": "incoming/00004/2025-Q1/a.csv?versionId=v1"},
        {"upload_id": "a#2", "key": "incoming/00004/2025-Q1/a.csv", "etag": "2", "unit_code": "00004",
         "received_at": datetime(2025, 3, 5, tzinfo=UTC)},
        {"upload_id": "b#1", "key": "incoming/00007/2025-Q1/b.csv", "etag": "1", "unit_code": "00007",
         "received_at": datetime(2025, 3, 2, tzinfo=UTC)},
        {"upload_id": "c#1", "key": "incoming/00007/2025-Q2/c.csv", "etag": "1", "unit_code": "00007",
         "period": "2025-Q2", "received_at": datetime(2025, 6, 2, tzinfo=UTC)},
    ]
)  # fmt: skip


def _ids(request: ReprocessRequest) -> list[str]:
    return select_uploads(LEDGER, request)["upload_id"].to_list()


def test_a_key_selects_every_upload_stored_under_it_and_an_override_only_the_latest() -> None:
    key = "incoming/00004/2025-Q1/a.csv"
    assert _ids(ReprocessRequest(upload_keys=[key])) == ["a#1", "a#2"]
    assert _ids(ReprocessRequest(upload_keys=[key], override=REJECT)) == ["a#2"]
    assert _ids(ReprocessRequest(upload_keys=[key], etag="1", override=REJECT)) == ["a#1"]


def test_a_unit_period_or_a_whole_period_selects_its_uploads() -> None:
    assert _ids(ReprocessRequest(unit="00007", period="2025-Q1")) == ["b#1"]
    assert _ids(ReprocessRequest(period="2025-Q1")) == ["a#1", "b#1", "a#2"]
    with pytest.raises(NothingToReprocessError):
        select_uploads(LEDGER, ReprocessRequest(period="2024-Q1"))


def test_a_request_names_exactly_one_kind_of_selection() -> None:
    with pytest.raises(ValidationError):
        ReprocessRequest()
    with pytest.raises(ValidationError):
        ReprocessRequest(upload_keys=["k"], period="2025-Q1")
    with pytest.raises(ValidationError):
        ReprocessRequest(upload_keys=["k", "l"], override=REJECT)


def test_the_recorded_version_is_what_is_judged_again() -> None:
    row = LEDGER.row(0, named=True)
    ref = ref_of(row, "dvkn")
    assert (ref.version_id, ref.upload_id) == ("v1", "incoming/00004/2025-Q1/a.csv#1")
    assert ref_of(LEDGER.row(1, named=True), "dvkn").version_id is None
    assert standing_override(row) is None
    carried = row | {
        "override": "reject",
        "override_by": "Minh",
        "override_reason": "sai",
        "override_at": AT,
    }
    assert standing_override(carried) == REJECT


# -- judging again -----------------------------------------------------------------------


def _judge(content: bytes, attempt: int = 0, override: Override | None = None) -> Upload:
    ref = UploadRef(
        bucket="b",
        key="incoming/00004/2025-Q1/r.csv",
        etag="e",
        last_modified=datetime(2025, 3, 16, tzinfo=UTC),
    )
    return Upload(ref, content, attempt=attempt, reprocess_reason="fix", override=override)


def _run(up: Upload):  # type: ignore[no-untyped-def]
    [j] = judge_uploads([up], catalogue=CAT, hierarchies=HS, settings=Settings())
    return j


def _inconsistent() -> bytes:
    r = generate_report(COMMUNE, Q1, CAT, seed=7)
    return with_value(r, "Y_KIEN_GIAI_QUYET", r.value("Y_KIEN_TIEP_NHAN") + 3).to_csv(CAT)


def test_an_accepted_override_counts_the_figures_and_keeps_the_errors_on_record() -> None:
    plain = _run(_judge(_inconsistent()))
    assert plain.receipt.status is Status.REJECTED and plain.facts is None
    j = _run(_judge(_inconsistent(), attempt=1, override=ACCEPT))
    assert j.receipt.status is Status.ACCEPTED and j.receipt.override_applied is True
    assert j.facts is not None and set(j.facts["submission_id"]) == {j.ledger_row["submission_id"]}
    assert (
        j.ledger_row["submission_id"] == submission_id_of(j.receipt.sha256, 1) != j.receipt.sha256
    )
    assert (j.ledger_row["n_errors"], j.ledger_row["override_by"], j.ledger_row["attempt"]) == (
        1,
        "Lan",
        1,
    )
    assert j.outcome.override is OverrideDecision.ACCEPT_WITH_WARNINGS
    md = render_markdown(j.receipt)
    assert "Lan" in md and "accept_with_warnings" in md and "attempt 1" in md


def test_an_override_cannot_accept_a_file_without_usable_figures() -> None:
    j = _run(_judge(b"not a report at all", override=ACCEPT))
    assert j.receipt.status is Status.REJECTED and j.facts is None
    assert j.receipt.override_applied is False
    assert j.ledger_row["override"] == "accept_with_warnings"


def test_a_rejection_override_takes_a_good_report_out() -> None:
    r = generate_report(COMMUNE, Q1, CAT, seed=7).to_csv(CAT)
    j = _run(_judge(r, attempt=2, override=REJECT))
    assert j.receipt.status is Status.REJECTED and j.facts is None
    assert j.ledger_row["submission_id"] is None and "Minh" in j.receipt.summary_en


def test_facts_of_a_later_attempt_have_their_own_stable_id() -> None:
    sha = "a" * 64
    assert submission_id_of(sha, 0) == sha
    assert submission_id_of(sha, 1) == submission_id_of(sha, 1) != submission_id_of(sha, 2)
    assert len(submission_id_of(sha, 1)) == 64


# -- freshness counts judgements ----------------------------------------------------------


def _rows(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": ["2025-Q1"] * len(rows),
            "upload_id": [u for u, _, _ in rows],
            "unit_code": [c for _, c, _ in rows],
            "attempt": [a for _, _, a in rows],
        }
    )


def test_a_new_attempt_makes_its_unit_stale_and_a_moved_upload_its_old_unit_too() -> None:
    before = _rows([("a", "00004", 0), ("b", "00007", 0)])
    marks = marks_for(upload_counts(before))
    assert stale(upload_counts(before), marks) == {}
    assert stale(upload_counts(_rows([("a", "00004", 1), ("b", "00007", 0)])), marks) == {
        "2025-Q1": {"00004"}
    }
    moved = _rows([("a", "00007", 1), ("b", "00007", 0)])
    assert stale(upload_counts(moved), marks) == {"2025-Q1": {"00004", "00007"}}


# -- deadlines and automations -------------------------------------------------------------


def test_units_missing_shortly_before_the_commune_deadline_are_found() -> None:
    deadline = Q1.deadline("commune")
    today = date.fromordinal(deadline.toordinal() - 2)
    due = [d for d in due_soon(today, 3, ["commune"]) if d.period == Q1]
    assert [(d.level, d.deadline, d.days_left(today)) for d in due] == [("commune", deadline, 2)]
    assert not [d for d in due_soon(today, 1, ["commune"]) if d.period == Q1]
    assert {d.period.ptype.id for d in due_soon(today, 3, ["commune"], ["quarter"])} == {"quarter"}
    communes = [u.code for u in HANOI.units_at("commune")]
    ledger = pl.DataFrame(
        {
            "period": ["2025-Q1"] * 2,
            "unit_code": [communes[0], communes[1]],
            "status": ["accepted", "rejected"],
        }
    )
    found = missing_units(ledger, HANOI, CAT, due[0])
    assert found is not None
    assert found.expected == len(communes) and found.not_accepted == [communes[1]]
    assert found.missing == communes[2:]
    assert f"{len(communes) - 2}/{len(communes)}" in describe(found, today)


def test_every_automation_is_named_for_the_project_and_matches_an_event() -> None:
    specs = load_automations().automations
    assert len({s.name for s in specs}) == len(specs) == 6
    expected = {e for s in specs for e in s.expect}
    assert {"dvkn.report.rejected", "dvkn.units.missing", "prefect.flow-run.Failed"} <= expected
    assert {"dvkn.approval.approved", "dvkn.approval.returned"} <= expected
    assert "dvkn.approval.unapproved" in expected


def test_the_local_notification_target_logs_each_post_as_a_json_line(tmp_path: Path) -> None:
    log = tmp_path / "notifications.log"
    server = make_server(0, log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = json.dumps({"subject": "Báo cáo bị từ chối", "body": "00004"}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{server.server_port}/notify", data=body, method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 204
    finally:
        server.shutdown()
        server.server_close()
    [line] = log.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["subject"] == "Báo cáo bị từ chối"
