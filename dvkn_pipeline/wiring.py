"""Build the pipeline's parts from settings: the one place clients are constructed."""

from __future__ import annotations

from dvkn_pipeline.bucket import Bucket
from dvkn_pipeline.catalogue import load_catalogue
from dvkn_pipeline.delta_tables import Tables
from dvkn_pipeline.hierarchy import load_hierarchies
from dvkn_pipeline.intake import Intake
from dvkn_pipeline.object_store import make_s3_client
from schemas.settings import Settings


def build_intake(settings: Settings) -> Intake:
    catalogue = load_catalogue()
    return Intake(
        bucket=Bucket(make_s3_client(settings), settings.bucket),
        tables=Tables(settings, catalogue),
        catalogue=catalogue,
        hierarchies=load_hierarchies(),
        settings=settings,
    )
