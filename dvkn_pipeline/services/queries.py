"""Read-only questions about the stored figures, shared by the CLI and (later) the web console.

Each query reads the tables once and hands the frames to a pure view, so the
terminal table, ``--json`` and any page show one computation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.storage.tables import Tables
from dvkn_pipeline.views.approval import basis_text
from dvkn_pipeline.views.summaries import figures as figures_view
from schemas.approval import load_approval_config


def figures(
    tables: Tables,
    hierarchy: Hierarchy,
    p: Period,
    level: str,
    units: list[str] | None,
    root_unit: str,
    as_of: datetime | None = None,
    approved: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The roll-up of ``level`` units of ``p`` with completeness, as stored (or as of a moment).

    ``approved``: the period's roll-up over approved figures only
    (``ApprovalService.approved_rollup``), shown instead of the stored one; the
    payload's ``basis`` says which the figures are.
    """
    payload = figures_view(
        approved if approved is not None else tables.read_rollup(p.code, as_of),
        tables.read_completeness(p.code, as_of),
        hierarchy,
        p,
        level,
        units,
        root_unit,
        as_of,
    )
    basis = basis_text(load_approval_config(), "approved" if approved is not None else "accepted")
    return payload | {
        "basis": {"code": "approved" if approved is not None else "accepted"}
        | basis.model_dump(include={"vi", "en"})
    }
