"""The embedded services: real processes on loopback, credentials enforced, idempotent start."""

from __future__ import annotations

import urllib.request

import psutil
import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from dvkn_pipeline import local_stack
from dvkn_pipeline.object_store import make_s3_client
from schemas.settings import Settings

pytestmark = pytest.mark.integration


def test_object_store_refuses_a_wrong_secret(stack_settings: Settings) -> None:
    wrong = stack_settings.model_copy(update={"s3_secret_key": SecretStr("not-the-secret")})
    with pytest.raises(ClientError):
        make_s3_client(wrong, max_attempts=1).list_buckets()
    make_s3_client(stack_settings).list_buckets()


def test_conditional_put_on_an_existing_key_is_refused(fresh_bucket: Settings) -> None:
    s3 = make_s3_client(fresh_bucket)
    s3.put_object(Bucket=fresh_bucket.bucket, Key="k", Body=b"1")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=fresh_bucket.bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert exc.value.response["Error"]["Code"] == "PreconditionFailed"


def test_prefect_server_answers_its_health_check(stack_settings: Settings) -> None:
    with urllib.request.urlopen(
        local_stack.prefect_api_url(stack_settings) + "/health", timeout=5
    ) as r:
        assert r.status == 200


def test_services_are_listed_alive_and_a_second_start_reuses_them(stack_settings: Settings) -> None:
    alive = {s.name: s for s in local_stack.service_status(stack_settings) if s.alive}
    assert {"seaweedfs", "prefect-server"} <= set(alive)
    pid = local_stack.start_service(local_stack.object_store_spec(stack_settings), stack_settings)
    assert pid == alive["seaweedfs"].pid


def test_every_service_listens_on_loopback_only(stack_settings: Settings) -> None:
    for state in local_stack.service_status(stack_settings):
        if not state.alive or state.pid is None:
            continue
        proc = psutil.Process(state.pid)
        for p in [proc, *proc.children(recursive=True)]:
            for conn in p.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    assert conn.laddr.ip in {"127.0.0.1", "::1"}, (state.name, conn.laddr)


def test_a_stopped_service_is_really_gone(stack_settings: Settings) -> None:
    spec = local_stack.ServiceSpec("sleeper", ["sleep", "300"])
    pid = local_stack.start_service(spec, stack_settings)
    assert psutil.pid_exists(pid)
    local_stack.stop_service("sleeper", stack_settings, timeout=5)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "sleeper" not in {s.name for s in local_stack.service_status(stack_settings)}
