"""Integration fixtures: the fault tests' fault-free snapshot (the report's hooks:
tests/conftest.py), the local notification target automations post to, and the web
console in a real browser."""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dvkn_pipeline.ops import local_stack
from dvkn_pipeline.ops.notify_sink import make_server
from schemas.settings import Settings
from tests.integration.faults import clean_snapshot, own_stack


@pytest.fixture
def listener(stack_settings: Settings) -> Iterator[queue.Queue[dict[str, Any]]]:
    """The local notification target, on the port the ``log`` target posts to."""
    got: queue.Queue[dict[str, Any]] = queue.Queue()
    server = make_server(stack_settings.base_port + 14, None, got.put)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Roll-up, completeness and ledger of the fault corpus after one run without faults.

    On a store of its own (S3 only), so tests that need no Prefect server do not wait for one.
    """
    with own_stack(tmp_path_factory.mktemp("clean"), bucket="exactly-once-clean") as settings:
        return clean_snapshot(settings)


# -- the web console in a real browser (issue 15) --------------------------------------
# Reusable by every browser test: ``console_stack`` (a fresh bucket with the whole event
# path and the console running), ``console_login`` (accounts), ``console_page`` (a
# Chromium page whose relative URLs go to the console), ``screenshot``.

CHROMIUM = Path("/usr/bin/chromium")
#: Playwright's own browser download is not reachable here: Debian's chromium, headless.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("DVKN_SCREENSHOT_DIR", Path(__file__).parents[2] / "docs" / "screenshots")
)


@dataclass(frozen=True)
class ConsoleStack:
    settings: Settings
    url: str


@pytest.fixture(scope="module")
def console_stack(stack_settings: Settings) -> Iterator[ConsoleStack]:
    """A fresh bucket, the deployments, a worker, the change-feed sensor and the console.

    Uploads from the page take the same path as any other: SeaweedFS's change feed →
    ``dvkn.report.uploaded`` → the triggered deployment on the worker → receipt.
    """
    from dvkn_pipeline.ops import processes
    from dvkn_pipeline.services.orchestration import register
    from schemas.contacts import SAMPLE_PATH

    settings = stack_settings.model_copy(
        update={
            "bucket": f"console-{uuid.uuid4().hex[:8]}",
            "batch_window_seconds": 2.0,
            # The made-up Hanoi contacts: a steward's missing list shows whom to call.
            "contacts_file": SAMPLE_PATH,
        }
    )
    local_stack.ensure_bucket(settings)
    register(settings)
    started: list[str] = []
    try:
        for spec in (local_stack.worker_spec(settings, 0), local_stack.sensor_spec(settings)):
            processes.start_service(spec, settings)
            started.append(spec.name)
        local_stack.start_console(settings)
        started.append("console")
        yield ConsoleStack(settings, settings.console_url())
    finally:
        for name in reversed(started):
            # A worker's unfinished runs end with it, or the next module's intake run
            # waits out their concurrency slot (5 minutes) behind them.
            local_stack.stop(settings, name)


@pytest.fixture(scope="module")
def console_login(console_stack: ConsoleStack) -> Any:
    """``console_login(username, role, scope) -> password``: an account on the console's store."""
    import secrets

    from dvkn_pipeline.reference.hierarchy import load_hierarchies
    from dvkn_pipeline.services.accounts import add_account
    from dvkn_pipeline.services.wiring import build_accounts

    store = build_accounts(console_stack.settings)

    def make(username: str, role: str, scope: str) -> str:
        password = secrets.token_urlsafe(12)
        add_account(
            store,
            load_hierarchies().versions,
            username=username,
            role=role,  # type: ignore[arg-type]
            scope=scope,
            password=password,
            replace=True,
        )
        return password

    return make


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium driven by Playwright; missing Chromium fails (never skips) with the fix."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(apt-get install -y --no-install-recommends chromium; `tests/run` does it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_page(chromium: Any, console_stack: ConsoleStack) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the console: ``page.goto("/login")``."""
    context = chromium.new_context(
        base_url=console_stack.url, accept_downloads=True, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in_page(page: Any, username: str, password: str) -> None:
    """Log in through the form, as a person does; lands on the account's home page."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.inner_text("main")


def screenshot(page: Any, name: str) -> Path:
    """Save the page as ``docs/screenshots/<name>.png`` (``DVKN_SCREENSHOT_DIR`` to move)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
