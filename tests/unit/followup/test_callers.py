"""Callers of an incident, an outage notice or a case they duplicate, through the door on the in-memory
repository: one message on joining (once their contact is known), one per new ETA, one when fixed, and their own
callback — while the incident's work order itself is never called back."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.followup import consumers
from services.followup.handlers.outcomes import RecordOutcome, record_outcome
from shared.contracts import (
    ComplaintEtaChanged,
    ComplaintFaultFixed,
    ComplaintJoined,
    ComplaintLinked,
    Event,
    IncidentOpened,
    new_event,
)
from tests.support.followup_events import START, Order, assigned, new_order, order_event, resolved
from tests.unit.followup.conftest import Followup, contact

CALLERS = "followup.callers"
INCIDENT = uuid.uuid4()
INCIDENT_ORDER = uuid.uuid4()
ETA = START + timedelta(hours=6)


def _joined(caller: Order, *, eta: bool = True, outage: uuid.UUID | None = None) -> ComplaintJoined:
    return order_event(
        ComplaintJoined,
        caller,
        {
            "complaint_id": caller.complaint_id,
            "reference_no": caller.reference_no,
            "incident_id": None if outage else INCIDENT,
            "outage_id": outage,
            "family": "no_heat",
            "asset": {"type": "heat_exchange_station", "id": "HES-0231"},
            "district": "heping",
            "category": "heating_temperature",
            "severity": "normal",
            "department": None if outage else "repair",
            "work_order_id": None if outage else INCIDENT_ORDER,
            "merged_work_order_id": None,
            "eta": ETA if eta else None,
            "cause": "换热站故障",
            "cause_en": "heat-exchange station failure",
            "reasons": [],
            "joined_at": START,
        },
    )


def _eta_changed(caller: Order, eta: object) -> ComplaintEtaChanged:
    return order_event(
        ComplaintEtaChanged,
        caller,
        {
            "complaint_id": caller.complaint_id,
            "reference_no": caller.reference_no,
            "incident_id": INCIDENT,
            "outage_id": None,
            "eta": eta,
            "previous_eta": ETA,
            "note": None,
            "changed_at": START,
        },
    )


def _fixed(
    caller: Order, *, outage: uuid.UUID | None = None, parent: uuid.UUID | None = None, owner: str | None = None
) -> ComplaintFaultFixed:
    return order_event(
        ComplaintFaultFixed,
        caller,
        {
            "complaint_id": caller.complaint_id,
            "reference_no": caller.reference_no,
            "incident_id": None if (outage or parent) else INCIDENT,
            "outage_id": outage,
            "linked_to_complaint_id": parent,
            "work_order_id": None if outage else INCIDENT_ORDER,
            "department": "repair",
            "category": "heating_temperature",
            "severity": "serious",
            "resolution": "pump replaced",
            "callback_limit": "24h",
            "fixed_at": START + timedelta(hours=5),
            "owner": owner,
        },
    )


def _texts(events: list[Event]) -> list[str]:
    return [e.payload.text for e in events if e.event_type == "notification.requested"]


async def _caller_events(followup: Followup, *events: Event) -> list[Event]:
    before = len(followup.state.events)
    await followup.deliver(consumers.CALLERS, list(events))
    return followup.state.events[before:]


async def test_a_caller_is_told_the_cause_and_eta_then_the_new_eta_then_the_fix_and_gets_a_callback(
    followup: Followup,
) -> None:
    caller = new_order()
    followup.state.contacts[caller.complaint_id] = contact(caller)

    joined = await _caller_events(followup, _joined(caller), _joined(caller))  # redelivered: told once
    (text,) = _texts(joined)
    assert caller.reference_no in text and "heat-exchange station failure" in text and "expected back by" in text

    later = START + timedelta(hours=8)
    (eta_text,) = _texts(await _caller_events(followup, _eta_changed(caller, later)))
    assert caller.reference_no in eta_text and "is now" in eta_text

    fixed = await _caller_events(followup, _fixed(caller))
    (fixed_text,) = _texts(fixed)
    assert "has been fixed" in fixed_text
    (callback,) = followup.state.callbacks.values()
    assert (callback.complaint_id, callback.work_order_id, callback.severity) == (
        caller.complaint_id,
        INCIDENT_ORDER,
        "serious",
    )
    assert callback.due_at == START + timedelta(hours=5 + 24)
    assert [e.event_type for e in fixed].count("callback.scheduled") == 1


async def test_a_caller_without_a_known_contact_is_told_when_it_arrives(followup: Followup) -> None:
    caller = new_order()
    assert _texts(await _caller_events(followup, _joined(caller, eta=False))) == []
    assert len([t for t in followup.state.timers if t.pending and t.plan.kind == "caller_notice"]) == 1
    followup.state.contacts[caller.complaint_id] = contact(caller)
    followup.clock.advance(timedelta(minutes=1))
    await followup.fire_due_timers(worker="w", batch_size=10)
    (text,) = _texts(followup.state.events)
    assert "we will tell you when it is expected back" in text


async def test_an_incident_work_order_is_never_called_back_but_each_caller_is(followup: Followup) -> None:
    incident_order = Order(INCIDENT, INCIDENT_ORDER, "INC-20261124-ABCDEF")
    opened = new_event(
        IncidentOpened,
        complaint_id=INCIDENT,
        producer="test",
        correlation_id="incident",
        payload={
            "incident_id": INCIDENT,
            "reference_no": incident_order.reference_no,
            "family": "no_heat",
            "asset": None,
            "district": "heping",
            "compound": "长青",
            "department": "repair",
            "category": "outage",
            "work_order_id": INCIDENT_ORDER,
            "status": "open",
            "severity": "normal",
            "complaint_count": 3,
            "households": 3,
            "eta": None,
            "description": "d",
            "opened_by": "threshold",
            "actor": "dispatch",
            "opened_at": START,
        },
    )
    await followup.deliver(consumers.INCIDENTS, [opened])
    batch = [assigned(incident_order), resolved(incident_order, at=START + timedelta(hours=1))]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    assert not followup.state.callbacks

    callers = [new_order() for _ in range(3)]
    for c in callers:
        followup.state.contacts[c.complaint_id] = contact(c, phone=f"1360013600{callers.index(c)}")
    owners = {c.complaint_id: f"agent-{i}" if i else None for i, c in enumerate(callers)}
    await _caller_events(
        followup, *(_joined(c) for c in callers), *(_fixed(c, owner=owners[c.complaint_id]) for c in callers)
    )
    assert {cb.complaint_id: cb.owner for cb in followup.state.callbacks.values()} == owners, (
        "each caller's callback, for the owner of their own case"
    )


async def test_an_outage_caller_is_called_back_on_the_outage_and_may_reopen_their_own_case(followup: Followup) -> None:
    outage = uuid.uuid4()
    caller = new_order()
    followup.state.contacts[caller.complaint_id] = contact(caller)
    await _caller_events(followup, _joined(caller, outage=outage), _fixed(caller, outage=outage))
    (callback,) = followup.state.callbacks.values()
    assert callback.work_order_id == outage

    await followup.run(record_outcome, RecordOutcome(callback.callback_id, "dissatisfied", agent="a"))
    (reopened,) = [e for e in followup.state.events if e.event_type == "complaint.reopened"]
    assert (reopened.complaint_id, reopened.payload.severity) == (caller.complaint_id, "emergency")


async def test_a_same_account_duplicate_is_told_it_joined_and_called_back_when_its_case_is_fixed(
    followup: Followup,
) -> None:
    parent, duplicate = new_order(), new_order()
    followup.state.contacts[duplicate.complaint_id] = contact(duplicate)
    linked = new_event(
        ComplaintLinked,
        complaint_id=duplicate.complaint_id,
        producer="test",
        correlation_id="c",
        payload={
            "complaint_id": duplicate.complaint_id,
            "reference_no": duplicate.reference_no,
            "linked_to_complaint_id": parent.complaint_id,
            "work_order_id": parent.work_order_id,
            "department": "billing",
            "category": "billing",
            "reasons": [],
            "linked_at": START,
        },
    )
    (text,) = _texts(await _caller_events(followup, linked))
    assert "added to the same problem you reported earlier" in text
    await _caller_events(followup, _fixed(duplicate, parent=parent.complaint_id))
    (callback,) = followup.state.callbacks.values()
    assert callback.complaint_id == duplicate.complaint_id
