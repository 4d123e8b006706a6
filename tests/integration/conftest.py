"""Fault tests: the fault-free snapshot they compare with (the report's hooks: tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.integration.faults import clean_snapshot, own_stack


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Roll-up, completeness and ledger of the fault corpus after one run without faults.

    On a store of its own (S3 only), so tests that need no Prefect server do not wait for one.
    """
    with own_stack(tmp_path_factory.mktemp("clean"), bucket="exactly-once-clean") as settings:
        return clean_snapshot(settings)
