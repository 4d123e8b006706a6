"""Long CLI work shows a progress bar with done / total (issue 12)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dvkn_pipeline.cli.app import app


def test_generate_shows_a_bar_of_reports_written(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app,
        [
            "generate",
            "--period",
            "2025-Q1",
            "--out",
            str(tmp_path),
            "--unit",
            "00004",
            "--unit",
            "00007",
        ],
    )
    assert out.exit_code == 0, out.output
    assert "tạo tệp / generate" in out.output and "2/2" in out.output
    assert len(list(tmp_path.glob("*.csv"))) == 2
