"""MinIO policies keep each unit in its lane; the user naming maps back to the unit."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from dvkn_pipeline.events.minio import uploader_unit
from dvkn_pipeline.ops.minio_access import (
    PolicyTemplateError,
    apply_script,
    plan,
    render,
    unit_user_name,
)
from dvkn_pipeline.reference.hierarchy import Unit
from schemas.settings import Settings

SETTINGS = Settings(bucket="dvkn")
UNITS = [
    Unit("01", "Thành phố Hà Nội", "province", "thành phố trung ương", None),
    Unit("001", "Quận Ba Đình", "district", "quận", "01"),
    Unit("00004", "Phường Trúc Bạch", "commune", "phường", "001"),
    Unit("00001", "Phường Phúc Xá", "commune", "phường", "001"),
]


def allowed(policy: dict[str, Any], action: str, resource: str, prefix: str | None = None) -> bool:
    """A small IAM evaluator: explicit deny wins, then any allow (conditions on s3:prefix)."""

    def matches(st: dict[str, Any]) -> bool:
        if not any(fnmatch.fnmatchcase(action, a) for a in st["Action"]):
            return False
        if not any(fnmatch.fnmatchcase(resource, r) for r in st["Resource"]):
            return False
        cond = st.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        return cond is None or (
            prefix is not None and any(fnmatch.fnmatchcase(prefix, c) for c in cond)
        )

    statements = policy["Statement"]
    if any(st["Effect"] == "Deny" and matches(st) for st in statements):
        return False
    return any(st["Effect"] == "Allow" and matches(st) for st in statements)


def obj(key: str) -> str:
    return f"arn:aws:s3:::dvkn/{key}"


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    return plan(UNITS, SETTINGS).policies


def test_a_commune_may_only_write_into_its_own_incoming_folder(policies: dict[str, Any]) -> None:
    p = policies["dvkn-unit-00004"]
    assert allowed(p, "s3:PutObject", obj("incoming/00004/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:PutObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:PutObject", obj("incoming/000040/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:PutObject", obj("receipts/00004/2025-Q1/bc.xlsx.receipt.json"))
    assert not allowed(p, "s3:PutObject", obj("tables/facts/part-0.parquet"))


def test_a_commune_cannot_read_or_delete_uploads_even_its_own(policies: dict[str, Any]) -> None:
    p = policies["dvkn-unit-00004"]
    assert not allowed(p, "s3:GetObject", obj("incoming/00004/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:DeleteObject", obj("incoming/00004/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:ListBucket", "arn:aws:s3:::dvkn", prefix="incoming/00004/x")


def test_a_commune_reads_and_lists_only_its_own_receipts(policies: dict[str, Any]) -> None:
    p = policies["dvkn-unit-00004"]
    assert allowed(p, "s3:GetObject", obj("receipts/00004/2025-Q1/bc.xlsx.receipt.json"))
    assert not allowed(p, "s3:GetObject", obj("receipts/00001/2025-Q1/bc.xlsx.receipt.json"))
    assert allowed(p, "s3:ListBucket", "arn:aws:s3:::dvkn", prefix="receipts/00004/2025-Q1/")
    assert not allowed(p, "s3:ListBucket", "arn:aws:s3:::dvkn", prefix="receipts/00001/")


def test_steward_reads_all_reuploads_to_reprocess_and_deletes_nothing(
    policies: dict[str, Any],
) -> None:
    p = policies["dvkn-steward"]
    assert allowed(p, "s3:GetObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert allowed(p, "s3:GetObjectVersion", obj("archive/ab/abc.xlsx"))
    assert allowed(p, "s3:PutObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:PutObject", obj("tables/rollup/x.parquet"))
    assert not allowed(p, "s3:DeleteObject", obj("incoming/00001/2025-Q1/bc.xlsx"))


def test_reader_sees_tables_and_exports_only(policies: dict[str, Any]) -> None:
    p = policies["dvkn-reader"]
    assert allowed(p, "s3:GetObject", obj("tables/rollup/_delta_log/00000.json"))
    assert allowed(p, "s3:GetObject", obj("exports/2025-Q1.xlsx"))
    assert allowed(p, "s3:ListBucket", "arn:aws:s3:::dvkn", prefix="tables/rollup/")
    assert not allowed(p, "s3:GetObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:GetObject", obj("receipts/00001/2025-Q1/bc.xlsx.receipt.json"))
    assert not allowed(p, "s3:PutObject", obj("tables/rollup/x.parquet"))


def test_pipeline_runs_the_bucket_but_never_alters_original_uploads(
    policies: dict[str, Any],
) -> None:
    p = policies["dvkn-pipeline"]
    assert allowed(p, "s3:GetObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert allowed(p, "s3:PutObject", obj("receipts/00001/2025-Q1/bc.xlsx.receipt.json"))
    assert allowed(p, "s3:PutObject", obj("tables/facts/part-0.parquet"))
    assert allowed(p, "s3:DeleteObject", obj("_state/leases/shard-001.json"))
    assert not allowed(p, "s3:PutObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:DeleteObject", obj("incoming/00001/2025-Q1/bc.xlsx"))
    assert not allowed(p, "s3:DeleteObject", obj("archive/ab/abc.xlsx"))


def test_policies_follow_the_configured_bucket_and_prefixes() -> None:
    settings = Settings(bucket="bao-cao", incoming_prefix="nop/")
    p = plan(UNITS, settings).policies["dvkn-unit-00004"]
    assert allowed(p, "s3:PutObject", "arn:aws:s3:::bao-cao/nop/00004/2025-Q1/bc.xlsx")
    assert not allowed(p, "s3:PutObject", obj("incoming/00004/2025-Q1/bc.xlsx"))


def test_every_unit_user_maps_back_to_its_unit_through_the_event_convention() -> None:
    access = plan(UNITS, SETTINGS)
    assert access.unit_users == [
        ("commune-00001", "dvkn-unit-00001"),
        ("commune-00004", "dvkn-unit-00004"),
        ("district-001", "dvkn-unit-001"),
        ("province-01", "dvkn-unit-01"),
    ]
    for unit in UNITS:
        assert uploader_unit(unit_user_name(unit), SETTINGS.uploader_unit_pattern) == unit.code


def test_a_naming_the_pattern_cannot_read_back_is_refused() -> None:
    settings = Settings(uploader_unit_pattern=r"^commune-(?P<unit>\d{5})$")
    with pytest.raises(ValueError, match="would not map back"):
        plan(UNITS, settings)


def test_an_unfilled_placeholder_is_an_error() -> None:
    with pytest.raises(PolicyTemplateError):
        render({"Resource": ["arn:aws:s3:::{{bucket}}/{{nope}}"]}, {"bucket": "dvkn"})


def test_the_script_creates_one_user_per_unit_and_holds_no_secret() -> None:
    access = plan(UNITS, SETTINGS)
    script = apply_script(access)
    for user, policy in access.unit_users:
        assert f"unit_user {user} {policy}\n" in script
    assert SETTINGS.s3_secret_key.get_secret_value() not in script
    assert "policy dvkn-steward" in script and "policy dvkn-pipeline" in script
