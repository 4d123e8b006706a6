"""The embedded services: real processes on loopback, credentials enforced, idempotent start."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore
import psutil
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import SecretStr

from dvkn_pipeline.ops import local_env, local_stack, processes
from dvkn_pipeline.ops.resources import project_root
from dvkn_pipeline.storage.s3_client import make_s3_client
from schemas.settings import Settings

pytestmark = pytest.mark.integration


def _error_code(call: object) -> str:
    assert callable(call)
    with pytest.raises(ClientError) as exc:
        call()
    return str(exc.value.response["Error"]["Code"])


def _gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def _listening(pid: int) -> set[tuple[str, int]]:
    proc = psutil.Process(pid)
    return {
        (c.laddr.ip, c.laddr.port)
        for p in [proc, *proc.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


def test_object_store_accepts_only_the_configured_key_pair(stack_settings: Settings) -> None:
    wrong_secret = stack_settings.model_copy(update={"s3_secret_key": SecretStr("not-it")})
    wrong_key = stack_settings.model_copy(update={"s3_access_key": "someone-else"})
    anonymous = boto3.client(
        "s3",
        endpoint_url=stack_settings.s3_endpoint_url,
        region_name=stack_settings.s3_region,
        config=Config(signature_version=botocore.UNSIGNED, s3={"addressing_style": "path"}),
    )
    assert _error_code(make_s3_client(wrong_secret, max_attempts=1).list_buckets) == (
        "SignatureDoesNotMatch"
    )
    assert _error_code(make_s3_client(wrong_key, max_attempts=1).list_buckets) == (
        "InvalidAccessKeyId"
    )
    assert _error_code(anonymous.list_buckets) == "AccessDenied"
    names = {b["Name"] for b in make_s3_client(stack_settings).list_buckets()["Buckets"]}
    assert stack_settings.bucket in names


def test_conditional_put_on_an_existing_key_is_refused(fresh_bucket: Settings) -> None:
    s3 = make_s3_client(fresh_bucket)
    s3.put_object(Bucket=fresh_bucket.bucket, Key="k", Body=b"1")
    code = _error_code(
        lambda: s3.put_object(Bucket=fresh_bucket.bucket, Key="k", Body=b"2", IfNoneMatch="*")
    )
    assert code == "PreconditionFailed"
    assert s3.get_object(Bucket=fresh_bucket.bucket, Key="k")["Body"].read() == b"1"


def test_prefect_server_answers_its_health_check(stack_settings: Settings) -> None:
    url = local_env.prefect_api_url(stack_settings)
    assert url == f"http://127.0.0.1:{stack_settings.base_port + 10}/api"
    with urllib.request.urlopen(url + "/health", timeout=5) as r:
        assert r.status == 200


def test_services_are_listed_alive_and_a_second_start_reuses_them(stack_settings: Settings) -> None:
    alive = {s.name: s for s in processes.service_status(stack_settings) if s.alive}
    assert {"seaweedfs", "prefect-server"} <= set(alive)
    assert alive["seaweedfs"].log_path.is_file()
    assert local_stack.start_object_store(stack_settings) == alive["seaweedfs"].pid
    assert local_stack.start_prefect_server(stack_settings) == alive["prefect-server"].pid
    # The state directory itself works as well as the settings.
    again = processes.start_service(
        local_stack.object_store_spec(stack_settings), stack_settings.state_dir
    )
    assert again == alive["seaweedfs"].pid


def test_servers_listen_on_loopback_inside_their_port_block(stack_settings: Settings) -> None:
    b = stack_settings.base_port
    block = set(range(b, b + 16)) | set(range(b + 10000, b + 10016))
    pids = {s.name: s.pid for s in processes.service_status(stack_settings)}
    for name in ("seaweedfs", "prefect-server"):
        pid = pids[name]
        assert pid is not None
        listening = _listening(pid)
        assert {ip for ip, _ in listening} <= {"127.0.0.1", "::1"}, (name, listening)
        assert {port for _, port in listening} <= block, (name, listening)
    weed, prefect = pids["seaweedfs"], pids["prefect-server"]
    assert weed is not None and prefect is not None
    assert {p for _, p in _listening(weed)} >= {b, b + 1, b + 2, b + 3, b + 6}
    assert {p for _, p in _listening(prefect)} == {b + 10}


def test_a_worker_inherits_the_settings_and_listens_only_on_loopback(
    stack_settings: Settings,
) -> None:
    settings = stack_settings.model_copy(update={"work_pool": "dvkn-test-local-stack"})
    pid = processes.start_service(local_stack.worker_spec(settings, 9), settings)
    try:
        proc = psutil.Process(pid)
        env = proc.environ()
        assert Path(proc.cwd()) == project_root()
        assert env["DVKN_S3_ENDPOINT_URL"] == settings.s3_endpoint_url
        assert env["DVKN_WORK_POOL"] == "dvkn-test-local-stack"
        assert env["PREFECT_API_URL"] == local_env.prefect_api_url(settings)
        # The run control channel of Prefect's runner takes an OS-chosen port, on loopback.
        assert {ip for ip, _ in _listening(pid)} <= {"127.0.0.1", "::1"}
    finally:
        assert processes.stop_service("worker-9", settings, timeout=10)
    assert _gone(pid)


def test_a_worker_that_dies_is_started_again_and_polls_the_server(
    stack_settings: Settings,
) -> None:
    """A Prefect worker gives up by itself after a long server outage; its supervisor restarts it."""
    settings = stack_settings.model_copy(update={"work_pool": "dvkn-test-supervised"})
    pid = processes.start_service(local_stack.worker_spec(settings, 8), settings)
    try:
        (first,) = psutil.Process(pid).children()
        # The worker itself (warm or Prefect's process worker), polling this pool.
        expected = local_stack.worker_argv(settings, local_stack.worker_name(8))
        assert first.cmdline()[1:] == expected[1:]
        first.kill()
        first.wait(10)
        deadline = time.monotonic() + 60
        while not (children := psutil.Process(pid).children()):
            assert time.monotonic() < deadline, "the worker was not started again"
            time.sleep(0.2)
        assert children[0].pid != first.pid
        ready = local_stack.workers_ready(
            local_env.prefect_api_url(settings),
            settings.work_pool,
            name=local_stack.worker_name(8),
        )
        while not ready():  # a heartbeat newer than the restart
            assert time.monotonic() < deadline, "the restarted worker never polled the server"
            time.sleep(0.5)
        (state,) = [s for s in processes.service_status(settings) if s.name == "worker-8"]
        assert state.alive and state.restarts == 1
    finally:
        assert processes.stop_service("worker-8", settings, timeout=10)
    assert _gone(pid)


def test_a_stopped_service_is_really_gone_with_its_escaped_children(
    stack_settings: Settings,
) -> None:
    # The child leaves the process group, as Prefect's flow-run processes do.
    code = (
        "import subprocess, sys, time\n"
        "c = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "print(c.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    spec = processes.ServiceSpec("sleeper", [sys.executable, "-c", code], settle_seconds=0.5)
    pid = processes.start_service(spec, stack_settings)
    child = psutil.Process(pid).children()[0].pid
    assert processes.stop_service("sleeper", stack_settings, timeout=5)
    assert _gone(pid) and _gone(child)
    assert "sleeper" not in {s.name for s in processes.service_status(stack_settings)}
    assert not processes.stop_service("sleeper", stack_settings)


def test_a_recycled_pid_is_neither_reused_nor_signalled(stack_settings: Settings) -> None:
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        run = local_env.state_dir(stack_settings) / "run"
        (run / "napper.pid").write_text(f"{stranger.pid}\n")
        (state,) = [s for s in processes.service_status(stack_settings) if s.name == "napper"]
        assert not state.alive
        spec = processes.ServiceSpec("napper", ["sleep", "301"])
        pid = processes.start_service(spec, stack_settings)
        assert pid != stranger.pid
        assert processes.stop_service("napper", stack_settings, timeout=5)
        assert stranger.poll() is None  # untouched
    finally:
        stranger.kill()
        stranger.wait()


def test_a_service_that_dies_or_never_gets_ready_reports_its_log(stack_settings: Settings) -> None:
    crash = processes.ServiceSpec(
        "crasher",
        [sys.executable, "-c", "print('boom-7f3a'); raise SystemExit(3)"],
        settle_seconds=5,
    )
    with pytest.raises(processes.StackError, match=r"(?s)status 3.*boom-7f3a"):
        processes.start_service(crash, stack_settings)
    slow = processes.ServiceSpec(
        "slowpoke",
        [sys.executable, "-c", "print('waiting-9c1e', flush=True); import time; time.sleep(300)"],
        ready=lambda: False,
        timeout=1.5,
    )
    with pytest.raises(processes.StackError, match=r"(?s)not ready.*waiting-9c1e"):
        processes.start_service(slow, stack_settings)
    assert {"crasher", "slowpoke"}.isdisjoint(
        s.name for s in processes.service_status(stack_settings)
    )


def test_settings_pass_to_children_unchanged(
    stack_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project_root())  # where children run, .env included
    for name, value in local_env.dvkn_env(stack_settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == stack_settings
    mismatched = stack_settings.model_copy(update={"base_port": stack_settings.base_port + 16})
    with pytest.raises(processes.StackError, match="s3_endpoint_url"):
        local_env.check_settings(mismatched)
    assert local_stack._stop_order(
        ["seaweedfs", "worker-10", "prefect-server", "sensor", "worker-2"]
    ) == [
        "sensor",
        "worker-2",
        "worker-10",
        "prefect-server",
        "seaweedfs",
    ]


def test_the_sensors_minio_store_and_the_intakes_bucket_see_the_same_objects(
    fresh_bucket: Settings,
) -> None:
    """The sensor writes announcements without boto3; an intake run reads them through Bucket."""
    from dvkn_pipeline.services.wiring import build_bucket
    from dvkn_pipeline.storage.announced import announce, announced
    from dvkn_pipeline.storage.minio_client import MinioQueueStore, make_fast_client
    from schemas.records import UploadRef

    light = MinioQueueStore(make_fast_client(fresh_bucket), fresh_bucket.bucket)
    bucket = build_bucket(fresh_bucket)
    assert light.get_json("state/nothing-here.json") is None

    light.put_json("state/cursor.json", {"ts_ns": 17, "tên": "Phường Ba Đình"})
    assert bucket.get_json("state/cursor.json") == {"ts_ns": 17, "tên": "Phường Ba Đình"}

    refs = [
        UploadRef(bucket=fresh_bucket.bucket, key=f"incoming/00004/2025-Q1/v{i}.csv", etag=f"e{i}")
        for i in range(3)
    ]
    key = announce(light, "state/", refs)
    assert announced(bucket, "state/") == {key: refs}

    listed = {r.key: r for r in light.list_uploads("state/")}
    assert {r.key: (r.etag, r.size) for r in bucket.list_uploads("state/")} == {
        k: (r.etag, r.size) for k, r in listed.items()
    }
    assert listed[key].last_modified is not None

    light.delete(key)
    assert bucket.get_json(key) is None
    assert [r.key for r in light.list_uploads("state/")] == ["state/cursor.json"]
