"""Read-only commands talk to the configured Prefect server: no temporary server, no notice."""

import pytest

from dvkn_pipeline.cli.common import quiet_prefect
from dvkn_pipeline.ops import local_env
from schemas.settings import Settings


def test_prefect_is_pointed_at_the_configured_api_before_it_is_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PREFECT_API_URL", "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED"):
        monkeypatch.setenv(name, "")  # recorded, so the test leaves the environment as it found it
        monkeypatch.delenv(name)
    quiet_prefect()
    import os

    assert os.environ["PREFECT_API_URL"] == local_env.prefect_api_url(Settings())
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_an_api_url_already_set_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    for name in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED"):
        monkeypatch.setenv(name, "1")
    quiet_prefect()
    import os

    assert os.environ["PREFECT_API_URL"] == "http://prefect.example:4200/api"
