"""infra/compose.yaml rehearsed natively: Prefect on PostgreSQL, 2 workers, the webhook.

One run of ``dvkn infra rehearse`` (the library call behind it): compose's own
commands and environment, a throw-away PostgreSQL cluster, SeaweedFS standing
in for MinIO, recorded MinIO notifications made true and POSTed. PostgreSQL
must be installed: without it this test fails, it does not skip (CI machines
are built like this one).
"""

from __future__ import annotations

import pytest

from dvkn_pipeline.ops import pg_cluster
from dvkn_pipeline.ops.rehearsal import rehearse

pytestmark = pytest.mark.integration

STEPS = {
    "compose.yaml read",
    "object store (SeaweedFS for MinIO), versioned bucket",
    "PostgreSQL",
    "Prefect server on PostgreSQL",
    "access-plan: dvkn infra users",
    "deploy: dvkn deploy",
    "2 workers: warm workers",
    "webhook: dvkn webhook serve",
    "uploads in S3 as the recordings say",
    "MinIO notifications POSTed to the receiver",
    "Prefect events (stored in PostgreSQL)",
    "ledger: every upload judged, by its uploader",
    "receipts beside every upload",
    "roll-ups equal the reports' sums",
    "intake runs: event trigger → worker → Completed",
    "scheduler: reconcile sweep has runs",
}


def test_the_production_topology_runs_end_to_end_on_postgres() -> None:
    try:
        pg_cluster.find_bindir()
    except pg_cluster.PostgresMissingError as exc:
        pytest.fail(f"cannot rehearse Prefect on PostgreSQL: {exc}")

    report = rehearse(workers=2, timeout=180)

    failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed)
    assert report.ok, f"{failed} (logs kept in {report.workdir}/logs)"
    assert {c.name for c in report.checks} == STEPS
    assert not report.kept
    details = {c.name: c.detail for c in report.checks}
    assert (
        "one per upload (resend deduplicated)" in details["Prefect events (stored in PostgreSQL)"]
    )
    assert "started by the trigger" in details["intake runs: event trigger → worker → Completed"]
