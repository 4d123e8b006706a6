"""Recorded MinIO notifications made true against a real S3 store.

A recording (``tests/fixtures/minio/*.json``: bodies MinIO's webhook target
posts) names objects that do not exist. For a rehearsal each announced
object is written the way the record says (PUT, multipart upload, in-place
copy) with a valid report for the unit and period its key names, and the
recording is rewritten to match the store: bucket, ETag, size, version id
(where one was recorded) and event time. The key stays exactly as recorded
(MinIO's query-escaping), which is what the receiver must decode.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from dvkn_pipeline.events.minio import UPLOAD_EVENT_NAMES, uploader_of
from dvkn_pipeline.ops.generator import SyntheticReport, generate_report
from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import HierarchyCatalog
from dvkn_pipeline.reference.keys import parse_incoming_key
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.views.template import report_values, write_template
from schemas.records import UploadRef
from schemas.settings import Settings


class RecordingError(DvknError, ValueError):
    """A recording cannot be made true (no recordings, a key outside the layout)."""


@dataclass(frozen=True)
class StagedUpload:
    """An object a recording announces, as it was really written to the store."""

    key: str
    etag: str
    version_id: str | None
    size: int
    sha256: str
    uploader: str | None
    report: SyntheticReport

    @property
    def upload_id(self) -> str:
        return UploadRef(bucket="-", key=self.key, etag=self.etag).upload_id


@dataclass(frozen=True)
class Delivery:
    """One notification body to POST, and the keys it must be answered with."""

    name: str
    body: dict[str, Any]
    announces: list[str]


def _record_key(record: Mapping[str, Any]) -> str:
    return unquote_plus(str(record["s3"]["object"]["key"]), encoding="utf-8")


def _is_upload(record: Mapping[str, Any], incoming_prefix: str) -> bool:
    return record.get("eventName") in UPLOAD_EVENT_NAMES and _record_key(record).startswith(
        incoming_prefix
    )


def report_for_key(
    key: str, catalogue: Catalogue, hierarchies: HierarchyCatalog, incoming_prefix: str
) -> tuple[SyntheticReport, bytes]:
    """A valid report for the unit and period the key names, in the format its name says."""
    info = parse_incoming_key(key, incoming_prefix)
    if info is None:
        raise RecordingError(f"recorded key {key!r} does not follow incoming/<unit>/<period>/")
    period = Period.parse(info.period_text)
    unit = hierarchies.for_date(period.reference_date).unit(info.unit_code)
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    report = generate_report(unit, period, catalogue, seed=seed)
    if key.lower().endswith(".csv"):
        return report, report.to_csv(catalogue)
    xlsx = write_template(
        unit, period, catalogue, values=report_values(report.rows), version=report.version
    )
    return report, xlsx


def _write(client: Any, bucket: str, key: str, content: bytes, how: str) -> tuple[str, str | None]:
    """Write the object the way the recorded event says it was written; (ETag, version id)."""
    kind = "application/octet-stream"
    if how == "s3:ObjectCreated:CompleteMultipartUpload":
        upload = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=kind)
        part = client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=content
        )
        resp = client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
        return str(resp["ETag"]).strip('"'), resp.get("VersionId")
    if how == "s3:ObjectCreated:Copy":  # a steward copying the object onto itself
        resp = client.copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="REPLACE",
            ContentType=kind,
        )
        return str(resp["CopyObjectResult"]["ETag"]).strip('"'), resp.get("VersionId")
    resp = client.put_object(Bucket=bucket, Key=key, Body=content, ContentType=kind)
    return str(resp["ETag"]).strip('"'), resp.get("VersionId")


def stage_recordings(
    recordings: Path,
    client: Any,
    settings: Settings,
    catalogue: Catalogue,
    hierarchies: HierarchyCatalog,
) -> tuple[list[Delivery], list[StagedUpload]]:
    """Write what each recording announces, and rewrite the recordings to match the store.

    Copies come last (they copy an object another recording wrote). The key
    stays exactly as recorded (MinIO's query-escaping); the bucket, ETag, size,
    version id (where one was recorded) and event time become the real ones.
    """
    bodies = {p.name: json.loads(p.read_text("utf-8")) for p in sorted(recordings.glob("*.json"))}
    if not bodies:
        raise RecordingError(f"no recorded MinIO notifications in {recordings}")

    def has_copy(body: dict[str, Any]) -> bool:
        return any(r.get("eventName") == "s3:ObjectCreated:Copy" for r in body["Records"])

    order = sorted(bodies, key=lambda n: (has_copy(bodies[n]), n))
    contents: dict[str, tuple[SyntheticReport, bytes]] = {}
    written: dict[str, tuple[str, str | None]] = {}
    staged: list[StagedUpload] = []
    deliveries: list[Delivery] = []
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for name in order:
        body = copy.deepcopy(bodies[name])
        announces: list[str] = []
        for record in body["Records"]:
            key = _record_key(record)
            if _is_upload(record, settings.incoming_prefix):
                if key not in contents:
                    contents[key] = report_for_key(
                        key, catalogue, hierarchies, settings.incoming_prefix
                    )
                report, content = contents[key]
                how = record["eventName"]
                if how == "s3:ObjectCreated:Copy" and key not in written:
                    _write(client, settings.bucket, key, content, "s3:ObjectCreated:Put")
                written[key] = _write(client, settings.bucket, key, content, how)
                principal = str(record.get("userIdentity", {}).get("principalId", ""))
                staged.append(
                    StagedUpload(
                        key=key,
                        etag=written[key][0],
                        version_id=written[key][1],
                        size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(),
                        uploader=uploader_of(principal, settings.uploader_unit_pattern),
                        report=report,
                    )
                )
                announces.append(key)
            obj = record["s3"]["object"]
            if key in written:  # uploads, and the tagging of an uploaded object
                obj["eTag"], version = written[key]
                obj["size"] = len(contents[key][1])
                if obj.get("versionId"):
                    obj["versionId"] = version
            record["s3"]["bucket"]["name"] = settings.bucket
            record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{settings.bucket}"
            record["eventTime"] = now  # Prefect keeps (and serves) recent events only
        if body["Records"]:
            body["Key"] = f"{settings.bucket}/{_record_key(body['Records'][0])}"
        deliveries.append(Delivery(name, body, announces))
    return deliveries, staged
