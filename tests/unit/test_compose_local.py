"""compose.yaml's services as local processes: interpolation and the localizing rules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dvkn_pipeline.ops.compose_local import (
    ComposeError,
    Topology,
    interpolate,
    load_services,
    localize,
)

COMPOSE = Path(__file__).resolve().parents[2] / "infra" / "compose.yaml"
VARIABLES = {
    "DVKN_S3_ACCESS_KEY": "ak",
    "DVKN_S3_SECRET_KEY": "sk",
    "POSTGRES_PASSWORD": "pg-pw",
    "DVKN_WEBHOOK_TOKEN": "tok",
    "MINIO_ROOT_USER": "root",
    "MINIO_ROOT_PASSWORD": "rootpw",
    "WORKERS": "3",
    "CONSOLE_DOMAIN": "console.example.vn",
    "S3_DOMAIN": "s3.example.vn",
    "DVKN_CONSOLE_SECRET_KEY": "k" * 48,
}
TOPO = Topology(
    ports={
        "minio": (9000, 30003),
        "prefect-server": (4200, 30010),
        "postgres": (5432, 30011),
        "webhook": (8088, 30012),
    },
    root=Path("/r"),
)


def test_interpolation_follows_compose() -> None:
    variables = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET}/${UNSET:-d}/${EMPTY:-d}/${EMPTY-d}/$$x", variables) == "v/d/d//$x"
    with pytest.raises(ComposeError, match=r"set it in \.env"):
        interpolate("${UNSET:?set it in .env}", variables)
    with pytest.raises(ComposeError, match="EMPTY"):
        interpolate("${EMPTY:?}", variables)


def test_a_missing_required_variable_names_itself() -> None:
    with pytest.raises(ComposeError, match="POSTGRES_PASSWORD"):
        load_services(COMPOSE, {k: v for k, v in VARIABLES.items() if k != "POSTGRES_PASSWORD"})


def test_the_webhook_listens_on_loopback_at_its_local_port() -> None:
    webhook = load_services(COMPOSE, VARIABLES)["webhook"]
    argv, env = localize(webhook, TOPO)
    assert argv == [
        sys.executable,
        "-m",
        "dvkn_pipeline",
        "webhook",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "30012",
    ]
    assert env["DVKN_WEBHOOK_PORT"] == "30012" and env["DVKN_WEBHOOK_HOST"] == "127.0.0.1"
    assert env["DVKN_S3_ENDPOINT_URL"] == "http://127.0.0.1:30003"
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:30010/api"
    assert env["DVKN_WEBHOOK_TOKEN"] == "tok" and env["DVKN_S3_SECRET_KEY"] == "sk"


def test_replicas_get_their_own_directories_and_volumes_are_shared() -> None:
    services = load_services(COMPOSE, VARIABLES)
    _, first = localize(services["worker"], TOPO, "worker-0")
    _, second = localize(services["worker"], TOPO, "worker-1")
    assert first["DVKN_STATE_DIR"] == "/r/services/worker-0/tmp/dvkn"
    assert second["DVKN_STATE_DIR"] == "/r/services/worker-1/tmp/dvkn"
    assert first["DVKN_INTAKE_CONCURRENCY"] == "3"  # ${WORKERS}
    argv, _ = localize(services["access-plan"], TOPO)
    assert argv[-2:] == ["--out", "/r/volumes/access"]


def test_the_prefect_server_reaches_postgres_by_its_local_port() -> None:
    server = load_services(COMPOSE, VARIABLES)["prefect-server"]
    argv, env = localize(server, TOPO)
    assert argv[2:] == ["prefect", "server", "start", "--host", "127.0.0.1", "--port", "30010"]
    assert env["PREFECT_API_DATABASE_CONNECTION_URL"] == (
        "postgresql+asyncpg://prefect:pg-pw@127.0.0.1:30011/prefect"
    )
    assert env["PREFECT_HOME"] == "/r/volumes/prefect-home"


def test_a_program_that_cannot_run_here_is_refused() -> None:
    minio = load_services(COMPOSE, VARIABLES)["minio"]
    with pytest.raises(ComposeError, match="cannot run here"):
        localize(minio, TOPO)


def test_the_console_is_reached_only_through_tls_with_its_settings() -> None:
    """Caddy proxies to the port the console listens on; the console trusts its HTTPS setup."""
    services = load_services(COMPOSE, VARIABLES)
    console = services["console"]
    env = console.environment
    assert console.command == ["python", "-m", "dvkn_pipeline.console"]
    assert env["DVKN_CONSOLE_COOKIE_SECURE"] == "true"
    assert env["DVKN_CONSOLE_PUBLIC_URL"] == "https://console.example.vn"
    assert env["DVKN_S3_PUBLIC_URL"] == "https://s3.example.vn"
    assert services["minio"].environment["MINIO_API_CORS_ALLOW_ORIGIN"] == (
        "https://console.example.vn"
    )
    caddyfile = (COMPOSE.parent / "Caddyfile").read_text(encoding="utf-8")
    assert f"reverse_proxy console:{env['DVKN_CONSOLE_PORT']}" in caddyfile
    assert "reverse_proxy minio:9000" in caddyfile
