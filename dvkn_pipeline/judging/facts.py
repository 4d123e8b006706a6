"""Turn an accepted report into rows of the long fact table."""

from __future__ import annotations

import hashlib

import polars as pl

from dvkn_pipeline.judging.validation import ValidatedReport
from dvkn_pipeline.reference.catalogue import Catalogue
from schemas import tables
from schemas.tables import facts_schema


def submission_id(content: bytes) -> str:
    """Content address of a file: the same bytes are the same submission wherever uploaded."""
    return hashlib.sha256(content).hexdigest()


def fact_columns(catalogue: Catalogue) -> list[str]:
    return tables.fact_columns(catalogue.dimension_columns)


def empty_facts(catalogue: Catalogue) -> pl.DataFrame:
    return tables.empty_facts(catalogue.dimension_columns)


def to_facts(
    report: ValidatedReport, sub_id: str, catalogue: Catalogue, *, check: bool = True
) -> pl.DataFrame:
    """Breakdown cells only: declared totals were checked against them and are derivable.

    ``check=False`` leaves the schema check to the caller, who checks a whole
    batch's facts in one pass.
    """
    if report.unit is None or report.period is None:
        raise ValueError("only a validated report with unit and period has facts")
    frame = report.details.select(
        pl.lit(sub_id).alias("submission_id"),
        pl.lit(report.unit.code).alias("unit_code"),
        pl.lit(report.period.code).alias("period"),
        "indicator",
        *catalogue.dimension_columns,
        pl.col("value").cast(pl.Float64),
    )
    return facts_schema(catalogue.dimension_columns).validate(frame) if check else frame
