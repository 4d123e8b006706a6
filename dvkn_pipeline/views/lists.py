"""The steward's follow-up lists: who to call, and about what.

A state list is :func:`dvkn_pipeline.views.status.unit_list` (what
``dvkn status --state ... --district`` prints) with each unit's contact from
the installation's contact list (``schemas/contacts.py``). The outlier list
names the units whose live report carries a warning of a ``history_outlier``
rule (``schemas/rules.yaml``): accepted, but a figure far from the unit's own
past, which a steward should confirm with the commune.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dvkn_pipeline.judging.rules import load_rules
from dvkn_pipeline.reference.hierarchy import Hierarchy
from dvkn_pipeline.views.status import UnitLine, UnitList, default_group_level
from schemas.contacts import Contact
from schemas.records import Receipt


@dataclass(frozen=True)
class ListLine:
    unit: UnitLine
    contact: Contact | None


@dataclass(frozen=True)
class StateList:
    listed: UnitList
    lines: tuple[ListLine, ...]


def with_contacts(listed: UnitList, contacts: dict[str, Contact]) -> StateList:
    return StateList(listed, tuple(ListLine(u, contacts.get(u.unit_code)) for u in listed.units))


@dataclass(frozen=True)
class Flag:
    """One outlier warning of a receipt: the value and why it is far from history."""

    value: str | None
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class OutlierLine:
    """A unit whose live report has outlier warnings: one line per unit, whom to ask."""

    unit_code: str
    name: str
    district_code: str | None
    district_name: str | None
    key: str
    receipt_key: str
    flags: tuple[Flag, ...]
    contact: Contact | None


def outlier_rule_ids() -> frozenset[str]:
    """The rules whose warnings mean "far from the unit's own history"."""
    return frozenset(r.id for r in load_rules().rules if r.kind == "history_outlier")


def outlier_lines(
    live: pl.DataFrame,
    receipts: dict[str, Receipt],
    hierarchy: Hierarchy,
    contacts: dict[str, Contact],
) -> tuple[OutlierLine, ...]:
    """One line per unit of ``live`` (live submissions with warnings) with outlier warnings."""
    rules = outlier_rule_ids()
    group = default_group_level(hierarchy)
    out = []
    for r in live.sort("unit_code").iter_rows(named=True):
        receipt = receipts.get(r["receipt_key"])
        if receipt is None or r["unit_code"] not in hierarchy:
            continue
        district = next((a for a in hierarchy.ancestors(r["unit_code"]) if a.level == group), None)
        flags = tuple(
            Flag(p.value, p.message_vi, p.message_en) for p in receipt.problems if p.rule in rules
        )
        if flags:
            out.append(
                OutlierLine(
                    unit_code=r["unit_code"],
                    name=hierarchy.unit(r["unit_code"]).name,
                    district_code=district.code if district else None,
                    district_name=district.name if district else None,
                    key=r["key"],
                    receipt_key=r["receipt_key"],
                    flags=flags,
                    contact=contacts.get(r["unit_code"]),
                )
            )
    return tuple(out)
