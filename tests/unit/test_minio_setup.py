"""The MinIO bucket setup (versioning, upload notification) as MinIO's SDK sends it.

MinIO cannot run here, so the client is a recorder behind the SDK's own
types; the XML is the SDK's marshalling of what would be sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minio.commonconfig import ENABLED
from minio.notificationconfig import NotificationConfig, PrefixFilterRule, QueueConfig
from minio.versioningconfig import VersioningConfig
from minio.xml import marshal, unmarshal

from dvkn_pipeline.ops.minio_setup import (
    WEBHOOK_ARN,
    ensure_bucket_setup,
    has_subscription,
    minio_client,
)
from schemas.settings import Settings


@dataclass
class Recorder:
    versioning: str | None = None  # a bucket never versioned has no status
    notification: NotificationConfig = field(default_factory=NotificationConfig)
    sent: list[str] = field(default_factory=list)

    def get_bucket_versioning(self, bucket_name: str) -> VersioningConfig:
        return VersioningConfig(self.versioning)

    def set_bucket_versioning(self, bucket_name: str, config: VersioningConfig) -> None:
        self.sent.append("versioning")
        self.versioning = config.status

    def get_bucket_notification(self, bucket_name: str) -> NotificationConfig:
        return self.notification

    def set_bucket_notification(self, bucket_name: str, config: NotificationConfig) -> None:
        self.sent.append("notification")
        # What goes over the wire and what MinIO would read back from it.
        self.notification = unmarshal(NotificationConfig, marshal(config).decode())


def test_a_bare_bucket_gets_versioning_and_the_upload_subscription() -> None:
    admin = Recorder()
    report = ensure_bucket_setup(admin, "dvkn", "incoming/", apply=True)
    assert report.changed and not report.versioning_was_on and not report.notification_was_present
    assert admin.sent == ["versioning", "notification"] and admin.versioning == ENABLED
    (queue,) = admin.notification.queue_config_list
    assert queue.queue == WEBHOOK_ARN and queue.events == ["s3:ObjectCreated:*"]
    assert queue.prefix_filter_rule is not None and queue.prefix_filter_rule.value == "incoming/"


def test_a_check_alone_changes_nothing() -> None:
    admin = Recorder()
    report = ensure_bucket_setup(admin, "dvkn", "incoming/", apply=False)
    assert not report.changed and admin.sent == []


def test_setup_again_sends_nothing_and_keeps_other_subscriptions() -> None:
    other = QueueConfig(
        queue="arn:minio:sqs::AUDIT:webhook",
        events=["s3:ObjectRemoved:*"],
        prefix_filter_rule=PrefixFilterRule("exports/"),
    )
    admin = Recorder(notification=NotificationConfig(queue_config_list=[other]))
    ensure_bucket_setup(admin, "dvkn", "incoming/", apply=True)
    assert [q.queue for q in admin.notification.queue_config_list] == [other.queue, WEBHOOK_ARN]
    admin.sent.clear()
    report = ensure_bucket_setup(admin, "dvkn", "incoming/", apply=True)
    assert not report.changed and admin.sent == []


def test_a_subscription_made_by_mc_on_a_wider_prefix_counts() -> None:
    mc_made = QueueConfig(queue=WEBHOOK_ARN, events=["s3:ObjectCreated:Put"], config_id="x")
    assert has_subscription(NotificationConfig(queue_config_list=[mc_made]), "incoming/")
    elsewhere = QueueConfig(
        queue=WEBHOOK_ARN,
        events=["s3:ObjectCreated:*"],
        prefix_filter_rule=PrefixFilterRule("exports/"),
    )
    assert not has_subscription(NotificationConfig(queue_config_list=[elsewhere]), "incoming/")


def test_the_client_targets_the_configured_endpoint() -> None:
    settings = Settings(s3_endpoint_url="https://minio.example.vn:9000", s3_access_key="k")
    client = minio_client(settings)
    assert client._base_url.host == "minio.example.vn:9000" and client._base_url.is_https
