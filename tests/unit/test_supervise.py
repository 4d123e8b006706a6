"""The supervisor that keeps workers and the sensor running: delays, restarts, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from dvkn_pipeline.ops.supervise import RestartPolicy, next_delay, read_status, supervised_argv

POLICY = RestartPolicy(first_delay=1.0, max_delay=8.0, healthy_after=60.0)


def test_the_delay_doubles_while_the_child_dies_young_and_is_capped() -> None:
    delays: list[float] = []
    previous = None
    for _ in range(6):
        previous = next_delay(previous, ran_seconds=0.5, policy=POLICY)
        delays.append(previous)
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_a_healthy_run_starts_the_delay_over() -> None:
    assert next_delay(8.0, ran_seconds=59.9, policy=POLICY) == 8.0
    assert next_delay(8.0, ran_seconds=60.0, policy=POLICY) == 1.0


def _wait(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(code: str) -> subprocess.Popen[bytes]:
        argv = supervised_argv("t", tmp_path / "t.json", [sys.executable, "-c", code])
        argv[-4:-4] = ["--first-delay", "0.1", "--max-delay", "0.2"]
        proc = subprocess.Popen(argv, start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_child_that_keeps_exiting_is_started_again_and_counted(
    supervise: Callable[[str], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    proc = supervise("import sys; sys.exit(3)")

    def restarted_thrice() -> bool:
        status = read_status(tmp_path / "t.json")
        return status is not None and status.restarts >= 3

    _wait(restarted_thrice)
    status = read_status(tmp_path / "t.json")
    assert status is not None and status.last_exit_code == 3
    assert status.supervisor_pid == proc.pid
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_a_killed_child_comes_back_and_a_group_stop_takes_both_without_a_restart(
    supervise: Callable[[str], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    proc = supervise("import time; time.sleep(300)")

    def child() -> int | None:
        status = read_status(tmp_path / "t.json")
        return status.child_pid if status is not None else None

    _wait(lambda: child() is not None)
    first = child()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    _wait(lambda: child() not in (None, first))
    second = child()
    assert second is not None and psutil.pid_exists(second)
    status = read_status(tmp_path / "t.json")
    assert status is not None
    assert (status.restarts, status.last_exit_code) == (1, -signal.SIGKILL)

    os.killpg(proc.pid, signal.SIGTERM)  # what `dvkn down` does
    assert proc.wait(timeout=10) == 0
    _wait(lambda: not psutil.pid_exists(second) or psutil.Process(second).status() == "zombie")
    after = read_status(tmp_path / "t.json")
    assert after is not None and after.restarts == 1


def test_a_sigterm_to_the_supervisor_alone_reaches_the_child(
    supervise: Callable[[str], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    proc = supervise("import time; time.sleep(300)")
    _wait(lambda: (s := read_status(tmp_path / "t.json")) is not None and s.child_pid is not None)
    status = read_status(tmp_path / "t.json")
    assert status is not None and status.child_pid is not None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert not psutil.pid_exists(status.child_pid)


def test_no_command_is_an_error() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dvkn_pipeline.ops.supervise", "--name", "x", "--status", "/tmp/x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "no command" in run.stderr
