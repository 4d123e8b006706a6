"""The ``publish-completeness`` flow: a period's heat map as Prefect artifacts, on demand.

Prefect deprecates artifacts created outside a flow or task run, so ``dvkn
chart --publish`` runs this flow; the work is in ``dvkn_pipeline.services.artifacts``.
"""

from __future__ import annotations

from prefect import flow

from dvkn_pipeline.services.artifacts import artifact_key, publish_completeness_artifact
from dvkn_pipeline.services.wiring import build_intake
from schemas.deployments import PUBLISH_COMPLETENESS_FLOW
from schemas.settings import Settings


@flow(name=PUBLISH_COMPLETENESS_FLOW)
def publish_completeness(periods: list[str], bucket: str | None = None) -> dict[str, str]:
    """Publish the completeness heat map of ``periods``; returns the artifact key per period."""
    settings = Settings()
    if bucket:
        settings = settings.model_copy(update={"bucket": bucket})
    charts = publish_completeness_artifact(build_intake(settings), periods)
    return {code: artifact_key(code) for code in charts}
