"""A console over in-memory fakes for route tests: accounts, a ledger, a bucket, a signer."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from dvkn_pipeline.console.app import create_app
from dvkn_pipeline.console.context import ConsoleContext, LoginLimiter
from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.services.accounts import add_account
from dvkn_pipeline.services.approval import ApprovalService
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.services.portal import Portal
from dvkn_pipeline.services.steward import Steward
from dvkn_pipeline.storage.accounts import StoredAccounts
from schemas.roles import RoleName
from schemas.settings import Settings
from tests.fakes import MemoryBucket, MemoryTables, RecordedEvents

SECRET = "test-secret-" + "x" * 40
PASSWORD = "mat-khau-1234"
#: Two communes of district 001 (Ba Đình) and one of 002, before the 2025 reform.
COMMUNE, OTHER_COMMUNE, FAR_COMMUNE = "00001", "00004", "00037"


class RecordingSigner:
    """Signs nothing: records what it was asked to sign (the store's checks are integration tests)."""

    def __init__(self) -> None:
        self.signed: list[str] = []

    def presigned_put(self, key: str, size: int, expires_in: int) -> str:
        self.signed.append(key)
        return f"http://store.invalid/dvkn/{key}?size={size}"


def make_console(
    settings: Settings | None = None, login_limit: str = "5/minute"
) -> tuple[TestClient, ConsoleContext, RecordingSigner]:
    settings = settings or Settings(s3_endpoint_url="http://store.invalid")
    catalogue = load_catalogue()
    bucket = MemoryBucket("dvkn")
    tables = MemoryTables(catalogue)
    intake = Intake(
        bucket=bucket,  # type: ignore[arg-type]
        tables=tables,  # type: ignore[arg-type]
        catalogue=catalogue,
        hierarchies=load_hierarchies(),
        rules=load_rules(),
        settings=settings,
    )
    signer = RecordingSigner()
    accounts = StoredAccounts(bucket, settings.state_prefix)
    versions = load_hierarchies().versions
    people: tuple[tuple[str, RoleName, str], ...] = (
        ("xa1", "commune", COMMUNE),
        ("xa4", "commune", OTHER_COMMUNE),
        ("huyen1", "district_steward", "001"),
        ("thanhpho", "city_steward", "01"),
        ("huyen2", "district_steward", "002"),
        ("docgia", "reader", "01"),
    )
    for name, role, scope in people:
        add_account(accounts, versions, username=name, role=role, scope=scope, password=PASSWORD)
    context = ConsoleContext(
        settings=settings,
        accounts=accounts,
        portal=Portal(intake, signer),
        steward=Steward.with_contacts(
            intake.tables, intake.bucket, catalogue, intake.hierarchies, settings
        ),
        login_limiter=LoginLimiter(login_limit, "100/minute"),
        approvals=ApprovalService(
            tables=tables,
            hierarchies=load_hierarchies(),
            catalogue=catalogue,
            root_unit=settings.root_unit,
            events=RecordedEvents(),
        ),
    )
    return TestClient(create_app(context, SECRET)), context, signer


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
