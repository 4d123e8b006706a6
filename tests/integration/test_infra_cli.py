"""`dvkn infra rerun` rebuilds a period's completeness from the ledger on the real store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dvkn_pipeline.cli.app import app
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.periods import Period
from schemas.settings import Settings

pytestmark = pytest.mark.integration


def test_rerun_of_a_period_with_no_reports_counts_every_unit_missing(
    fresh_bucket: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVKN_BUCKET", fresh_bucket.bucket)
    result = CliRunner().invoke(app, ["infra", "rerun", "--period", "2025-Q1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    hierarchy = load_hierarchies().for_date(Period.parse("2025-Q1").reference_date).scope("01")
    communes = len(hierarchy.units_at("commune"))
    assert out["completeness"]["levels"]["commune"]["expected"] == communes
    assert out["completeness"]["levels"]["commune"]["missing"] == communes
    assert out["completeness"]["levels"]["commune"]["received"] == 0
