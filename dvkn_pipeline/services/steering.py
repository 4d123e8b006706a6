"""What a steward's reprocess or override applies to, read from the ledger (pure).

A reprocess or override never rewrites a ledger row: it judges an upload again
and appends the upload's next attempt, and every reader takes the newest
attempt (see ``Tables.read_ledger``). An override stays with the upload: a later
reprocess carries it over to the new attempt, so a rule fix does not silently
undo a steward's decision.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dvkn_pipeline.reference.errors import DvknError
from schemas.records import Override, OverrideDecision, ReprocessRequest, UploadRef


class NothingToReprocessError(DvknError, LookupError):
    """No recorded upload matches the request."""


def select_uploads(ledger: pl.DataFrame, request: ReprocessRequest) -> pl.DataFrame:
    """The newest ledger rows of the uploads a request names.

    ``ledger`` holds one row per upload (its newest attempt). With keys, an
    override names one upload: ``etag`` if given, else the key's latest
    upload; a plain reprocess takes every upload stored under the keys.
    """
    if request.upload_keys:
        rows = ledger.filter(pl.col("key").is_in(request.upload_keys))
        if request.etag:
            rows = rows.filter(pl.col("etag") == request.etag.strip('"'))
        elif request.override is not None:
            rows = rows.sort("received_at", "processed_at").tail(1)
    else:
        rows = ledger.filter(pl.col("period") == request.period)
        if request.unit:
            rows = rows.filter(pl.col("unit_code") == request.unit)
    if rows.is_empty():
        raise NothingToReprocessError(
            f"no recorded upload matches {request.model_dump(exclude_none=True)}"
        )
    return rows.sort("received_at", "key")


def ref_of(row: dict[str, Any], bucket: str) -> UploadRef:
    """The upload a ledger row records, pinned to its exact stored version."""
    archive = str(row.get("archive_key") or "")
    version = archive.split("?versionId=", 1)[1] if "?versionId=" in archive else None
    return UploadRef(
        bucket=bucket,
        key=row["key"],
        etag=row["etag"],
        size=row["size"],
        last_modified=row["received_at"],
        uploader=row["uploader"],
        version_id=version,
    )


def standing_override(row: dict[str, Any]) -> Override | None:
    """The steward's decision recorded on an upload's newest attempt, if any."""
    if not row.get("override"):
        return None
    return Override(
        decision=OverrideDecision(row["override"]),
        by=row["override_by"],
        reason=row["override_reason"],
        at=row["override_at"],
    )
