"""Recorded MinIO webhook bodies (tests/fixtures/minio) become the uploads they announce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dvkn_pipeline.events.minio import (
    Notification,
    parse_notification,
    upload_refs,
    uploader_of,
    uploader_unit,
)
from schemas.settings import Settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "minio"
PATTERN = Settings().uploader_unit_pattern


def load(name: str) -> Notification:
    return parse_notification((FIXTURES / name).read_bytes())


def refs(name: str) -> Any:
    return upload_refs(load(name), "incoming/", PATTERN)


def test_a_put_becomes_one_upload_with_version_etag_size_and_unit() -> None:
    [ref] = refs("put.json").uploads
    assert ref.bucket == "dvkn"
    assert ref.key == "incoming/00004/2025-Q1/bao-cao-quy-1.xlsx"
    assert ref.etag == "6b1f0c3f2d7e4f2a9d1c5b8e7a6f3d21"
    assert ref.size == 18734
    assert ref.version_id == "2f7c1e0a-8d4b-4b39-a1e5-0c9d7f6b5a43"
    assert ref.uploader == "00004"
    assert ref.last_modified is not None and ref.last_modified.isoformat().startswith(
        "2025-04-10T02:15:31.421"
    )


def test_query_escaped_vietnamese_key_with_spaces_plus_and_percent_is_decoded() -> None:
    [ref] = refs("put-vietnamese-name.json").uploads
    assert ref.key == "incoming/00070/2025-Q1/Báo cáo quý 1 (bản sửa) 50%+final.csv"
    # The top-level "Key" MinIO adds is the unescaped "<bucket>/<key>": both agree.
    assert load("put-vietnamese-name.json").key == f"dvkn/{ref.key}"


@pytest.mark.parametrize(
    ("fixture", "event_name", "uploader"),
    [
        ("post.json", "s3:ObjectCreated:Post", "00073"),
        ("multipart.json", "s3:ObjectCreated:CompleteMultipartUpload", "001"),
        ("copy.json", "s3:ObjectCreated:Copy", "steward-hanoi"),
        ("put.json", "s3:ObjectCreated:Put", "00004"),
    ],
)
def test_every_object_created_variant_with_new_content_is_an_upload(
    fixture: str, event_name: str, uploader: str
) -> None:
    assert load(fixture).records[0].event_name == event_name
    [ref] = refs(fixture).uploads
    assert ref.uploader == uploader


def test_multipart_etag_keeps_its_part_count() -> None:
    [ref] = refs("multipart.json").uploads
    assert ref.etag.endswith("-5") and ref.size == 26214400


def test_unversioned_bucket_gives_no_version_id() -> None:
    [ref] = refs("unversioned.json").uploads
    assert ref.version_id is None and ref.key == "incoming/00001/2025-M03/bc.csv"


def test_several_records_keep_only_uploads_under_incoming_in_order() -> None:
    parsed = refs("mixed-records.json")
    assert [r.key for r in parsed.uploads] == [
        "incoming/00004/2025-Q2/bao cao.xlsx",
        "incoming/00007/2025-Q2/Phường Giảng Võ.xlsx",
    ]
    assert sorted((i.reason, i.event_name) for i in parsed.ignored) == [
        ("not an upload", "s3:ObjectCreated:PutTagging"),
        ("not an upload", "s3:ObjectRemoved:Delete"),
        ("outside incoming", "s3:ObjectCreated:Put"),
    ]


def test_a_key_that_is_not_utf8_is_ignored_not_fatal() -> None:
    body = json.loads((FIXTURES / "put.json").read_text())
    body["Records"][0]["s3"]["object"]["key"] = "incoming%2F00004%2Fx%FF.csv"
    parsed = upload_refs(Notification.model_validate(body), "incoming/", PATTERN)
    assert parsed.uploads == [] and parsed.ignored[0].reason == "key is not UTF-8"


def test_a_body_that_is_not_a_notification_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_notification(b'{"Records": [{"eventName": "s3:ObjectCreated:Put"}]}')
    with pytest.raises(ValidationError):
        parse_notification(b"not json")


@pytest.mark.parametrize(
    ("principal", "unit"),
    [
        ("commune-00004", "00004"),
        ("district-001", "001"),
        ("province-01", "01"),
        ("commune-0004", "0004"),
        ("steward-hanoi", None),
        ("commune-00004-extra", None),
        ("xcommune-00004", None),
        ("dvkn-pipeline", None),
    ],
)
def test_principal_names_map_to_units_by_the_configured_pattern(
    principal: str, unit: str | None
) -> None:
    assert uploader_unit(principal, PATTERN) == unit


def test_an_unmapped_principal_is_kept_and_an_empty_one_is_none() -> None:
    assert uploader_of("steward-hanoi", PATTERN) == "steward-hanoi"
    assert uploader_of("", PATTERN) is None


def test_the_mapping_convention_is_a_setting() -> None:
    settings = Settings(uploader_unit_pattern=r"^u(?P<unit>\d+)$")
    assert uploader_unit("u00004", settings.uploader_unit_pattern) == "00004"
    assert uploader_unit("commune-00004", settings.uploader_unit_pattern) is None
    with pytest.raises(ValidationError):
        Settings(uploader_unit_pattern=r"^commune-(\d+)$")
