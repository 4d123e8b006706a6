"""One real S3 server and one real Prefect server for the whole test session.

Like sqlite-utils' ``fresh_db``: each test that needs storage gets a fresh
bucket on the one server, so tests do not see each other's objects. Workers and
the sensor are started by the integration tests that need them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from dvkn_pipeline.ops import local_env, local_stack, processes
from schemas.settings import Settings
from tests.integration.faults import REPORT, FaultLine


def _start_stack(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Object store and Prefect server on a free port block; another block if one was taken."""
    error: processes.StackError | None = None
    for _ in range(3):
        settings = local_env.local_settings(
            tmp_path_factory.mktemp("dvkn-state"),
            local_env.find_free_port_block(),
            work_pool="dvkn-test",
        )
        try:
            local_stack.start_object_store(settings)
            local_stack.start_prefect_server(settings)
            return settings
        except processes.StackError as exc:  # a port taken between the check and the start
            error = exc
            local_stack.down(settings)
    assert error is not None
    raise error


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """SeaweedFS and a Prefect server on loopback, this session's env pointing at them."""
    settings = _start_stack(tmp_path_factory)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in (
                local_env.prefect_env(settings) | local_env.dvkn_env(settings)
            ).items():
                mp.setenv(name, value)
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: local_env.prefect_api_url(settings)}):
                yield settings
    finally:
        local_stack.down(settings)


@pytest.fixture
def fresh_bucket(stack_settings: Settings) -> Settings:
    """Settings pointing at a new, empty bucket on the session's S3 server."""
    settings = stack_settings.model_copy(update={"bucket": f"t-{uuid.uuid4().hex[:12]}"})
    local_stack.ensure_bucket(settings)
    return settings


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A second S3 server, alone: for tests that drive the intake in-process and need no
    Prefect server, so they neither wait for one to start nor share its store."""
    settings = local_env.local_settings(
        tmp_path_factory.mktemp("dvkn-s3-only"), local_env.find_free_port_block()
    )
    local_stack.start_object_store(settings)
    try:
        yield settings
    finally:
        local_stack.down(settings)


# -- the fault report (here, not in tests/integration: xdist's controller collects nothing,
# so it loads only this conftest) -------------------------------------------------------


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
