"""One real S3 server and one real Prefect server for the whole test session.

Like sqlite-utils' ``fresh_db``: each test that needs storage gets a fresh
bucket on the one server, so tests do not see each other's objects.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvkn_pipeline import local_stack
from schemas.settings import Settings


@pytest.fixture(scope="session")
def stack_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """SeaweedFS and a Prefect server on a free loopback port block, stopped at the end."""
    state: Path = tmp_path_factory.mktemp("dvkn-state")
    settings = Settings(
        base_port=local_stack.find_free_port_block(), state_dir=state, work_pool="dvkn-test"
    )
    saved = dict(os.environ)
    try:
        local_stack.start_object_store(settings)
        local_stack.start_prefect_server(settings)
        os.environ.update(local_stack.prefect_env(settings))
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: local_stack.prefect_api_url(settings)}):
            yield settings
    finally:
        local_stack.down(settings)
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def fresh_bucket(stack_settings: Settings) -> Settings:
    """Settings pointing at a new, empty bucket on the session's S3 server."""
    settings = stack_settings.model_copy(update={"bucket": f"t-{uuid.uuid4().hex[:12]}"})
    local_stack.ensure_bucket(settings)
    return settings
