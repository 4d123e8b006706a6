"""Publish a period's completeness heat map to Prefect, where stewards already look.

Used inside a flow or task run (Prefect ties the artifacts to that run): by the
intake flow after a refresh, and by the ``publish-completeness`` flow
(``flows/completeness_artifact.py``) that ``dvkn chart --publish`` runs.
The picture is stored beside the reports
(``reports/completeness/<period>.png`` and ``.html``) and shown in the UI as an
image artifact through a time-limited link; the markdown artifact carries the
same counts as a table, so it reads without the image too.
"""

from __future__ import annotations

from collections.abc import Iterable

from prefect.artifacts import create_image_artifact, create_markdown_artifact

from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.intake import Intake
from dvkn_pipeline.views.chart import CompletenessChart, completeness_chart

CHART_PREFIX = "reports/completeness/"
#: How long the image link in the Prefect UI stays valid (S3's maximum for a presigned URL).
LINK_SECONDS = 7 * 24 * 3600


def artifact_key(period: str) -> str:
    """Prefect artifact keys allow lowercase letters, digits and dashes only."""
    return f"completeness-{period.lower()}"


def publish_completeness_artifact(
    intake: Intake, periods: Iterable[str], *, with_image: bool = True
) -> dict[str, CompletenessChart]:
    """Render, store and publish each period's heat map; returns the charts by period.

    Call it inside a flow or task run (the artifacts then belong to that run),
    after ``intake.refresh(...)``: it reads the ledger afresh.
    """
    out: dict[str, CompletenessChart] = {}
    for code in sorted(set(periods)):
        period = Period.parse(code)
        hierarchy = intake.hierarchies.for_date(period.reference_date).scope(
            intake.settings.root_unit
        )
        chart = completeness_chart(
            intake.tables.read_ledger(code), hierarchy, intake.catalogue, period
        )
        png_key = f"{CHART_PREFIX}{code}.png"
        intake.bucket.put_bytes(png_key, chart.png, "image/png")
        intake.bucket.put_bytes(
            f"{CHART_PREFIX}{code}.html", chart.html.encode("utf-8"), "text/html; charset=utf-8"
        )
        key = artifact_key(code)
        create_markdown_artifact(
            key=key,
            markdown=chart.markdown
            + f"\nChart: `s3://{intake.bucket.name}/{png_key}` (and `.html`)\n",
            description=f"Who has reported for {code}, per {chart.group_level}",
        )
        if with_image:
            url = intake.bucket.presigned_get_url(png_key, LINK_SECONDS)
            create_image_artifact(
                image_url=url, key=f"{key}-chart", description=f"Completeness heat map {code}"
            )
        out[code] = chart
    return out
