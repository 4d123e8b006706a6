"""Approval across levels: the service's rules, over in-memory tables and a small hierarchy.

The hierarchy is two districts of three communes before the 2025 reform and a
province of two communes after it, written as data like the shipped one, so
every rule is seen on a tree small enough to reason about by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dvkn_pipeline.reference.catalogue import load_catalogue
from dvkn_pipeline.reference.hierarchy import load_hierarchies
from dvkn_pipeline.reference.periods import Period
from dvkn_pipeline.services.approval import (
    ApprovalError,
    ApprovalService,
    ForbiddenError,
    period_range,
)
from dvkn_pipeline.views.approval import portal_note
from schemas.approval import ApprovalState
from schemas.records import (
    EVENT_APPROVAL_APPROVED,
    EVENT_APPROVAL_RETURNED,
    EVENT_APPROVAL_UNAPPROVED,
    Actor,
    LedgerRow,
    Status,
)
from tests.fakes import MemoryTables, RecordedEvents

CAT = load_catalogue()
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
M04, M05, M08 = Period.parse("2025-M04"), Period.parse("2025-M05"), Period.parse("2025-M08")
IND = "MH_DANG_KY"

CITY = Actor(name="Lan", role="steward", unit="01")
DA = Actor(name="Minh", role="steward", unit="001")
DB = Actor(name="Hoa", role="steward", unit="002")
CLERK = Actor(name="Tú", role="reporter", unit="00001")

VERSIONS = """
versions:
  - id: t-3level
    valid_from: 2025-01-01
    valid_to: 2025-06-30
    levels: [province, district, commune]
    file: three.csv
  - id: t-2level
    valid_from: 2025-07-01
    valid_to: null
    levels: [province, commune]
    file: two.csv
"""
THREE = """unit_code,name,level,division_type,parent_code
01,Thành phố Thử,province,thành phố,
001,Quận Một,district,quận,01
00001,Phường Một,commune,phường,001
00004,Phường Bốn,commune,phường,001
002,Huyện Hai,district,huyện,01
00010,Xã Mười,commune,xã,002
"""
TWO = """unit_code,name,level,division_type,parent_code
01,Thành phố Thử,province,thành phố,
00004,Phường Bốn,commune,phường,01
00010,Xã Mười,commune,xã,01
"""


class World:
    """The tables, a clock that moves one minute per event, and what was submitted."""

    def __init__(self, directory: Path) -> None:
        (directory / "versions.yaml").write_text(VERSIONS, encoding="utf-8")
        (directory / "three.csv").write_text(THREE, encoding="utf-8")
        (directory / "two.csv").write_text(TWO, encoding="utf-8")
        self.tables = MemoryTables(CAT)
        self.events = RecordedEvents()
        self.now = T0
        self.service = ApprovalService(
            tables=self.tables,
            hierarchies=load_hierarchies(directory),
            catalogue=CAT,
            root_unit="01",
            events=self.events,
            clock=self.tick,
        )
        #: submission id -> (unit, period, value): what the test itself knows was sent.
        self.sent: dict[str, tuple[str, str, float]] = {}

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def upload(self, unit: str, period: Period, value: float, version: int = 1) -> str:
        """An accepted upload of ``unit`` for ``period`` reporting ``value`` models."""
        at = self.tick()
        sid = f"{unit}-{period.code}-{value}-{version}".encode().hex()[:64].ljust(64, "0")
        key = f"incoming/{unit}/{period.code}/v{version}-{value}.csv"
        self.tables.add_to_ledger(
            [
                LedgerRow(
                    upload_id=f"{key}#{sid[:8]}",
                    key=key,
                    etag=f"etag-{sid[:8]}",
                    sha256=sid,
                    size=10,
                    uploader=unit,
                    received_at=at,
                    processed_at=at,
                    status=Status.ACCEPTED,
                    unit_code=unit,
                    period=period.code,
                    report_version=version,
                    submission_id=sid,
                    n_errors=0,
                    n_warnings=0,
                    receipt_key=key + ".receipt.json",
                    archive_key=None,
                    flow_run_id=None,
                    attempt=0,
                    reprocess_reason=None,
                    override=None,
                    override_by=None,
                    override_reason=None,
                    override_at=None,
                )
            ]
        )
        dims = dict.fromkeys(CAT.dimension_columns)
        self.tables.add_facts(
            pl.DataFrame(
                [
                    {
                        "submission_id": sid,
                        "unit_code": unit,
                        "period": period.code,
                        "indicator": IND,
                        **dims,
                        "value": value,
                    }
                ],
                schema=self.tables.facts.schema,
            )
        )
        self.sent[sid] = (unit, period.code, value)
        return sid

    def state(self, unit: str, period: Period = M05) -> ApprovalState:
        return self.service.unit(unit, period).state


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def reported(world: World, period: Period = M05) -> None:
    world.upload("00001", period, 10)
    world.upload("00004", period, 20)
    world.upload("00010", period, 40)


# -- the child-first rule ------------------------------------------------------------------


def test_a_district_cannot_be_approved_before_all_its_communes(world: World) -> None:
    reported(world)
    world.service.approve(DA, "00001", M05)
    with pytest.raises(ApprovalError, match="00004") as refused:
        world.service.approve(DA, "001", M05)
    assert "001" in refused.value.text.en and refused.value.text.hint_en
    world.service.approve(DA, "00004", M05)
    world.service.approve(DA, "001", M05)
    assert world.state("001") is ApprovalState.APPROVED
    assert world.service.unit("001", M05).step == "1/2"


def test_a_two_step_level_is_approved_by_its_own_steward_then_accepted_above(
    world: World,
) -> None:
    reported(world)
    world.service.approve_children(DA, "001", [M05])
    world.service.approve(DA, "001", M05, comment="đã kiểm tra")
    with pytest.raises(ApprovalError, match=r"not approved \(001, 002\)"):
        world.service.approve(CITY, "01", M05)  # 001 is approved, not yet accepted
    world.service.accept(CITY, "001", M05)
    unit = world.service.unit("001", M05)
    assert unit.state is ApprovalState.ACCEPTED and unit.complete and unit.approved_by == "Lan"


def test_not_expected_this_period_settles_a_child_without_a_report(world: World) -> None:
    world.upload("00001", M05, 10)
    world.upload("00004", M05, 20)
    with pytest.raises(ApprovalError):
        world.service.mark_not_expected(DB, "00010", M05, reason="  ")
    world.service.mark_not_expected(DB, "00010", M05, reason="sáp nhập, không hoạt động")
    world.service.approve(DB, "002", M05)
    board = world.service.approvals(M05, under="002")
    assert [u.state for u in board.units] == [ApprovalState.NOT_EXPECTED]
    assert world.service.unit("002", M05).children_not_expected == 1


def test_a_commune_without_an_accepted_report_cannot_be_approved(world: World) -> None:
    with pytest.raises(ApprovalError, match="no accepted report"):
        world.service.approve(DA, "00001", M05)


# -- who may act ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "unit", "why"),
    [
        (DB, "00001", "steward of 001"),  # a sibling district's steward
        (CITY, "00001", "steward of 001"),  # two levels up: not its step
        (CLERK, "00001", "may not approve"),  # a commune's own account
        (Actor(name="X", role="steward", unit="00001"), "00001", "steward of 001"),
        (Actor(name="X", role="auditor", unit="001"), "00001", "may not approve"),
        (Actor(name="X", role="steward", unit="99"), "00001", "not in hierarchy"),
    ],
)
def test_only_the_steward_of_the_parent_level_may_approve_a_commune(
    world: World, actor: Actor, unit: str, why: str
) -> None:
    reported(world)
    with pytest.raises(ForbiddenError, match=why):
        world.service.approve(actor, unit, M05)
    assert world.tables.approvals.is_empty()


def test_forbidden_accepts_returns_and_unapproves(world: World) -> None:
    reported(world)
    world.service.approve_children(DA, "001", [M05])
    world.service.approve(DA, "001", M05)
    with pytest.raises(ForbiddenError, match="steward of 01"):
        world.service.accept(DA, "001", M05)  # a district does not accept itself
    with pytest.raises(ForbiddenError, match="not above"):
        world.service.return_unit(DA, "001", M05, reason="tự trả")  # nor sends itself back
    with pytest.raises(ForbiddenError, match="not above"):
        world.service.return_unit(DB, "00001", M05, reason="không phải của mình")
    with pytest.raises(ForbiddenError, match="only that level or a level above"):
        world.service.unapprove(DB, "00004", M05)  # approved by 001, not by 002
    with pytest.raises(ForbiddenError, match="may not unapprove"):
        world.service.unapprove(CLERK, "00001", M05)
    with pytest.raises(ApprovalError, match="has approved figures"):
        world.service.unapprove(DA, "00001", M05)  # 001 stands on it: withdraw 001 first


# -- the lock and "changed since approval" ----------------------------------------------------


def test_a_later_upload_is_held_for_reapproval_and_flags_every_approval_above(
    world: World,
) -> None:
    reported(world)
    first = world.service.board(M05)
    assert first["changed_since_approval"].sum() == 0
    world.service.approve_children(DA, "001", [M05])
    world.service.approve_children(DB, "002", [M05])
    world.service.approve(DA, "001", M05)
    world.service.approve(DB, "002", M05)
    world.service.accept(CITY, "001", M05)
    world.service.accept(CITY, "002", M05)
    world.service.approve(CITY, "01", M05)
    before = world.service.approved_rollup(M05)

    world.upload("00001", M05, 15, version=2)  # judged and receipted, but held

    commune = world.service.unit("00001", M05)
    assert commune.pending_reapproval and commune.changed_since_approval == 1
    assert commune.approved is not None and commune.live is not None
    assert commune.approved.submission_id != commune.live.submission_id
    assert commune.approved.key == "incoming/00001/2025-M05/v1-10.csv"
    for above in ("001", "01"):
        assert world.service.unit(above, M05).changed_since_approval == 1
    assert world.service.unit("002", M05).changed_since_approval == 0
    assert world.service.approved_rollup(M05).equals(before)  # approved figures unchanged

    # Re-approval from the bottom: the commune, then its district (both steps), then the city.
    world.upload("00001", M05, 16, version=3)
    assert world.service.unit("01", M05).changed_since_approval == 2
    world.service.approve(DA, "00001", M05)
    assert not world.service.unit("00001", M05).pending_reapproval
    assert world.service.unit("001", M05).changed_since_approval == 2  # until re-approved
    with pytest.raises(ApprovalError, match="not approved"):
        world.service.approve(CITY, "01", M05)  # 001 is stale: its children are newer
    world.service.approve(DA, "001", M05)
    world.service.accept(CITY, "001", M05)
    assert world.service.unit("001", M05).changed_since_approval == 0
    world.service.approve(CITY, "01", M05)
    assert world.service.unit("01", M05).changed_since_approval == 0


def test_the_level_above_cannot_accept_what_changed_since_it_was_approved(world: World) -> None:
    reported(world)
    world.service.approve_children(DA, "001", [M05])
    world.service.approve(DA, "001", M05)
    world.upload("00004", M05, 21, version=2)
    with pytest.raises(ApprovalError, match="no approval waiting to be accepted"):
        world.service.accept(CITY, "001", M05)  # the district must approve again first
    assert world.service.unit("001", M05).next_action == "approve"
    world.service.approve(DA, "00004", M05)
    world.service.approve(DA, "001", M05)
    world.service.accept(CITY, "001", M05)
    assert world.state("001") is ApprovalState.ACCEPTED


# -- return, correction, re-approval --------------------------------------------------------


def test_return_then_corrected_upload_then_reapproval(world: World) -> None:
    reported(world)
    world.service.approve(DA, "00004", M05)
    world.service.return_unit(DA, "00004", M05, reason="Thiếu số mô hình cấp cơ sở")
    unit = world.service.unit("00004", M05)
    assert unit.state is ApprovalState.RETURNED
    note = portal_note(unit)
    assert note is not None and note.vi == "Bị trả lại: Thiếu số mô hình cấp cơ sở"
    assert note.en == "Returned: Thiếu số mô hình cấp cơ sở"
    with pytest.raises(ApprovalError, match="has not sent a corrected report"):
        world.service.approve(DA, "00004", M05)

    assert world.service.returned_notes("00004")["2025-M05"].en.startswith("Returned: Thiếu")
    assert world.service.returned_notes("00001") == {}
    world.upload("00004", M05, 22, version=2)
    assert world.state("00004") is ApprovalState.SUBMITTED
    assert world.service.returned_notes("00004") == {}
    assert portal_note(world.service.unit("00004", M05)) is None
    world.service.approve(DA, "00004", M05)
    assert world.state("00004") is ApprovalState.APPROVED
    returned = world.events.sent[
        [e for e, _, _ in world.events.sent].index(EVENT_APPROVAL_RETURNED)
    ]
    assert returned[1]["dvkn.unit"] == "00004"
    assert returned[2]["comment"] == "Thiếu số mô hình cấp cơ sở"
    # The history keeps every step, in order.
    assert [e.action for e in world.service.history(M05, "00004")] == [
        "approve",
        "return",
        "approve",
    ]


def test_a_district_returned_by_the_city_goes_back_to_the_district(world: World) -> None:
    reported(world)
    world.service.approve_children(DA, "001", [M05])
    world.service.approve(DA, "001", M05)
    world.service.return_unit(CITY, "001", M05, reason="Số liệu quận chưa khớp")
    unit = world.service.unit("001", M05)
    assert unit.state is ApprovalState.RETURNED and unit.returned_reason
    # The district fixes what is below it: its approvals of the communes may now move.
    world.service.unapprove(DA, "00001", M05)
    assert world.state("00001") is ApprovalState.SUBMITTED
    with pytest.raises(ApprovalError, match="not approved"):
        world.service.approve(DA, "001", M05)  # not before its commune is approved again
    world.service.approve(DA, "00001", M05)
    world.service.approve(DA, "001", M05)
    world.service.accept(CITY, "001", M05)
    assert world.state("001") is ApprovalState.ACCEPTED


# -- bulk ---------------------------------------------------------------------------------


def test_bulk_approves_every_ready_child_over_a_range_of_past_periods(world: World) -> None:
    for period in (M04, M05):
        world.upload("00001", period, 10)
    world.upload("00004", M05, 20)  # 00004 sent nothing for April

    outcome = world.service.approve_children(DA, "001", period_range(M04, M05))

    assert sorted(outcome.done) == ["2025-M04/00001", "2025-M05/00001", "2025-M05/00004"]
    assert list(outcome.skipped) == ["2025-M04/00004"]
    assert "no accepted report" in outcome.skipped["2025-M04/00004"].en
    approved = world.events.named(EVENT_APPROVAL_APPROVED)
    assert len(approved) == 1 and approved[0]["dvkn.count"] == "3"
    assert approved[0]["prefect.resource.id"] == "dvkn.approval.2025-M04.001.children"
    assert world.tables.approvals["batch_id"].n_unique() == 1  # one action, one commit


def test_a_period_range_runs_oldest_first_and_refuses_mixed_kinds() -> None:
    assert [p.code for p in period_range(Period.parse("2025-M11"), Period.parse("2026-M02"))] == [
        "2025-M11",
        "2025-M12",
        "2026-M01",
        "2026-M02",
    ]
    with pytest.raises(ApprovalError):
        period_range(M04, Period.parse("2025-Q2"))


# -- unapprove from above -------------------------------------------------------------------


def test_unapprove_from_the_approvers_level_or_any_level_above(world: World) -> None:
    reported(world)
    world.service.approve(DA, "00001", M05)
    world.service.unapprove(CITY, "00001", M05, comment="kiểm tra lại")
    assert world.state("00001") is ApprovalState.SUBMITTED
    world.service.approve(DA, "00001", M05)
    world.service.unapprove(DA, "00001", M05)
    assert world.state("00001") is ApprovalState.SUBMITTED
    with pytest.raises(ApprovalError, match="not approved"):
        world.service.unapprove(DA, "00001", M05)
    unapproved = world.events.named(EVENT_APPROVAL_UNAPPROVED)
    assert [r["dvkn.by_unit"] for r in unapproved] == ["01", "001"]


# -- approved-only figures against an independent recomputation --------------------------------


def test_approved_only_rollup_equals_a_plain_sum_of_the_approved_submissions(
    world: World,
) -> None:
    reported(world)
    world.upload("001", M05, 7)  # the district's own models
    world.service.approve_children(DA, "001", [M05])
    world.service.approve(DA, "001", M05)
    world.service.accept(CITY, "001", M05)  # the district's own 7 count once accepted
    world.upload("00004", M05, 99, version=2)  # after approval: not in the approved figures
    world.service.approve(DB, "00010", M05)

    # Independently: each approval row of the table names a submission; sum what the
    # test itself sent under those ids, per ancestor, by walking the known tree.
    rows = world.tables.approvals.filter(pl.col("action") == "approve")
    approved_ids = set(rows["submission_id"].drop_nulls().to_list())
    parents = {"00001": "001", "00004": "001", "00010": "002", "001": "01", "002": "01"}
    expected: dict[str, float] = {}
    for sid in approved_ids:
        unit, _, value = world.sent[sid]
        while unit:
            expected[unit] = expected.get(unit, 0.0) + value
            unit = parents.get(unit, "")
    table = world.service.approved_rollup(M05).filter(
        (pl.col("indicator") == IND) & pl.col("field").is_null()
    )
    got = dict(zip(table["unit_code"].to_list(), table["value"].to_list(), strict=True))
    assert got == expected
    assert got["01"] == 10 + 20 + 7 + 40  # 99 is live but not approved


# -- across the 2025 reform ----------------------------------------------------------------------


def test_approvals_under_three_levels_stay_visible_and_new_periods_use_two(world: World) -> None:
    reported(world)
    world.service.approve_children(DA, "001", [M05])
    world.service.approve(DA, "001", M05)
    world.upload("00004", M08, 5)
    world.upload("00010", M08, 6)

    # After July 2025 the district is gone: its steward has nothing to act on.
    with pytest.raises(ForbiddenError, match="not in hierarchy"):
        world.service.approve(DA, "00004", M08)
    with pytest.raises(ApprovalError, match="no unit 001"):
        world.service.approve(CITY, "001", M08)
    world.service.approve_children(CITY, "01", [M08])
    world.service.approve(CITY, "01", M08)

    may = world.service.approvals(M05)
    august = world.service.approvals(M08)
    assert may.levels == ("province", "district", "commune")
    assert august.levels == ("province", "commune")
    assert {u.unit_code: u.state for u in may.units if u.level == "district"} == {
        "001": ApprovalState.APPROVED,
        "002": ApprovalState.SUBMITTED,
    }
    assert {u.unit_code for u in august.units} == {"01", "00004", "00010"}
    assert all(u.complete for u in august.units)
    assert set(world.tables.approvals["hierarchy_version"].to_list()) == {"t-3level", "t-2level"}


def test_an_event_that_cannot_be_sent_does_not_undo_the_action(world: World) -> None:
    class Down:
        def emit(self, *_: object) -> None:
            raise ConnectionError("prefect is away")

    reported(world)
    service = ApprovalService(
        tables=world.tables,
        hierarchies=world.service.hierarchies,
        catalogue=CAT,
        root_unit="01",
        events=Down(),
    )
    outcome = service.approve(DA, "00001", M05)
    assert outcome.done == ("00001",) and not outcome.announced
    assert world.state("00001") is ApprovalState.APPROVED


# -- where approved figures are read ------------------------------------------------------------


def test_every_sheet_of_an_export_says_which_figures_it_shows(world: World) -> None:
    import io

    import openpyxl

    from dvkn_pipeline.services.exports import RollupTables, export_report

    reported(world)
    world.service.approve_children(DA, "001", [M05])

    class Stored:  # what the export reads besides the approved roll-up
        def rollup_periods(self) -> list[str]:
            return [M05.code]

        def read_rollup(self, period: str) -> pl.DataFrame:
            raise AssertionError("an approved export must not read the stored roll-up")

        def read_completeness(self, period: str) -> pl.DataFrame:
            return world.tables.read_completeness(period)

    tables: RollupTables = Stored()
    hierarchy = world.service.hierarchy(M05)
    files = export_report(
        tables, hierarchy, CAT, M05, "district", approved=world.service.approved_rollup
    )
    book = openpyxl.load_workbook(io.BytesIO(files.xlsx))
    said = "Số liệu đã phê duyệt / Approved figures only"
    for ws in book.worksheets:
        texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert any(said in t for t in texts), ws.title
    section = book.worksheets[1]
    codes = [c.value for c in section["A"]]
    row = codes.index("001") + 1
    key_row = next(r for r in range(1, 40) if section.cell(r, 1).value == "unit_code")
    col = next(c for c in range(1, section.max_column + 1) if section.cell(key_row, c).value == IND)
    assert section.cell(row, col).value == 30  # 00001 and 00004 approved: 10 + 20
    assert section.cell(codes.index("002") + 1, col).value is None  # nothing approved


def test_status_counts_approved_beside_accepted(world: World) -> None:
    from dvkn_pipeline.views.status import status_report

    reported(world)
    world.service.approve(DA, "00001", M05)
    payload = status_report(
        world.tables.read_ledger(M05.code),
        world.service.hierarchy(M05),
        CAT,
        M05,
        "district",
        approvals=world.service.board(M05),
    )
    rows = {(r["unit_code"], r["reporter_level"]): r for r in payload["rows"]}
    assert (rows[("001", "commune")]["accepted"], rows[("001", "commune")]["approved"]) == (2, 1)
    assert rows[("002", "commune")]["approved"] == 0
    lines = status_report(
        world.tables.read_ledger(M05.code),
        world.service.hierarchy(M05),
        CAT,
        M05,
        "commune",
        approvals=world.service.board(M05),
    )["units"]
    assert {u["unit_code"]: u["approval"] for u in lines} == {
        "00001": "approved",
        "00004": "submitted",
        "00010": "submitted",
    }


def test_the_command_event_sink_posts_from_a_plain_thread_and_inside_a_running_loop() -> None:
    import asyncio
    from collections.abc import Sequence

    from prefect.events import Event

    from dvkn_pipeline.events.prefect_sink import PrefectPostSink

    got: list[Event] = []

    class Server:
        async def send(self, events: Sequence[Event]) -> None:
            got.extend(events)

    sink = PrefectPostSink(sender=Server())
    sink.emit(EVENT_APPROVAL_APPROVED, {"prefect.resource.id": "dvkn.approval.x.1"}, {"n": 1})

    async def from_a_route() -> None:
        sink.emit(EVENT_APPROVAL_RETURNED, {"prefect.resource.id": "dvkn.approval.x.2"}, {})

    asyncio.run(from_a_route())
    assert [e.event for e in got] == [EVENT_APPROVAL_APPROVED, EVENT_APPROVAL_RETURNED]
    assert got[0].resource.id == "dvkn.approval.x.1" and got[0].payload == {"n": 1}


def test_console_roles_act_under_their_own_names(world: World) -> None:
    reported(world)
    steward = Actor(name="minh", role="district_steward", unit="001")
    world.service.approve(steward, "00001", M05)
    with pytest.raises(ForbiddenError, match="may not approve"):
        world.service.approve(Actor(name="reader", role="reader", unit="01"), "00004", M05)
    assert world.state("00001") is ApprovalState.APPROVED


def test_the_shipped_hierarchies_give_districts_before_july_2025_and_none_in_the_quarter_after(
    tmp_path: Path,
) -> None:
    """2025-Q3's data window opens in June, but it is rolled up (and approved) with the
    two-level list in force at its end: the city approves its communes directly."""
    q1, q3 = Period.parse("2025-Q1"), Period.parse("2025-Q3")
    world = World(tmp_path)
    service = ApprovalService(
        tables=world.tables,
        hierarchies=load_hierarchies(),
        catalogue=CAT,
        root_unit="01",
        events=world.events,
    )
    old_ward = service.hierarchy(q1).children("001")[0].code
    new_ward = service.hierarchy(q3).units_at("commune")[0].code
    world.upload(old_ward, q1, 3)
    world.upload(new_ward, q3, 4)
    city = Actor(name="Lan", role="city_steward", unit="01")
    with pytest.raises(ForbiddenError, match="steward of 001"):
        service.approve(city, old_ward, q1)  # before the reform: the district's step
    service.approve(Actor(name="Minh", role="district_steward", unit="001"), old_ward, q1)
    service.approve(city, new_ward, q3)
    with pytest.raises(ApprovalError, match="no unit 001"):
        service.approve(city, "001", q3)

    before, after = service.approvals(q1), service.approvals(q3)
    assert before.levels == ("province", "district", "commune")
    assert after.levels == ("province", "commune")
    assert service.unit(old_ward, q1).approved_by_unit == "001"
    assert service.unit(new_ward, q3).approved_by_unit == "01"
    assert before.hierarchy_version != after.hierarchy_version
    assert service.approved_rollup(q1).filter(pl.col("unit_code") == "001")["value"].sum() == 3


def test_choices_offer_exactly_the_buttons_that_would_work(world: World) -> None:
    reported(world)
    assert world.service.choices(DA, "00001", M05).allowed == ("approve", "return", "not_expected")
    world.service.approve(DA, "00001", M05)
    assert world.service.choices(DA, "00001", M05).allowed == ("return", "unapprove")
    assert world.service.choices(DB, "00001", M05).allowed == ()
    assert world.service.choices(CLERK, "00001", M05).allowed == ()
    world.service.approve(DA, "00004", M05)
    world.service.approve(DA, "001", M05)
    district = world.service.choices(CITY, "001", M05)
    assert district.allowed == ("accept", "return", "unapprove")
    assert "already approved" in district.refused["not_expected"].en
    own = world.service.choices(DA, "001", M05)
    assert own.allowed == ("unapprove",)
    # Each allowed action really goes through; a refused one really is refused.
    world.service.accept(CITY, "001", M05)
    with pytest.raises(ApprovalError):
        world.service.return_unit(DA, "001", M05, reason="x")


# -- any sequence of actions ------------------------------------------------------------------

UNITS = ("00001", "00004", "00010", "001", "002", "01")
ACTORS = (CITY, DA, DB, CLERK)
UPLOAD = st.tuples(st.just("upload"), st.sampled_from(("00001", "00004", "00010", "001")))
ACTION = st.tuples(
    st.sampled_from(("approve",) * 6 + ("accept",) * 3 + ("return", "unapprove", "not_expected")),
    st.sampled_from(UNITS),
    st.sampled_from(range(len(ACTORS) + 2)),  # the last two: the steward the unit waits for
)
STEP = st.one_of(UPLOAD, ACTION, ACTION, ACTION)
STEWARDS = {"01": CITY, "001": DA, "002": DB}


def _actor(service: ApprovalService, who: int, unit: str) -> Actor:
    """One of ``ACTORS``, or (often) the steward this unit's next action belongs to."""
    if who < len(ACTORS):
        return ACTORS[who]
    view = service.unit(unit, M05)
    scope = view.next_by_unit or view.approved_by_unit or view.parent_code or "01"
    return STEWARDS.get(scope, CITY)


def _take(service: ApprovalService, action: str, actor: Actor, unit: str) -> None:
    if action == "approve":
        service.approve(actor, unit, M05)
    elif action == "accept":
        service.accept(actor, unit, M05)
    elif action == "return":
        service.return_unit(actor, unit, M05, reason="r")
    elif action == "unapprove":
        service.unapprove(actor, unit, M05)
    else:
        service.mark_not_expected(actor, unit, M05, reason="r")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=10, max_size=40))
def test_any_sequence_keeps_choices_honest_and_approved_figures_those_approved(
    steps: list[tuple[Any, ...]],
) -> None:
    """Whatever stewards do, in any order: an action succeeds exactly when ``choices``
    offered it, nothing but a refusal is ever raised, and the approved roll-up is the
    plain sum of what the approved units' approvals point at."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp))
        service = world.service
        reported(world)  # every commune has sent something; the steps change the rest
        for n, step in enumerate(steps):
            if step[0] == "upload":
                world.upload(step[1], M05, float(n + 1), version=n + 1)
                continue
            action, unit, who = step
            actor = _actor(service, who, unit)
            offered = service.choices(actor, unit, M05).allowed
            expected = action in offered or (action == "approve" and "accept" in offered)
            try:
                _take(service, action, actor, unit)
                done = True
            except ApprovalError:
                done = False
            assert done == expected, (action, unit, actor.unit, offered)

        board = service.board(M05)
        parents = {"00001": "001", "00004": "001", "00010": "002", "001": "01", "002": "01"}
        totals: dict[str, float] = {}
        for row in board.filter(pl.col("complete")).iter_rows(named=True):
            sid = row["approved_submission_id"]
            if row["state"] == "not_expected" or sid is None:
                continue
            unit, _, value = world.sent[sid]
            while unit:
                totals[unit] = totals.get(unit, 0.0) + value
                unit = parents.get(unit, "")
        table = service.approved_rollup(M05).filter(pl.col("indicator") == IND)
        got = dict(zip(table["unit_code"].to_list(), table["value"].to_list(), strict=True))
        assert got == totals
