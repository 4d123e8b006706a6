"""One settings object for every environment (laptop, CI, production).

Everything that differs between the embedded default and a MinIO + Postgres
deployment is read here from the environment (prefix ``DVKN_``) or a ``.env``
file, so the same code runs against either by configuration alone. Secrets are
``SecretStr`` so they never print in logs, receipts or artifacts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class InputLimits(BaseModel):
    """How much of an uploaded file the parser is willing to look at.

    A commune's report is a few hundred cells in a workbook of some 20 KB;
    the defaults leave two orders of magnitude of room and still refuse a zip
    bomb, a 10⁶-column CSV or a sheet that claims a million rows before any
    of it is held in memory. Set from the environment as
    ``DVKN_LIMITS__MAX_FILE_BYTES`` and so on.
    """

    model_config = ConfigDict(frozen=True)

    #: Size of the uploaded object (checked from the listing's size before download
    #: where the caller allows, else from the bytes).
    max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    #: Rows of one sheet (highest row number used) or lines of a CSV file.
    max_rows: int = Field(default=20_000, ge=1)
    #: Columns of one sheet (highest column used) or fields of one CSV line.
    max_columns: int = Field(default=200, ge=1)
    #: Worksheets of a workbook.
    max_sheets: int = Field(default=50, ge=1)
    #: Cells of the whole file: rows x columns of each sheet's used area (what a
    #: reader allocates), or fields of a CSV file.
    max_cells: int = Field(default=500_000, ge=1)
    #: Wall-clock budget of parsing one file, checked inside every loop.
    max_parse_seconds: float = Field(default=20.0, gt=0)
    #: Bytes of one CSV line (before the CSV reader splits it).
    max_line_bytes: int = Field(default=64 * 1024, ge=1)
    #: Decompressed bytes of all parts of a workbook (zip bomb guard).
    max_uncompressed_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    #: Decompressed / compressed size of one part larger than 1 MiB (zip bomb guard).
    max_compression_ratio: float = Field(default=200.0, gt=1)
    #: Parts (zip members) of a workbook.
    max_zip_entries: int = Field(default=1_000, ge=1)


#: The embedded stack's port map: offsets inside the block that starts at ``base_port``.
#: Every SeaweedFS service also uses its port + ``LOCAL_GRPC_OFFSET`` for gRPC. One
#: table for the stack, the settings' defaults, the notification listener and the rehearsal.
LOCAL_PORTS: dict[str, int] = {
    "master": 0,
    "volume": 1,
    "filer": 2,
    "s3": 3,
    "iceberg": 4,
    "lance": 5,
    "admin": 6,
    "prefect": 10,
    "rehearsal-postgres": 11,
    "rehearsal-webhook": 12,
    "notify": 14,
    "console": 15,
}
LOCAL_PORT_BLOCK = 16
LOCAL_GRPC_OFFSET = 10000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DVKN_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    # Object store (SeaweedFS locally, MinIO in production). Unset: the embedded
    # SeaweedFS of the local port block.
    s3_endpoint_url: str = ""
    s3_access_key: str = "dvkn-local"
    s3_secret_key: SecretStr = SecretStr("dvkn-local-secret")
    s3_region: str = "us-east-1"
    bucket: str = "dvkn"
    # How the clients ride out a store that stops and comes back (a restart, a
    # failover): every request is retried with exponential backoff and jitter,
    # so an outage shorter than the retry budget is a delay, not a failed batch.
    # Attempts per request of the boto3 client (the first one included).
    s3_max_attempts: int = Field(default=10, ge=1)
    # boto3 retry mode: "standard" (backoff with jitter) or "adaptive" (also rate-limits itself).
    s3_retry_mode: Literal["standard", "adaptive"] = "standard"
    s3_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    s3_read_timeout_seconds: float = Field(default=60.0, gt=0)
    # The embedded SeaweedFS's soft memory limit (Go's GOMEMLIMIT), in MiB: below ~350 its
    # garbage collector runs so often that a burst takes longer (see README, Performance).
    embedded_store_memory_mib: int = Field(default=350, ge=64)
    # Delta tables (delta-rs and polars readers): retries per request, and the
    # time after the first attempt when they stop retrying. Their backoff is
    # jittered between 0.5 s and 5 s, so the timeout, not the count, is the budget.
    s3_table_max_retries: int = Field(default=40, ge=0)
    s3_table_retry_timeout_seconds: float = Field(default=120.0, gt=0)

    # Key layout inside the bucket.
    incoming_prefix: str = "incoming/"
    receipts_prefix: str = "receipts/"
    archive_prefix: str = "archive/"
    tables_prefix: str = "tables/"
    # Official exports (`dvkn export`): <exports_prefix><period>/<level>/<file>.
    exports_prefix: str = "exports/"
    state_prefix: str = "_state/"

    # Which part of the country this installation serves (GSO province code).
    # GSO code of the province or city this installation serves; "VN" for the whole country.
    root_unit: str = "01"
    # Whom a steward calls about a unit: a CSV (schemas/contacts.py); none, no contacts shown.
    # schemas/contacts/sample-01.csv is a made-up list for Hanoi (demo, tests).
    contacts_file: Path | None = None

    # Local state: data dirs, pid files and logs of the embedded services.
    state_dir: Path = Path(".dvkn")
    # First of a block of ports the embedded services use (loopback only).
    base_port: int = 21000

    # Prefect.
    prefect_api_url: str | None = None
    # The Prefect UI the console links each upload's judging run to (default: the
    # API URL without its /api, which is where the embedded server serves its UI).
    prefect_ui_url: str | None = None
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
    # A roll-up refresh holds its period this long at most (it takes seconds).
    refresh_lease_seconds: int = Field(default=120, ge=10)
    # During a burst, roll-ups are refreshed at most this often (and once at the end).
    refresh_every_seconds: float = Field(default=10.0, ge=0)
    # While uploads are pending, a refresh may take at most this share of a run's time
    # (a slow full refresh then comes less often than refresh_every_seconds).
    refresh_max_share: float = Field(default=0.1, gt=0, le=1)
    # A refresh touching at most this many units recomputes only their ancestors.
    incremental_max_units: int = Field(default=200, ge=0)
    # Intake runs allowed at once (one per worker is the natural setting).
    intake_concurrency: int = Field(default=1, ge=1)
    # An announcement of at least this many uploads wakes another intake run while
    # fewer than ``intake_concurrency`` drain (a burst spreads over the workers).
    scale_out_uploads: int = Field(default=500, ge=1)
    # How a worker runs a flow run: "warm" in a thread of its own long-lived process
    # (ops/warm_worker.py: no interpreter start and import per run), or "process", a
    # new Python per run (Prefect's process worker). Same work pool, same deployments.
    worker_kind: Literal["warm", "process"] = "warm"
    # Files parsed concurrently inside one flow run.
    file_concurrency: int = Field(default=8, ge=1)
    sensor_interval_seconds: float = Field(default=2.0, gt=0)
    # How the embedded event source learns of uploads: SeaweedFS's change feed (the
    # embedded default: nothing listed, runs read its announcements), or by listing
    # incoming/ ("poll", any S3 store). MinIO in production: "webhook" (no sensor).
    event_source: Literal["seaweedfs-feed", "poll", "webhook"] = "seaweedfs-feed"
    # One Prefect event per upload instead of per batch: only for the naive baseline of
    # bench/burst.py (one flow run per event); Prefect's SQLite stalls on it in a burst.
    event_per_upload: bool = False
    reconcile_interval_seconds: int = Field(default=300, ge=10)

    # What an uploaded file may hold before it is refused unread (see InputLimits).
    limits: InputLimits = Field(default_factory=InputLimits)
    # Webhook receiver for MinIO bucket notifications (production event source).
    # The token is MinIO's ``auth_token`` for the DVKN webhook target; empty
    # means the receiver refuses to start.
    webhook_token: SecretStr = SecretStr("")
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8088, ge=1, le=65535)
    # MinIO posts one record per request; anything much larger is not MinIO.
    webhook_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # How a MinIO user (the event's principalId) names its unit: a regular
    # expression with a group ``unit``. Users are created as ``<level>-<unit code>``
    # (``commune-00004``, ``district-001``, ``province-01``) by ``dvkn infra users``.
    # Whether the event source records each upload's MinIO identity (the webhook
    # does; the polling sensor cannot). When on, intake reads the record and an
    # upload younger than ``uploader_record_grace_seconds`` without one waits.
    uploader_records: bool = False
    uploader_record_grace_seconds: float = Field(default=60.0, ge=0)
    uploader_unit_pattern: str = r"^(?:commune|district|province)-(?P<unit>\d{2,5})$"

    @field_validator("uploader_unit_pattern")
    @classmethod
    def _has_unit_group(cls, value: str) -> str:
        if "unit" not in re.compile(value).groupindex:
            raise ValueError("uploader_unit_pattern needs a named group (?P<unit>...)")
        return value

    # Notifications of the automations (schemas/automations.yaml): "log" posts to the
    # local listener (`dvkn notifications listen`, port ``local_port('notify')``) that writes
    # .dvkn/logs/notifications.log; "webhook" posts JSON to notify_webhook_url;
    # "slack" sends to a Slack incoming-webhook URL.
    notify_target: Literal["log", "webhook", "slack"] = "log"
    notify_webhook_url: SecretStr = SecretStr("")
    # The deadline check warns about units still missing this many days before a deadline.
    missing_days_before_deadline: int = Field(default=3, ge=0)

    # The web console (dvkn_pipeline/console). The session cookie is signed with
    # console_secret_key; unset, the embedded default keeps a random one in the state
    # dir (production: set it, and keep it across restarts or every session ends).
    console_secret_key: SecretStr = SecretStr("")
    console_host: str = "127.0.0.1"
    # 0: the local block's console port (``local_port('console')``).
    console_port: int = Field(default=0, ge=0, le=65535)
    # Where people open the console (the browser's origin): the store's CORS rule allows
    # uploads from it. Empty: http://127.0.0.1:<console port>.
    console_public_url: str = ""
    # Behind TLS (production): the session cookie is sent over HTTPS only.
    console_cookie_secure: bool = False
    console_session_hours: float = Field(default=8.0, gt=0)
    # Login attempts (``limits`` notation) per account name and client, and per client.
    console_login_limit: str = "5/minute"
    console_login_limit_per_client: str = "30/minute"
    # Which periods a commune's page lists: the latest N of each type.
    console_period_types: list[str] = Field(default_factory=lambda: ["quarter"])
    console_periods_shown: int = Field(default=8, ge=1)
    # How long a presigned upload stays valid.
    console_upload_expires_seconds: int = Field(default=900, ge=30)
    # The store's address as the browser reaches it (presigned uploads); empty: the
    # pipeline's own s3_endpoint_url (embedded default: the same loopback address).
    s3_public_url: str = ""

    @model_validator(mode="after")
    def _embedded_endpoint(self) -> Self:
        if not self.s3_endpoint_url:
            self.s3_endpoint_url = f"http://127.0.0.1:{self.local_port('s3')}"
        return self

    def local_port(self, service: str) -> int:
        """The loopback port of an embedded service (see ``LOCAL_PORTS``)."""
        return self.base_port + LOCAL_PORTS[service]

    def console_bind_port(self) -> int:
        return self.console_port or self.local_port("console")

    def console_url(self) -> str:
        """Where a person opens the console (its origin, no trailing slash)."""
        return (self.console_public_url or f"http://127.0.0.1:{self.console_bind_port()}").rstrip(
            "/"
        )

    def notify_log_url(self) -> str:
        return f"http://127.0.0.1:{self.local_port('notify')}/notify"

    def storage_options(self) -> dict[str, str]:
        """Options to open the tables with polars or deltalake as they are (documented for other tools).

        ``pl.read_delta(uri, storage_options=Settings().storage_options())`` and
        ``DeltaTable(uri, storage_options=...)`` both accept this dict: every value
        is a string, and every key is one delta-rs/object_store knows. The retry
        count is left out on purpose: polars reads ``max_retries`` as its own key
        and refuses a string for it, delta-rs refuses anything but strings, so no
        one value suits both. ``retry_timeout`` (with the backoff) is the budget.
        Conditional puts make commits atomic on S3.
        """
        return {
            "AWS_ENDPOINT_URL": self.s3_endpoint_url,
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key.get_secret_value(),
            "AWS_REGION": self.s3_region,
            "AWS_ALLOW_HTTP": "true" if self.s3_endpoint_url.startswith("http://") else "false",
            "AWS_S3_ADDRESSING_STYLE": "path",
            "conditional_put": "etag",
            "retry_timeout": f"{self.s3_table_retry_timeout_seconds:g}s",
            "backoff_config.init_backoff": "500ms",
            "backoff_config.max_backoff": "5s",
            "backoff_config.base": "2",
            "connect_timeout": f"{self.s3_connect_timeout_seconds:g}s",
            "timeout": f"{self.s3_read_timeout_seconds:g}s",
        }

    def delta_options(self) -> dict[str, str]:
        """The pipeline's own delta-rs options: :meth:`storage_options` and the retry count.

        Retry keys are object_store's (``max_retries``, ``retry_timeout``,
        ``backoff_config.*``); connection refused, timeouts and 5xx are retried.
        """
        return self.storage_options() | {"max_retries": str(self.s3_table_max_retries)}

    def scan_options(self) -> dict[str, Any]:
        """Options for polars' own readers (``scan_delta``): its retry keys, typed as it wants.

        polars strips its own keys before it opens the table with delta-rs, so
        ``max_retries`` here is polars' (an int) and the rest are delta-rs's.
        """
        return self.storage_options() | {
            "max_retries": self.s3_table_max_retries,
            "retry_timeout_ms": int(self.s3_table_retry_timeout_seconds * 1000),
            "retry_init_backoff_ms": 500,
            "retry_max_backoff_ms": 5_000,
        }

    def table_uri(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.tables_prefix}{name}"
