"""The bucket's MinIO-side setup over MinIO's own SDK: versioning and the upload notification.

Data goes through boto3 (any S3 store); this is what only MinIO has: the
bucket notification that sends uploads under ``incoming/`` to the webhook
target ``DVKN`` (``MINIO_NOTIFY_WEBHOOK_*_DVKN`` on the server, see
``infra/compose.yaml``). ``infra/minio/init.sh`` sets the same with ``mc`` when
the compose stack first starts; ``dvkn infra minio-setup`` checks it, and
repairs it, from any pipeline machine, e.g. after a bucket was recreated by
hand. Idempotent: an existing subscription is kept, others on the bucket are
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from minio import Minio
from minio.commonconfig import ENABLED
from minio.notificationconfig import NotificationConfig, PrefixFilterRule, QueueConfig
from minio.versioningconfig import VersioningConfig

from schemas.settings import Settings

#: The webhook target MinIO posts to (``mc event add ... arn:minio:sqs::DVKN:webhook``).
WEBHOOK_ARN = "arn:minio:sqs::DVKN:webhook"
#: ``mc event add --event put``: every way an object is created (PUT, POST, COPY, multipart).
UPLOAD_EVENTS = ("s3:ObjectCreated:*",)


class BucketAdmin(Protocol):
    """The part of :class:`minio.Minio` this module uses (a recorded fake in unit tests)."""

    def get_bucket_versioning(self, bucket_name: str) -> VersioningConfig: ...
    def set_bucket_versioning(self, bucket_name: str, config: VersioningConfig) -> None: ...
    def get_bucket_notification(self, bucket_name: str) -> NotificationConfig: ...
    def set_bucket_notification(self, bucket_name: str, config: NotificationConfig) -> None: ...


@dataclass(frozen=True)
class SetupReport:
    versioning_was_on: bool
    notification_was_present: bool
    changed: bool


def minio_client(settings: Settings) -> Minio:
    """A MinIO client for the configured endpoint and credentials."""
    url = urlsplit(settings.s3_endpoint_url)
    return Minio(
        url.netloc,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=url.scheme == "https",
        region=settings.s3_region or None,
    )


def upload_subscription(prefix: str, arn: str = WEBHOOK_ARN) -> QueueConfig:
    return QueueConfig(
        queue=arn,
        events=list(UPLOAD_EVENTS),
        config_id="dvkn-uploads",
        prefix_filter_rule=PrefixFilterRule(prefix),
    )


def has_subscription(config: NotificationConfig, prefix: str, arn: str = WEBHOOK_ARN) -> bool:
    """Whether uploads under ``prefix`` already reach ``arn`` (however the rule was written)."""
    for queue in config.queue_config_list:
        rule = queue.prefix_filter_rule
        covers = rule is None or prefix.startswith(rule.value)
        creates = any(e in {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"} for e in queue.events)
        if queue.queue == arn and covers and creates:
            return True
    return False


def with_subscription(
    config: NotificationConfig, prefix: str, arn: str = WEBHOOK_ARN
) -> NotificationConfig:
    """``config`` plus the upload subscription; every other rule kept as it is."""
    return NotificationConfig(
        cloud_func_config_list=list(config.cloud_func_config_list),
        queue_config_list=[*config.queue_config_list, upload_subscription(prefix, arn)],
        topic_config_list=list(config.topic_config_list),
    )


def ensure_bucket_setup(
    client: BucketAdmin, bucket: str, prefix: str, *, apply: bool, arn: str = WEBHOOK_ARN
) -> SetupReport:
    """Check versioning and the upload notification; with ``apply``, set what is missing."""
    versioned = client.get_bucket_versioning(bucket).status == ENABLED
    current = client.get_bucket_notification(bucket)
    subscribed = has_subscription(current, prefix, arn)
    if apply and not versioned:
        client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    if apply and not subscribed:
        client.set_bucket_notification(bucket, with_subscription(current, prefix, arn))
    return SetupReport(
        versioning_was_on=versioned,
        notification_was_present=subscribed,
        changed=apply and not (versioned and subscribed),
    )
