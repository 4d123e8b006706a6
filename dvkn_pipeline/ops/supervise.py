"""Keep one client process running: start it again whenever it exits, until told to stop.

Why this exists: a ``prefect worker`` exits *by design* once its poll loop has
failed a few rounds in a row (Prefect's ``critical_service_loop`` gives up after
``backoff`` rounds of consecutive connection errors, about a minute). Two Prefect
server restarts a few seconds apart were enough to stop the embedded stack's
worker for good, and uploads then waited for a human. In production compose's
``restart: unless-stopped`` (or systemd) brings such a process back; for
``dvkn up`` and the tests this module does the same job, for the workers and the
polling sensor.

Run as ``python -m dvkn_pipeline.ops.supervise --name worker-0 --status FILE -- CMD...``.
The supervisor and its child share one process group (the service's), so
stopping or SIGKILLing the service takes both; a SIGTERM to the supervisor alone
is passed on to the child. Restarts back off exponentially while the child keeps
dying quickly and the count, last exit code and time are kept in ``--status`` (a
JSON file ``dvkn ps`` shows), so a crash loop is visible rather than silent.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType


@dataclass(frozen=True)
class RestartPolicy:
    """How long to wait before starting the child again."""

    first_delay: float = 1.0
    max_delay: float = 30.0
    #: A child that ran at least this long was healthy: the next delay starts from ``first_delay``.
    healthy_after: float = 60.0


def next_delay(previous: float | None, ran_seconds: float, policy: RestartPolicy) -> float:
    """Double the wait while the child keeps dying young; start over after a healthy run."""
    if previous is None or ran_seconds >= policy.healthy_after:
        return policy.first_delay
    return min(previous * 2, policy.max_delay)


@dataclass(frozen=True)
class SupervisorStatus:
    """What ``--status`` holds: read by ``dvkn ps`` and by the tests.

    A dataclass, not a pydantic model: one supervisor runs beside every worker
    and event source, and importing pydantic tripled its memory (32 MiB against
    10), which counted once per supervised process in the burst benchmark.
    """

    name: str
    supervisor_pid: int
    child_pid: int | None = None
    restarts: int = 0
    last_exit_code: int | None = None
    last_exit_at: datetime | None = None
    next_start_in_seconds: float | None = None

    def to_json(self) -> str:
        doc = asdict(self)
        doc["last_exit_at"] = self.last_exit_at.isoformat() if self.last_exit_at else None
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> SupervisorStatus:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("not a status object")
        at = doc.get("last_exit_at")
        return cls(**{**doc, "last_exit_at": datetime.fromisoformat(at) if at else None})


def read_status(path: Path) -> SupervisorStatus | None:
    try:
        return SupervisorStatus.from_json(path.read_text())
    except (OSError, ValueError, TypeError):
        return None


def _write_status(path: Path, status: SupervisorStatus) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(status.to_json())
    os.replace(tmp, path)


def _say(name: str, text: str) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    print(f"--- supervise {name} {stamp}: {text}", flush=True)


class Supervisor:
    """The restart loop; signal handlers only set a flag (and forward), the loop acts on it."""

    #: A group-wide SIGTERM reaches the child directly; forward only if it is still alive then.
    FORWARD_AFTER = 2.0

    def __init__(
        self, name: str, argv: list[str], status_path: Path, policy: RestartPolicy
    ) -> None:
        self.name, self.argv, self.status_path, self.policy = name, argv, status_path, policy
        self.stopping: int | None = None  # the signal that asked us to stop
        self.child: subprocess.Popen[bytes] | None = None
        self.status = SupervisorStatus(name=name, supervisor_pid=os.getpid())

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = signum

    def _stop_child(self) -> None:
        child = self.child
        assert child is not None and self.stopping is not None
        try:  # a group-wide signal has reached the child already; give it a moment
            child.wait(timeout=self.FORWARD_AFTER)
        except subprocess.TimeoutExpired:
            child.send_signal(self.stopping)
            child.wait()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        delay: float | None = None
        while self.stopping is None:
            started = time.monotonic()
            self.child = subprocess.Popen(self.argv)
            self.status = replace(self.status, child_pid=self.child.pid, next_start_in_seconds=None)
            _write_status(self.status_path, self.status)
            while (code := self.child.poll()) is None and self.stopping is None:
                time.sleep(0.2)
            if self.stopping is not None:  # the child's exit, if any, is part of the stop
                self._stop_child()
                return 0
            ran = time.monotonic() - started
            delay = next_delay(delay, ran, self.policy)
            self.status = replace(
                self.status,
                child_pid=None,
                restarts=self.status.restarts + 1,
                last_exit_code=code,
                last_exit_at=datetime.now(UTC),
                next_start_in_seconds=delay,
            )
            _write_status(self.status_path, self.status)
            _say(self.name, f"exited with {code} after {ran:.1f}s; starting again in {delay:g}s")
            wake = time.monotonic() + delay
            while self.stopping is None and time.monotonic() < wake:
                time.sleep(0.2)
        return 0


def supervised_argv(name: str, status_path: Path, argv: list[str]) -> list[str]:
    """``argv`` wrapped so that :func:`main` runs it under a supervisor."""
    return [
        sys.executable,
        "-m",
        "dvkn_pipeline.ops.supervise",
        "--name",
        name,
        "--status",
        str(status_path),
        "--",
        *argv,
    ]


def main(args: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--status", required=True, type=Path)
    parser.add_argument("--first-delay", type=float, default=RestartPolicy.first_delay)
    parser.add_argument("--max-delay", type=float, default=RestartPolicy.max_delay)
    parser.add_argument("--healthy-after", type=float, default=RestartPolicy.healthy_after)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    ns = parser.parse_args(args)
    command = ns.command[1:] if ns.command[:1] == ["--"] else ns.command
    if not command:
        parser.error("no command to supervise (give it after --)")
    policy = RestartPolicy(ns.first_delay, ns.max_delay, ns.healthy_after)
    return Supervisor(ns.name, command, ns.status, policy).run()


if __name__ == "__main__":
    sys.exit(main())
