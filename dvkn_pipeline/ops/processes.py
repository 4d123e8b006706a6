"""Detached service processes with pid files and logs: start, reuse, stop, kill, list.

Generic over what runs (the embedded stack, the rehearsal's PostgreSQL, the
notification listener): a :class:`ServiceSpec` says how to run and when it is
ready. Starting is idempotent: a service whose pid file names a live process
that this module started, with the same command line, is reused. A pid file is
trusted only when the process's command line and a marker in its environment
match, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from dvkn_pipeline.ops.resources import project_root
from dvkn_pipeline.ops.supervise import read_status
from dvkn_pipeline.reference.errors import DvknError
from schemas.settings import Settings

MARKER_ENV = "DVKN_LOCAL_SERVICE"


class StackError(DvknError, RuntimeError):
    """A service did not come up (the message carries the tail of its log) or is misconfigured."""


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service. ``ready`` is polled until it returns True (exceptions = not yet)."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = field(default_factory=project_root)
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


def _root(where: Settings | Path | str) -> Path:
    if isinstance(where, Settings):
        return where.state_dir.expanduser().resolve()
    return Path(where).expanduser().resolve()


def _run_dir(root: Path) -> Path:
    return root / "run"


def _pid_file(root: Path, name: str) -> Path:
    return _run_dir(root) / f"{name}.pid"


def _meta_file(root: Path, name: str) -> Path:
    return _run_dir(root) / f"{name}.json"


def supervisor_file(root: Path, name: str) -> Path:
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
    kinds = (
        "weed mini",
        "prefect server start",
        "prefect worker start",
        "flows.sensor",
        "dvkn_pipeline.events.sensor",
    )
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
    supervisor_file(root, name).unlink(missing_ok=True)
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


def service_tree(name: str, where: Settings | Path | str) -> set[int]:
    """The pids of the service and all its descendants (empty when it does not run)."""
    proc = _owned_process(_root(where), name)
    if proc is None:
        return set()
    with contextlib.suppress(psutil.Error):
        return {proc.pid, *(c.pid for c in proc.children(recursive=True))}
    return {proc.pid}


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
        supervisor = read_status(supervisor_file(root, name)) if proc is not None else None
        restarts = supervisor.restarts if supervisor is not None else None
        out.append(ServiceState(name, _read_pid(root, name), proc is not None, log, restarts))
    return out


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)

    return check
