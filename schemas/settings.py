"""One settings object for every environment (laptop, CI, production).

Everything that differs between the embedded default and a MinIO + Postgres
deployment is read here from the environment (prefix ``DVKN_``) or a ``.env``
file, so the same code runs against either by configuration alone. Secrets are
``SecretStr`` so they never print in logs, receipts or artifacts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVKN_", env_file=".env", extra="ignore")

    # Object store (SeaweedFS locally, MinIO in production). Unset: the embedded
    # SeaweedFS of the local port block.
    s3_endpoint_url: str = ""
    s3_access_key: str = "dvkn-local"
    s3_secret_key: SecretStr = SecretStr("dvkn-local-secret")
    s3_region: str = "us-east-1"
    bucket: str = "dvkn"

    # Key layout inside the bucket.
    incoming_prefix: str = "incoming/"
    receipts_prefix: str = "receipts/"
    archive_prefix: str = "archive/"
    tables_prefix: str = "tables/"
    state_prefix: str = "_state/"

    # Which part of the country this installation serves (GSO province code).
    # GSO code of the province or city this installation serves; "VN" for the whole country.
    root_unit: str = "01"

    # Local state: data dirs, pid files and logs of the embedded services.
    state_dir: Path = Path(".dvkn")
    # First of a block of ports the embedded services use (loopback only).
    base_port: int = 21000

    # Prefect.
    prefect_api_url: str | None = None
    work_pool: str = "dvkn-local"
    # Upload events within this window are handled by one flow run (batching).
    batch_window_seconds: float = Field(default=5.0, ge=0)
    # A run keeps draining until no upload has been pending for this long, so a
    # late upload shortly after a burst is picked up without starting a new run.
    drain_idle_seconds: float = Field(default=10.0, ge=0)
    batch_max_files: int = Field(default=1000, ge=1)
    # Uploads are spread over this many shards; concurrent runs lease shards.
    shards: int = Field(default=16, ge=1)
    lease_seconds: int = Field(default=600, ge=10)
    # During a burst, roll-ups are refreshed at most this often (and once at the end).
    refresh_every_seconds: float = Field(default=10.0, ge=0)
    # A refresh touching at most this many units recomputes only their ancestors.
    incremental_max_units: int = Field(default=200, ge=0)
    # Intake runs allowed at once (one per worker is the natural setting).
    intake_concurrency: int = Field(default=1, ge=1)
    # Files parsed concurrently inside one flow run.
    file_concurrency: int = Field(default=8, ge=1)
    sensor_interval_seconds: float = Field(default=2.0, gt=0)
    reconcile_interval_seconds: int = Field(default=300, ge=10)

    # Notifications of the automations (schemas/automations.yaml): "log" posts to the
    # local listener (`dvkn notifications listen`, port base_port + 14) that writes
    # .dvkn/logs/notifications.log; "webhook" posts JSON to notify_webhook_url;
    # "slack" sends to a Slack incoming-webhook URL.
    notify_target: Literal["log", "webhook", "slack"] = "log"
    notify_webhook_url: SecretStr = SecretStr("")
    # The deadline check warns about units still missing this many days before a deadline.
    missing_days_before_deadline: int = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _embedded_endpoint(self) -> Self:
        if not self.s3_endpoint_url:
            self.s3_endpoint_url = f"http://127.0.0.1:{self.base_port + 3}"
        return self

    def notify_log_url(self) -> str:
        return f"http://127.0.0.1:{self.base_port + 14}/notify"

    def storage_options(self) -> dict[str, str]:
        """Options for delta-rs/object_store; conditional puts make commits atomic on S3."""
        return {
            "AWS_ENDPOINT_URL": self.s3_endpoint_url,
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key.get_secret_value(),
            "AWS_REGION": self.s3_region,
            "AWS_ALLOW_HTTP": "true" if self.s3_endpoint_url.startswith("http://") else "false",
            "AWS_S3_ADDRESSING_STYLE": "path",
            "conditional_put": "etag",
        }

    def table_uri(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.tables_prefix}{name}"
