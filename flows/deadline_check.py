"""The scheduled deadline check: emit ``dvkn.units.missing`` for deadlines coming up.

Runs daily from the ``check-deadlines/daily`` deployment; the automation
``dvkn-units-missing`` (``schemas/automations.yaml``) turns each event into a
notification. The finding itself is computed in ``dvkn_pipeline.rollup.deadlines``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.events import emit_event

from dvkn_pipeline.reference.periods import load_calendar, local_date
from dvkn_pipeline.rollup.deadlines import describe, due_soon, missing_units
from dvkn_pipeline.services.wiring import build_intake
from schemas.deployments import DEADLINES_FLOW
from schemas.records import EVENT_UNITS_MISSING
from schemas.settings import Settings


@flow(name=DEADLINES_FLOW)
def check_deadlines(
    days: int | None = None, today: date | None = None, period_types: list[str] | None = None
) -> list[dict[str, Any]]:
    """Units still missing ``days`` days (or fewer) before a deadline, one event per period and level.

    ``period_types``: calendar ids of the periods collected (default: all).
    """
    log = get_run_logger()
    settings = Settings()
    intake = build_intake(settings)
    day = today or local_date(datetime.now(UTC))
    window = settings.missing_days_before_deadline if days is None else days
    ledger = intake.tables.read_ledger()
    found: list[dict[str, Any]] = []
    for due in due_soon(day, window, list(load_calendar().deadline_days), period_types):
        hierarchy = intake.hierarchies.for_date(due.period.reference_date).scope(settings.root_unit)
        missing = missing_units(ledger, hierarchy, intake.catalogue, due)
        if missing is None:
            continue
        payload = {
            "period": due.period.code,
            "level": due.level,
            "deadline": due.deadline.isoformat(),
            "days_left": due.days_left(day),
            "expected": missing.expected,
            "missing": len(missing.missing),
            "not_accepted": len(missing.not_accepted),
            "units": missing.missing[:100],
            "text": describe(missing, day),
        }
        emit_event(
            event=EVENT_UNITS_MISSING,
            resource={
                "prefect.resource.id": f"dvkn.missing.{settings.bucket}.{due.period.code}.{due.level}",
                "dvkn.period": due.period.code,
                "dvkn.level": due.level,
            },
            payload=payload,
        )
        log.info(payload["text"])
        found.append(payload)
    if found:
        create_table_artifact(
            key="units-missing",
            table=[{k: v for k, v in f.items() if k != "units"} for f in found],
            description="Units still missing shortly before a deadline",
        )
    return found
