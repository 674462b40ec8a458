"""Persons in reporting's pure code: who took each step of a case (staff id and display name, or the system),
what a case derives of them (owner's name, who resolved each work order, who called back and how), the per-staff
figures keyed on one person id, and the household lookup's keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.reporting.actors import SYSTEM, Actor, person_names, step_actor
from services.reporting.case_state import TimelineEvent, derive
from services.reporting.handling_reports import staff_rows
from services.reporting.model import InvalidLookup, LookupKeys, lookup_keys
from tests.support.reporting_events.persons import CHEN, DESK, LI, ZHAO, Household, household_events

T0 = datetime(2025, 7, 15, 1, 0, tzinfo=UTC)


def _timeline(household: Household, case: object) -> list[TimelineEvent]:
    return sorted(
        (
            TimelineEvent(str(e.event_id), e.event_type, e.occurred_at, e.model_dump(mode="json")["payload"])
            for e in household_events(household, T0)
            if e.complaint_id == case and e.event_type != "complaint.contact"
        ),
        key=lambda e: e.sort_key,
    )


def test_every_step_names_who_took_it() -> None:
    h = Household(1)
    timeline = _timeline(h, h.worked)
    names = person_names((e.event_type, e.payload) for e in timeline)
    assert names == {LI[0]: LI[1], ZHAO[0]: ZHAO[1], CHEN[0]: CHEN[1]}, "dispatch's own name is no person's"
    steps = [(e.event_type, step_actor(e.event_type, e.payload, names)) for e in timeline]
    assert steps == [
        ("complaint.received", Actor(*LI)),
        ("complaint.routed", Actor(SYSTEM)),
        ("workorder.assigned", Actor("dispatch", "dispatch")),
        ("workorder.acknowledged", Actor(*ZHAO)),
        ("workorder.crew_assigned", Actor(*ZHAO)),
        ("workorder.appointment_agreed", Actor(*ZHAO)),
        ("workorder.started", Actor(*CHEN)),
        ("workorder.findings_recorded", Actor(*CHEN)),
        ("workorder.photo_added", Actor(*CHEN)),
        ("workorder.resolved", Actor(*CHEN)),
        ("callback.scheduled", Actor(SYSTEM)),
        ("callback.attempted", Actor(*LI)),
        ("complaint.closed", Actor(SYSTEM)),
    ]


def test_a_step_without_a_name_takes_the_one_its_staff_id_has_in_the_case() -> None:
    names = {LI[0]: LI[1]}
    settled = {"owner": LI[0], "handled_on_contact": "explained"}
    assert step_actor("complaint.resolved_on_contact", settled, names) == Actor(*LI)
    assert step_actor("complaint.invalid", {"decided_by": "dispatch"}, names) == Actor("dispatch")
    assert step_actor("callback.attempted", {"agent": "callback-agent"}, names) == Actor("callback-agent")
    old = {"agent_id": "agent-0042"}  # v2: a staff id typed in the body, no name
    assert step_actor("complaint.received", old, names) == Actor("agent-0042")
    assert step_actor("complaint.received", {"agent_id": None}, names) == Actor(SYSTEM)


def test_the_case_derives_the_persons() -> None:
    h = Household(2)
    state = derive(str(h.worked), _timeline(h, h.worked))
    assert (state.owner, state.owner_name, state.status) == (LI[0], LI[1], "closed")
    assert state.received_at == datetime(2025, 7, 15, 1, 57, tzinfo=UTC)
    (order,) = state.work_orders
    assert (order.resolved_by, order.resolved_by_name, order.status) == (CHEN[0], CHEN[1], "resolved")
    (callback,) = state.callbacks
    assert (callback.agent, callback.agent_name, callback.method, callback.owner) == (LI[0], LI[1], "phone", LI[0])
    elsewhere = derive(str(h.elsewhere), _timeline(h, h.elsewhere))
    assert (elsewhere.owner, elsewhere.owner_name) == (None, None)
    assert (elsewhere.work_orders[0].resolved_by, elsewhere.work_orders[0].resolved_by_name) == DESK


def test_one_row_per_person_id_joins_owned_resolved_and_callbacks() -> None:
    rows = staff_rows(
        owned=[{"staff_id": LI[0], "staff_name": LI[1], "cases_owned": 3, "first_contact_resolutions": 1}],
        callbacks=[
            {"staff_id": LI[0], "staff_name": LI[1], "callbacks_done": 2},
            {"staff_id": "callback-agent", "staff_name": None, "callbacks_done": 4},
        ],
        satisfaction=[],
        resolutions=[
            {"staff_id": CHEN[0], "staff_name": CHEN[1], "person": True, "work_orders_resolved": 5},
            {"staff_id": LI[0], "staff_name": None, "person": False, "work_orders_resolved": 1},  # an older event
            {"staff_id": "repair-desk", "staff_name": None, "person": False, "work_orders_resolved": 7},
        ],
    )
    by_id = {r.staff_id: r for r in rows}
    assert set(by_id) == {LI[0], CHEN[0], "callback-agent"}, "a department system's resolutions are nobody's row"
    li = by_id[LI[0]]
    assert (li.staff_name, li.cases_owned, li.work_orders_resolved, li.callbacks_done) == (LI[1], 3, 1, 2)
    chen = by_id[CHEN[0]]
    assert (chen.staff_name, chen.cases_owned, chen.work_orders_resolved, chen.callbacks_done) == (CHEN[1], 0, 5, 0)


@pytest.mark.parametrize(
    ("phone", "normal"),
    [("139-1234-5678", "13912345678"), ("+86 139 1234 5678", "13912345678"), ("024-88812345", "02488812345")],
)
def test_a_phone_is_looked_up_as_intake_stores_it(phone: str, normal: str) -> None:
    assert lookup_keys(phone, None, None) == LookupKeys(normal, None, None)
    assert lookup_keys(None, "HT-1", " 长青小区 ") == LookupKeys(None, "HT-1", "长青小区")


@pytest.mark.parametrize(
    ("keys", "fields"),
    [
        ((None, None, None), ("phone", "account_no", "address")),
        (("phone", None, None), ("phone",)),
        (("139-x", None, None), ("phone",)),
        ((None, None, "  "), ("address",)),
        ((None, None, "长\x00青"), ("address",)),
    ],
)
def test_a_lookup_needs_a_key_it_can_use(
    keys: tuple[str | None, str | None, str | None], fields: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidLookup) as caught:
        lookup_keys(*keys)
    assert caught.value.fields == fields
