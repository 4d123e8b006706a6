"""Fault tests: the fault-free snapshot they compare with, and the fault report."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tests.integration.faults import REPORT, FaultLine, clean_snapshot, own_stack


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Roll-up, completeness and ledger of the fault corpus after one run without faults.

    On a store of its own (S3 only), so tests that need no Prefect server do not wait for one.
    """
    with own_stack(tmp_path_factory.mktemp("clean"), bucket="exactly-once-clean") as settings:
        return clean_snapshot(settings)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, hand this worker's fault lines to the controller, which prints them."""
    output: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["fault_lines"] = [asdict(line) for line in REPORT.lines]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    for line in getattr(node, "workeroutput", {}).get("fault_lines", []):
        REPORT.add(FaultLine(**line))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT.lines:
        return
    terminalreporter.write_sep("=", "fault report")
    terminalreporter.write_line(REPORT.text())
    target = os.environ.get("DVKN_FAULT_REPORT")
    if target:
        REPORT.write(Path(target))
        terminalreporter.write_line(f"written to {target}")
