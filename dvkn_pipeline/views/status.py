"""What a data steward asks every period: who has reported, on time or late, and where a figure comes from.

Pure functions over the ledger, facts and roll-up frames, so the CLI, the
chart and the Prefect artifact all print the same records. Timeliness is not
judged here but by :func:`dvkn_pipeline.rollup.spatial.unit_reports`, the function the
stored completeness table is built with, so the two can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from dvkn_pipeline.reference.catalogue import Catalogue
from dvkn_pipeline.reference.errors import DvknError
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.reference.keys import parse_incoming_key
from dvkn_pipeline.reference.levels import LevelError, canonical_level
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.rollup.spatial import completeness, live_submissions, unit_reports
from schemas.catalogue import Aggregation
from schemas.steward import load_steward_text

#: A reporting unit's state in a period, mutually exclusive (the chart's columns), and its
#: words in both languages (``schemas/steward.yaml``). ``correction_rejected``: an accepted
#: version stays live but the unit's latest upload was rejected, which a steward must see
#: (before, status said "accepted late" and 0 rejected).
STATES: tuple[str, ...] = tuple(load_steward_text().states)
STATE_TEXT = {s: t.en for s, t in load_steward_text().states.items()}
STATE_TEXT_VI = {s: t.vi for s, t in load_steward_text().states.items()}
#: States a steward (or the commune) has to act on: counted under "needs attention".
ATTENTION_STATES = ("rejected", "correction_rejected")
#: What ``dvkn status --state`` accepts: a state, or ``attention`` for the states above.
STATE_FILTERS = (*STATES, "attention")
_SECONDS_PER_DAY = 86_400


class StatusError(DvknError, ValueError):
    """A question the period's hierarchy or catalogue cannot answer (unknown unit, level, indicator)."""


def level_name(level: str, hierarchy: Hierarchy) -> str:
    try:
        name = canonical_level(level)
    except LevelError as exc:
        raise StatusError(str(exc)) from exc
    if name not in hierarchy.levels:
        raise StatusError(
            f"level {level!r} does not exist in hierarchy {hierarchy.version_id} "
            f"(levels: {', '.join(hierarchy.levels)})"
        )
    return name


def by_folder(
    ledger: pl.DataFrame, period: Period, incoming_prefix: str = "incoming/"
) -> pl.DataFrame:
    """The uploads sent for ``period``, with ``unit_code`` the unit of the folder they were sent to.

    The file's own claim stays in ``claimed_unit``. Uploads outside the key
    layout keep the unit the file names.
    """
    parsed = [parse_incoming_key(k, incoming_prefix) for k in ledger["key"].to_list()]
    folder_unit = pl.Series("folder_unit", [p.unit_code if p else None for p in parsed], pl.Utf8)
    folder_period = pl.Series(
        "folder_period", [p.period_text if p else None for p in parsed], pl.Utf8
    )
    return (
        ledger.with_columns(folder_unit, folder_period)
        .filter(pl.coalesce("period", "folder_period") == period.code)
        .with_columns(
            pl.col("unit_code").alias("claimed_unit"),
            pl.coalesce("folder_unit", "unit_code").alias("unit_code"),
        )
        .drop("folder_unit", "folder_period")
    )


def unit_states(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    incoming_prefix: str = "incoming/",
) -> pl.DataFrame:
    """One row per reporting unit expected in ``period``: its state, days late and live upload.

    ``days_late`` counts Vietnamese calendar days after the deadline day (0 when
    on time, null without an accepted report), consistent with the ``on_time``
    flag because both compare the first accepted upload with the same instant.
    """
    reports = unit_reports(ledger, hierarchy, catalogue, period)
    in_period = ledger.filter(pl.col("period") == period.code)
    # Rejections count for the folder they were sent to (the uploader), whatever the
    # file claims; a file nobody could read is placed by its folder's period.
    sent = by_folder(ledger, period, incoming_prefix)
    rejected = (
        sent.filter(pl.col("status") == "rejected")
        .group_by("unit_code")
        .agg(pl.len().cast(pl.Int64).alias("n_rejected"))
    )
    # The newest upload that was judged on its own (a duplicate changes nothing): when it
    # was rejected while an older version is accepted, the correction failed.
    latest = (
        sent.filter(pl.col("status") != "duplicate")
        .sort("received_at", "key")
        .group_by("unit_code", maintain_order=True)
        .agg(
            pl.col("status").last().alias("latest_status"),
            pl.col("key").filter(pl.col("status") == "rejected").last().alias("rejected_key"),
            pl.col("receipt_key")
            .filter(pl.col("status") == "rejected")
            .last()
            .alias("rejected_receipt_key"),
        )
    )
    live = live_submissions(in_period, period.code).select(
        "unit_code",
        pl.col("key").alias("live_key"),
        pl.col("report_version").alias("live_version"),
        pl.col("received_at").alias("live_received_at"),
    )
    names = hierarchy.units_frame().select("unit_code", "name", "parent_code")
    late_seconds = (pl.col("first_accepted") - pl.col("deadline")).dt.total_seconds()
    return (
        reports.join(names, on="unit_code", how="left")
        .join(rejected, on="unit_code", how="left")
        .join(live, on="unit_code", how="left")
        .join(latest, on="unit_code", how="left")
        .with_columns(
            pl.col("n_rejected").fill_null(0),
            pl.when(pl.col("first_accepted").is_null())
            .then(None)
            .when(pl.col("on_time"))
            .then(0)
            .otherwise((late_seconds / _SECONDS_PER_DAY).ceil())
            .cast(pl.Int64)
            .alias("days_late"),
            pl.when(pl.col("n_uploads") == 0)
            .then(pl.lit("missing"))
            .when(pl.col("n_accepted") == 0)
            .then(pl.lit("rejected"))
            .when(pl.col("latest_status") == "rejected")
            .then(pl.lit("correction_rejected"))
            .when(pl.col("n_accepted") > 1)
            .then(pl.lit("corrected"))
            .when(pl.col("on_time"))
            .then(pl.lit("on_time"))
            .otherwise(pl.lit("late"))
            .alias("state"),
        )
        .with_columns(pl.when(pl.col("n_accepted") > 0).then(pl.col("on_time")).alias("on_time"))
        .select(
            "unit_code",
            "name",
            "reporter_level",
            "parent_code",
            "state",
            "n_uploads",
            "n_accepted",
            "n_rejected",
            "first_accepted",
            "deadline",
            "on_time",
            "days_late",
            "live_key",
            "live_version",
            "live_received_at",
            "rejected_key",
            "rejected_receipt_key",
        )
        .sort("reporter_level", "unit_code")
    )


def unexpected_uploads(
    ledger: pl.DataFrame, hierarchy: Hierarchy, period: Period, incoming_prefix: str = "incoming/"
) -> pl.DataFrame:
    """Uploads of ``period`` not attributed to a unit of its hierarchy: listed, never counted.

    ``claimed_unit`` is the unit the key names (a file for an unknown unit is
    rejected before the ledger learns its unit, so ``unit_code`` may be empty).
    """
    known = list(hierarchy.units)
    parsed = [parse_incoming_key(k, incoming_prefix) for k in ledger["key"].to_list()]
    folder_period = pl.Series(
        "folder_period", [p.period_text if p else None for p in parsed], dtype=pl.Utf8
    )
    claimed = pl.Series("claimed_unit", [p.unit_code if p else None for p in parsed], dtype=pl.Utf8)
    # A file nobody could read has no period in the ledger: its folder's period places it.
    rows = ledger.with_columns(claimed, folder_period).filter(
        (pl.coalesce("period", "folder_period") == period.code)
        & (pl.col("unit_code").is_null() | ~pl.col("unit_code").is_in(known))
    )
    return rows.select(
        "claimed_unit", "unit_code", "key", "status", "received_at", "receipt_key"
    ).sort("claimed_unit", "received_at", nulls_last=True)


def level_counts(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    level: str,
) -> pl.DataFrame:
    """Completeness of each unit at ``level``, per reporting level below (or at) it.

    The counts are :func:`dvkn_pipeline.rollup.spatial.completeness` itself, so they
    match the stored table; ``pct_accepted`` can never pass 100 because a unit
    counts once and only units of the hierarchy are expected.
    """
    comp = completeness(ledger, hierarchy, catalogue, period)
    names = hierarchy.units_frame().select("unit_code", "name")
    return (
        comp.filter(pl.col("unit_level") == level)
        .join(names, on="unit_code", how="left")
        .with_columns(
            (100.0 * pl.col("accepted") / pl.col("expected")).round(1).alias("pct_accepted")
        )
        .select(
            "unit_code",
            "name",
            "reporter_level",
            "expected",
            "received",
            "accepted",
            "rejected",
            "missing",
            "on_time",
            "late",
            "pct_accepted",
        )
        .sort("unit_code", "reporter_level")
    )


def approved_counts(approvals: pl.DataFrame, hierarchy: Hierarchy) -> pl.DataFrame:
    """Approved reporting units per unit (itself and below) and reporting level.

    Approved means to its level's last step (a unit marked not expected is not
    counted): the figure a steward reads beside ``accepted``.
    """
    approved = approvals.filter(pl.col("complete") & (pl.col("state") != "not_expected")).select(
        "unit_code", pl.col("unit_level").alias("reporter_level")
    )
    closure = hierarchy.closure_frame().select("unit_code", "ancestor_code")
    return (
        approved.join(closure, on="unit_code")
        .group_by("ancestor_code", "reporter_level")
        .agg(pl.len().cast(pl.Int64).alias("approved"))
        .rename({"ancestor_code": "unit_code"})
    )


def state_grid(states: pl.DataFrame, hierarchy: Hierarchy, group_level: str) -> pl.DataFrame:
    """Units at ``group_level`` × state: how many of the reporting units below each are in each state.

    Only reporting units strictly below the group count (a district's own
    report is not one of its communes); states are exclusive, so a row sums
    to the units expected under it.
    """
    closure = hierarchy.closure_frame().filter(
        (pl.col("ancestor_level") == group_level) & (pl.col("depth") > 0)
    )
    counted = (
        states.join(closure.select("unit_code", "ancestor_code"), on="unit_code", how="inner")
        .group_by("ancestor_code")
        .agg([(pl.col("state") == s).sum().cast(pl.Int64).alias(s) for s in STATES])
    )
    groups = pl.DataFrame(
        {
            "unit_code": [u.code for u in hierarchy.units_at(group_level)],
            "name": [u.name for u in hierarchy.units_at(group_level)],
        },
        schema={"unit_code": pl.Utf8, "name": pl.Utf8},
    )
    return (
        groups.join(counted.rename({"ancestor_code": "unit_code"}), on="unit_code", how="left")
        .with_columns(pl.col(s).fill_null(0) for s in STATES)
        .with_columns(pl.sum_horizontal(*STATES).alias("expected"))
        .filter(pl.col("expected") > 0)
        .sort("unit_code")
    )


def default_group_level(hierarchy: Hierarchy) -> str:
    """The level whose units a steward compares: the one above the leaves (districts, or the province after 2025)."""
    return hierarchy.levels[-2] if len(hierarchy.levels) > 1 else hierarchy.levels[0]


def status_report(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    level: str | None = None,
    unit: str | None = None,
    incoming_prefix: str = "incoming/",
    approvals: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The records behind ``dvkn status``: counts per unit at a level, or one line per reporting unit.

    With ``approvals`` (the period's approval board, ``rollup.approval``), each
    count row gains ``approved`` beside ``accepted``, and each unit line its
    approval state.

    At the lowest level every unit gets its own state line; above it, each
    unit's completeness per reporting level. ``unit`` narrows to that unit's
    subtree. Uploads from units not in the hierarchy are listed apart.
    ``level`` defaults to the one above the leaves (districts; the province after 2025).
    """
    level = level_name(level, hierarchy) if level else default_group_level(hierarchy)
    if unit is not None and unit not in hierarchy:
        raise StatusError(f"unit {unit} is not in hierarchy {hierarchy.version_id}")
    in_scope = _subtree_codes(hierarchy, unit)
    reporting_levels = [lvl for lvl in hierarchy.levels if catalogue.reported_by(lvl)]
    payload: dict[str, Any] = {
        "period": period.code,
        "period_vi": period.label_vi,
        "hierarchy_version": hierarchy.version_id,
        "level": level,
        "unit": unit,
        "deadlines": {lvl: period.deadline(lvl).isoformat() for lvl in reporting_levels},
    }
    if level == hierarchy.levels[-1]:
        states = unit_states(ledger, hierarchy, catalogue, period, incoming_prefix).filter(
            (pl.col("reporter_level") == level) & pl.col("unit_code").is_in(in_scope)
        )
        if approvals is not None:
            states = states.join(
                approvals.select("unit_code", pl.col("state").alias("approval")),
                on="unit_code",
                how="left",
            )
        payload["units"] = records(states)
        payload["totals"] = {s: int((states["state"] == s).sum()) for s in STATES} | {
            "expected": states.height,
            "attention": int(states["state"].is_in(ATTENTION_STATES).sum()),
        }
    else:
        counts = level_counts(ledger, hierarchy, catalogue, period, level).filter(
            pl.col("unit_code").is_in(in_scope)
        )
        if approvals is not None:
            counts = counts.join(
                approved_counts(approvals, hierarchy),
                on=["unit_code", "reporter_level"],
                how="left",
            ).with_columns(pl.col("approved").fill_null(0))
        payload["rows"] = records(counts)
    payload["unexpected"] = records(unexpected_uploads(ledger, hierarchy, period, incoming_prefix))
    return payload


def _subtree_codes(hierarchy: Hierarchy, unit: str | None) -> list[str]:
    if unit is None:
        return list(hierarchy.units)
    return [unit, *(u.code for u in hierarchy.descendants(unit))]


def state_text(row: dict[str, Any]) -> str:
    """A unit's state as a steward reads it: "accepted late by 3 days", "missing"."""
    state = row["state"]
    text = STATE_TEXT[state]
    if state in ("late", "corrected", "correction_rejected") and row.get("days_late"):
        days = row["days_late"]
        text = (
            f"accepted late by {days} day{'s' if days != 1 else ''}"
            if state == "late"
            else f"{text}, first accepted {days} day{'s' if days != 1 else ''} late"
        )
    return text


def state_text_both(row: dict[str, Any]) -> str:
    """The state in Vietnamese and English: "đã nhận, bản sửa bị từ chối / accepted, correction rejected"."""
    return f"{STATE_TEXT_VI[row['state']]} / {state_text(row)}"


# -- city-wide lists: which units are missing, late, rejected -----------------------------


@dataclass(frozen=True)
class UnitLine:
    """One reporting unit in a city-wide list, with the district a steward calls."""

    unit_code: str
    name: str
    reporter_level: str
    district_code: str | None
    district_name: str | None
    state: str
    state_text: str
    days_late: int | None
    n_uploads: int
    n_rejected: int
    live_key: str | None
    rejected_key: str | None
    rejected_receipt_key: str | None
    #: The first problem of the latest rejected upload ("vi / en"), when its receipt was read.
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnitList:
    period: str
    period_vi: str
    hierarchy_version: str
    state: str
    district: str | None
    units: tuple[UnitLine, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "period_vi": self.period_vi,
            "hierarchy_version": self.hierarchy_version,
            "state": self.state,
            "district": self.district,
            "count": len(self.units),
            "units": [u.to_json() for u in self.units],
        }


def unit_list(
    ledger: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    state: str,
    district: str | None = None,
    reasons: dict[str, str] | None = None,
) -> UnitList:
    """Every reporting unit in ``state`` (or ``attention``), city-wide or in one district.

    Each line names the unit's district (the level above the leaves) so the
    steward knows whom to call; ``reasons`` maps a receipt key to its first
    problem, read by the caller from the receipts of the rejected uploads.
    """
    if state not in STATE_FILTERS:
        raise StatusError(f"unknown state {state!r} (known: {', '.join(STATE_FILTERS)})")
    if district is not None and district not in hierarchy:
        raise StatusError(f"unit {district} is not in hierarchy {hierarchy.version_id}")
    wanted = ATTENTION_STATES if state == "attention" else (state,)
    group = default_group_level(hierarchy)
    closure = hierarchy.closure_frame().filter(pl.col("ancestor_level") == group)
    groups = closure.select("unit_code", pl.col("ancestor_code").alias("district_code")).join(
        hierarchy.units_frame().select(
            pl.col("unit_code").alias("district_code"), pl.col("name").alias("district_name")
        ),
        on="district_code",
        how="left",
    )
    states = (
        unit_states(ledger, hierarchy, catalogue, period)
        .filter(pl.col("state").is_in(list(wanted)))
        .join(groups, on="unit_code", how="left")
    )
    if district is not None:
        states = states.filter(pl.col("unit_code").is_in(_subtree_codes(hierarchy, district)))
    reasons = reasons or {}
    lines = tuple(
        UnitLine(
            unit_code=r["unit_code"],
            name=r["name"],
            reporter_level=r["reporter_level"],
            district_code=r["district_code"],
            district_name=r["district_name"],
            state=r["state"],
            state_text=state_text_both(r),
            days_late=r["days_late"],
            n_uploads=r["n_uploads"],
            n_rejected=r["n_rejected"],
            live_key=r["live_key"],
            rejected_key=r["rejected_key"],
            rejected_receipt_key=r["rejected_receipt_key"],
            reason=reasons.get(r["rejected_receipt_key"] or ""),
        )
        for r in states.sort("district_code", "unit_code", nulls_last=True).iter_rows(named=True)
    )
    return UnitList(period.code, period.label_vi, hierarchy.version_id, state, district, lines)


# -- submissions: a unit's upload history -------------------------------------------


def submission_history(
    ledger: pl.DataFrame, period: Period, unit: str, incoming_prefix: str = "incoming/"
) -> pl.DataFrame:
    """Every upload sent to ``unit``'s folder for ``period``, oldest first, the live one marked.

    An upload belongs to the folder it was sent to (the uploader), whatever unit
    the file itself names (``claimed_unit``, beside it), so a file in 00008's
    folder that names 00004 is listed under 00008, and a file nobody could read
    (a PDF, no unit, no period in the ledger) is listed too. Which upload is
    live is :func:`dvkn_pipeline.rollup.spatial.live_submissions`' answer.
    """
    mine = by_folder(ledger, period, incoming_prefix).filter(pl.col("unit_code") == unit)
    live = live_submissions(
        mine.filter(pl.col("claimed_unit") == unit).drop("claimed_unit"), period.code
    ).select("key", "received_at", "submission_id", pl.lit(True).alias("live"))
    return (
        mine.join(live, on=["key", "received_at", "submission_id"], how="left", nulls_equal=False)
        .with_columns(
            pl.col("live").fill_null(False),
            pl.col("archive_key").str.extract(r"\?versionId=(.+)$").alias("version_id"),
        )
        .select(
            "key",
            "version_id",
            "etag",
            "received_at",
            "status",
            "claimed_unit",
            "report_version",
            "n_errors",
            "n_warnings",
            "receipt_key",
            "submission_id",
            "flow_run_id",
            "processed_at",
            "live",
        )
        # S3 times have one-second resolution: a correction uploaded in the same
        # second as its original still lists after it.
        .sort("received_at", "report_version", "key")
    )


# -- explain: the lineage of one roll-up figure ---------------------------------------


def explain_figure(
    ledger: pl.DataFrame,
    facts: pl.DataFrame,
    rollup_table: pl.DataFrame,
    hierarchy: Hierarchy,
    catalogue: Catalogue,
    period: Period,
    unit: str,
    indicator: str,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The live submissions behind one roll-up figure, and whether they give the stored value.

    Sums and category counts are re-added; a ratio is re-divided from its
    re-added numerator and denominator. ``filters`` pick breakdown values
    (``{"field": "KT"}``); breakdowns not named are summed over, as the
    roll-up's own total is.
    """
    filters = dict(filters or {})
    if unit not in hierarchy:
        raise StatusError(f"unit {unit} is not in hierarchy {hierarchy.version_id}")
    if indicator not in catalogue.by_code:
        raise StatusError(f"unknown indicator {indicator!r}")
    unknown = sorted(set(filters) - set(catalogue.dimension_columns))
    if unknown:
        raise StatusError(
            f"unknown breakdown(s) {', '.join(unknown)} "
            f"(known: {', '.join(catalogue.dimension_columns)})"
        )
    ind = catalogue.indicator(indicator)
    is_ratio = ind.aggregation is Aggregation.RATIO
    if is_ratio and filters:
        raise StatusError(f"{indicator} is a ratio of totals: it has no breakdowns to filter")
    parts = [ind.numerator, ind.denominator] if is_ratio else [indicator]
    codes = [p for p in parts if p is not None]

    subtree = (
        hierarchy.closure_frame().filter(pl.col("ancestor_code") == unit)["unit_code"].to_list()
    )
    live = live_submissions(ledger, period.code).filter(pl.col("unit_code").is_in(subtree))
    picked = _apply_filters(
        facts.filter(
            pl.col("submission_id").is_in(live["submission_id"].to_list())
            & pl.col("indicator").is_in(codes)
            & (pl.col("period") == period.code)
        ),
        filters,
    )
    per_sub = picked.group_by("submission_id").agg(
        pl.col("value").filter(pl.col("indicator") == c).sum().alias(c) for c in codes
    )
    names = hierarchy.units_frame().select("unit_code", "name")
    contributors = (
        live.join(per_sub, on="submission_id", how="left")
        .join(names, on="unit_code", how="left")
        .select(
            "unit_code",
            "name",
            "key",
            "report_version",
            "received_at",
            "submission_id",
            *codes,
        )
        .sort("unit_code")
    )
    totals = {c: float(contributors[c].fill_null(0).sum()) for c in codes}
    stored_rows = _apply_filters(
        rollup_table.filter((pl.col("unit_code") == unit) & (pl.col("indicator") == indicator)),
        filters,
    )
    payload: dict[str, Any] = {
        "period": period.code,
        "unit_code": unit,
        "unit_name": hierarchy.unit(unit).name,
        "indicator": indicator,
        "name_vi": ind.vi,
        "name_en": ind.en,
        "aggregation": ind.aggregation.value,
        "filters": filters,
        "hierarchy_version": hierarchy.version_id,
        "submissions": records(contributors),
    }
    if is_ratio:
        num, den = totals[codes[0]], totals[codes[1]]
        recomputed = num / den * ind.scale if den > 0 else None
        stored = stored_rows["value"][0] if stored_rows.height else None
        payload |= {
            "numerator": num,
            "denominator": den,
            "stored_numerator": stored_rows["numerator"][0] if stored_rows.height else None,
            "stored_denominator": stored_rows["denominator"][0] if stored_rows.height else None,
        }
    else:
        recomputed = totals[indicator]
        stored = float(stored_rows["value"].sum()) if stored_rows.height else None
    payload |= {
        "recomputed": recomputed,
        "stored": stored,
        "matches": _same(recomputed, stored),
    }
    return payload


def _apply_filters(frame: pl.DataFrame, filters: dict[str, str]) -> pl.DataFrame:
    for dim, value in filters.items():
        frame = frame.filter(pl.col(dim) == value)
    return frame


def _same(recomputed: float | None, stored: float | None) -> bool:
    """Equal up to float rounding; no stored figure matches only nothing to add up."""
    if stored is None:
        return recomputed is None or recomputed == 0
    if recomputed is None:
        return False
    return math.isclose(recomputed, stored, rel_tol=1e-9, abs_tol=1e-6)


# -- JSON-ready records ------------------------------------------------------------------


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts with ISO dates, for ``--json``, tables and artifacts alike."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
