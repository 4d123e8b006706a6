"""The embedded stack's addresses and environment: ports, URLs, state directory, variables.

All on loopback, on a block of ports starting at ``settings.base_port`` (the
map is ``schemas.settings.LOCAL_PORTS``; gRPC mirrors at +10000):

======  =====================================================================
B+0     SeaweedFS master (gRPC B+10000)
B+1     SeaweedFS volume server (gRPC B+10001)
B+2     SeaweedFS filer (gRPC B+10002)
B+3     S3 API, the only SeaweedFS port the project talks to (gRPC B+10003)
B+4/5   reserved (SeaweedFS Iceberg / Lance catalogues: disabled)
B+6     SeaweedFS admin server, UI off (gRPC B+10006)
B+10    Prefect server: API at /api, UI at /
B+11/12 the rehearsal's PostgreSQL and webhook receiver (``dvkn infra rehearse``)
B+14    local notification listener (``dvkn notifications listen``)
B+15    the web console (``python -m dvkn_pipeline.console``)
======  =====================================================================

``B + 10015`` must stay below 65536.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from dvkn_pipeline.ops.processes import StackError
from schemas.settings import LOCAL_GRPC_OFFSET, LOCAL_PORT_BLOCK, LOCAL_PORTS, Settings

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
#: Variables ``weed mini`` would turn into an extra S3 identity or pre-created buckets.


def state_dir(settings: Settings) -> Path:
    return settings.state_dir.expanduser().resolve()


def s3_endpoint_for(base_port: int) -> str:
    return f"http://127.0.0.1:{base_port + LOCAL_PORTS['s3']}"


def prefect_port(settings: Settings) -> int:
    return settings.base_port + LOCAL_PORTS["prefect"]


def prefect_api_url(settings: Settings) -> str:
    return settings.prefect_api_url or f"http://127.0.0.1:{prefect_port(settings)}/api"


def prefect_ui_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{prefect_port(settings)}"


def local_settings(state_dir: Path | str, base_port: int, **overrides: Any) -> Settings:
    """Settings for the embedded stack on ``base_port``: S3 endpoint and Prefect API derived.

    Explicit values win over ``DVKN_*`` variables and ``.env``; ``overrides`` sets any other field.
    """
    _check_base_port(base_port)
    values: dict[str, Any] = {
        "state_dir": Path(state_dir).expanduser().resolve(),
        "base_port": base_port,
        "s3_endpoint_url": s3_endpoint_for(base_port),
        "prefect_api_url": f"http://127.0.0.1:{base_port + LOCAL_PORTS['prefect']}/api",
    }
    return Settings(**(values | overrides))


def _check_base_port(base_port: int) -> None:
    if base_port < 1024 or base_port + LOCAL_GRPC_OFFSET + LOCAL_PORT_BLOCK > 65536:
        raise StackError(
            f"base_port {base_port}: the block needs ports {base_port}..{base_port + LOCAL_PORT_BLOCK - 1} "
            f"and {base_port + LOCAL_GRPC_OFFSET}..{base_port + LOCAL_GRPC_OFFSET + LOCAL_PORT_BLOCK - 1} (1024..65535)"
        )


def _check_url(what: str, url: str, settings: Settings, service: str, path: str = "") -> None:
    port = settings.base_port + LOCAL_PORTS[service]
    parts = urlsplit(url)
    if parts.hostname not in _LOOPBACK or parts.port != port:
        raise StackError(
            f"{what} is {url!r}, but the embedded stack on base_port {settings.base_port} "
            f"serves it at http://127.0.0.1:{port}{path}; use local_env.local_settings() "
            f"or leave DVKN_{what.upper()} unset so it is derived from the base port"
        )


def check_settings(settings: Settings) -> None:
    """The endpoints in ``settings`` must be the ones the embedded stack serves."""
    _check_base_port(settings.base_port)
    _check_url("s3_endpoint_url", settings.s3_endpoint_url, settings, "s3")
    if settings.prefect_api_url:
        _check_url("prefect_api_url", settings.prefect_api_url, settings, "prefect", "/api")


def prefect_env(settings: Settings) -> dict[str, str]:
    """What a Prefect client process needs to talk to this project's server."""
    return {
        "PREFECT_API_URL": prefect_api_url(settings),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "1",
        "PREFECT_HOME": str(state_dir(settings) / "prefect"),
    }


def _env_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict | set):
        return json.dumps(value, default=str)
    return str(value)


def dvkn_env(settings: Settings) -> dict[str, str]:
    """The settings as DVKN_* variables, so child processes see the very same settings.

    Holds the S3 secret in clear: pass it only as a child's environment, never log it.
    """
    out = {
        f"DVKN_{name.upper()}": _env_value(value)
        for name, value in settings.model_dump().items()
        if value is not None
    }
    out["DVKN_STATE_DIR"] = str(state_dir(settings))
    out["DVKN_PREFECT_API_URL"] = prefect_api_url(settings)
    return out


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def find_free_port_block(size: int = LOCAL_PORT_BLOCK, start: int = 12000, end: int = 55000) -> int:
    """A base port whose ``size`` ports and their gRPC mirrors (+10000) are free on 127.0.0.1.

    Blocks that overlap the kernel's ephemeral range are tried last: an outgoing
    connection could take one of their ports between this check and the start.
    """
    lo, hi = _ephemeral_range()
    bases = list(range(start, min(end, 65536 - LOCAL_GRPC_OFFSET - size), size))
    random.SystemRandom().shuffle(bases)

    def overlaps(base: int) -> bool:
        return any(b <= hi and b + size - 1 >= lo for b in (base, base + LOCAL_GRPC_OFFSET))

    bases.sort(key=overlaps)
    for base in bases:
        if all(
            _port_free(p) and _port_free(p + LOCAL_GRPC_OFFSET) for p in range(base, base + size)
        ):
            return base
    raise StackError("no free block of ports on 127.0.0.1")


def console_secret(settings: Settings) -> str:
    """The key the console signs sessions with: the setting, or one kept in the state dir.

    The embedded default makes a random key once (``<state dir>/console-secret``,
    mode 0600) so sessions survive a restart of the console but not a new
    state directory; production sets ``DVKN_CONSOLE_SECRET_KEY``.
    """
    configured = settings.console_secret_key.get_secret_value()
    if configured:
        return configured
    path = state_dir(settings) / "console-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        os.replace(tmp, path)
    return path.read_text(encoding="utf-8").strip()
