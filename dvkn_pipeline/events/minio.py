"""MinIO bucket notifications turned into the uploads they announce. Pure.

MinIO's webhook target POSTs ``{"EventName", "Key", "Records": [...]}`` with
S3-compatible records (one per request in practice; any number is accepted).
Quirks this module handles, as MinIO's ``ToEvent`` produces them:

* ``s3.object.key`` is Go's ``url.QueryEscape`` of the object name: a space
  is ``+``, ``/`` is ``%2F`` and Vietnamese letters are UTF-8 ``%xx``; so it
  is decoded with ``unquote_plus`` (a literal ``+`` arrives as ``%2B``).
* ``userIdentity.principalId`` is the access key that wrote the object, or
  the parent user of a service account, so a commune's service accounts
  still name the commune.
* ``eTag`` comes without quotes; multipart uploads end in ``-<parts>``.

Only object creation with new content announces an upload (``Put``,
``Post``, ``Copy``, ``CompleteMultipartUpload``); tagging, retention, legal
hold and every removal are ignored, as is any key outside ``incoming/``.

Uploader identity convention: a unit's MinIO user is ``<level>-<unit code>``
(``commune-00004``); ``Settings.uploader_unit_pattern`` (a regular expression
with a group ``unit``) maps the principal back to the unit code. A principal
that does not match (a steward, the pipeline's own account) is passed on
unchanged, and validation then checks the file's unit against its key only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import UploadRef

#: Event names that mean "new bytes under this key" (MinIO sends these for ``--event put``).
UPLOAD_EVENT_NAMES = frozenset(
    {
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
    }
)


class _Lenient(BaseModel):
    # MinIO adds fields over time (x-amz-id-2, deployment id...): keep what we need.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Identity(_Lenient):
    principal_id: str = Field(default="", alias="principalId")


class S3Bucket(_Lenient):
    name: str


class S3Object(_Lenient):
    key: str
    size: int | None = None
    etag: str = Field(default="", alias="eTag")
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str = ""


class S3Entity(_Lenient):
    bucket: S3Bucket
    object: S3Object


class Record(_Lenient):
    event_name: str = Field(alias="eventName")
    event_time: datetime | None = Field(default=None, alias="eventTime")
    user_identity: Identity = Field(default_factory=Identity, alias="userIdentity")
    s3: S3Entity


class Notification(_Lenient):
    """The body MinIO posts to a webhook target."""

    event_name: str | None = Field(default=None, alias="EventName")
    key: str | None = Field(default=None, alias="Key")
    records: list[Record] = Field(default_factory=list, alias="Records")


def object_key(record: Record) -> str:
    """The object name as stored: MinIO sends it query-escaped."""
    return unquote_plus(record.s3.object.key, encoding="utf-8", errors="strict")


def uploader_unit(principal: str, pattern: str) -> str | None:
    """The unit code a MinIO user stands for, or None when the name follows no unit convention."""
    match = re.fullmatch(pattern, principal)
    return match.group("unit") if match else None


def uploader_of(principal: str, pattern: str) -> str | None:
    """What ``UploadRef.uploader`` carries: the unit code, else the principal, else nothing."""
    if not principal:
        return None
    return uploader_unit(principal, pattern) or principal


@dataclass(frozen=True)
class Ignored:
    """A record that announced no upload, and why (for the receiver's log and reply)."""

    reason: str
    event_name: str
    key: str


@dataclass
class Parsed:
    uploads: list[UploadRef] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


def upload_refs(notification: Notification, incoming_prefix: str, uploader_pattern: str) -> Parsed:
    """The uploads a notification announces, in record order, and what was dropped."""
    out = Parsed()
    for record in notification.records:
        raw_key = record.s3.object.key
        if record.event_name not in UPLOAD_EVENT_NAMES:
            out.ignored.append(Ignored("not an upload", record.event_name, raw_key))
            continue
        try:
            key = object_key(record)
        except UnicodeDecodeError:
            # MinIO names are UTF-8, so this is not MinIO; the sweep still sees a real object.
            out.ignored.append(Ignored("key is not UTF-8", record.event_name, raw_key))
            continue
        if not key.startswith(incoming_prefix) or key.endswith("/"):
            out.ignored.append(Ignored("outside incoming", record.event_name, key))
            continue
        obj = record.s3.object
        out.uploads.append(
            UploadRef(
                bucket=record.s3.bucket.name,
                key=key,
                etag=obj.etag.strip('"'),
                size=obj.size,
                last_modified=record.event_time,
                uploader=uploader_of(record.user_identity.principal_id, uploader_pattern),
                version_id=obj.version_id or None,
            )
        )
    return out


def parse_notification(body: bytes | str) -> Notification:
    """Validate a webhook body (raises ``pydantic.ValidationError`` on anything malformed)."""
    return Notification.model_validate_json(body)
