"""Integration fixtures: the fault tests' fault-free snapshot (the report's hooks:
tests/conftest.py), and the local notification target automations post to."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

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
