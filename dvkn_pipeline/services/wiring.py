"""Build the pipeline's parts from settings: the one place clients and reference data are made.

Every warm worker imports this module for ``build_intake``. The services a
worker never runs (portal, approvals, steward, accounts) are imported inside
their builders: at module level they pulled xlsxwriter, boto3's presigner and
the steward's views into each worker, some 14 MiB resident per process that a
burst's two workers held for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.storage.bucket import Bucket
from dvkn_pipeline.storage.minio_client import make_fast_client
from dvkn_pipeline.storage.s3_client import make_s3_client
from dvkn_pipeline.storage.tables import Tables
from schemas.settings import Settings

if TYPE_CHECKING:
    from dvkn_pipeline.services.approval import ApprovalService
    from dvkn_pipeline.services.portal import Portal
    from dvkn_pipeline.services.ports import EventSink
    from dvkn_pipeline.services.steward import Steward
    from dvkn_pipeline.storage.accounts import StoredAccounts


def build_bucket(settings: Settings) -> Bucket:
    """The report bucket alone (no tables or reference data loaded), for one-shot commands."""
    return Bucket(make_s3_client(settings), settings.bucket, make_fast_client(settings))


def build_intake(settings: Settings) -> Intake:
    catalogue = load_catalogue()
    return Intake(
        bucket=build_bucket(settings),
        tables=Tables(settings, catalogue),
        catalogue=catalogue,
        hierarchies=load_hierarchies(),
        rules=load_rules(),
        settings=settings,
    )


def build_accounts(settings: Settings) -> StoredAccounts:
    """The console's account book on the report bucket (``_state/console/accounts.json``)."""
    from dvkn_pipeline.storage.accounts import StoredAccounts

    return StoredAccounts(build_bucket(settings), settings.state_prefix)


def build_portal(settings: Settings) -> Portal:
    """A commune's portal: the intake's tables and receipts, and a signer for browser uploads."""
    from dvkn_pipeline.services.portal import Portal
    from dvkn_pipeline.storage.presign import PutSigner

    return Portal(build_intake(settings), PutSigner(settings))


def build_approvals(settings: Settings, events: EventSink | None = None) -> ApprovalService:
    """The approval service over the pipeline's tables; its events go to the Prefect server."""
    from dvkn_pipeline.services.approval import ApprovalService

    if events is None:
        from dvkn_pipeline.events.prefect_sink import PrefectPostSink

        # None: the server the caller pointed Prefect at (the CLI's ``use_prefect``).
        events = PrefectPostSink(settings.prefect_api_url)
    catalogue = load_catalogue()
    return ApprovalService(
        tables=Tables(settings, catalogue),
        hierarchies=load_hierarchies(),
        catalogue=catalogue,
        root_unit=settings.root_unit,
        events=events,
    )


def build_steward(settings: Settings, intake: Intake | None = None) -> Steward:
    """The steward's questions (console pages, ``dvkn status --state``, ``dvkn trend``).

    Reuses an intake's tables and bucket when the caller already built one.
    """
    from dvkn_pipeline.services.steward import Steward

    intake = intake or build_intake(settings)
    return Steward.with_contacts(
        intake.tables, intake.bucket, intake.catalogue, intake.hierarchies, settings
    )
