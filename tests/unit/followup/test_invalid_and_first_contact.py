"""Complaints that never get a work order, through the door on the in-memory repository: one closed
as invalid (the customer is told why, once, as soon as their contact is known; no callback — and not at all
once a supervisor overturned it) and one settled at first contact (called back like a resolved work order, for
the agent who settled it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from services.followup import consumers
from services.followup.handlers.outcomes import RecordOutcome, record_outcome
from shared.contracts import ComplaintContact, Event, new_event
from tests.support.followup_events import START, Order, invalid, new_order, resolved_on_contact, routed
from tests.unit.followup.conftest import Followup, contact

ROUTED = "followup.callers"
WORKER = "unit-test"


async def test_an_invalid_complaint_tells_the_customer_why_once(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    event = invalid(order, reason="outside our service area")
    await followup.deliver(consumers.CALLERS, [event, event])
    await followup.deliver(consumers.CALLERS, [invalid(order, reason="outside our service area")])

    assert followup.state.event_types() == ["notification.requested"], "once, even when dispatch says it again"
    notice = followup.state.events[0].payload
    assert notice.template_id == "complaint_invalid"
    assert (notice.recipient.kind, notice.recipient.phone) == ("customer", "13600136000")
    assert notice.params == {"reference_no": order.reference_no, "reason": "outside our service area"}
    assert "outside our service area" in notice.text and order.reference_no in notice.text
    assert followup.state.callbacks == {} and followup.state.timers == [], "no callback, no clock"


async def test_the_reason_waits_for_the_contact(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.CALLERS, [invalid(order)])
    assert followup.state.events == []
    retry = followup.state.pending_timers(order.complaint_id)
    assert [(p.kind, p.stage) for p in retry] == [("caller_notice", "invalid")]

    followup.clock.advance(timedelta(seconds=5))
    await followup.fire_due_timers(worker=WORKER, batch_size=10)
    assert followup.state.events == [], "still no contact: tried again later"
    assert [(p.kind, p.level) for p in followup.state.pending_timers(order.complaint_id)] == [("caller_notice", 2)]

    c = contact(order)
    arrived = new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload={**c.__dict__, "reference_no": order.reference_no},
    )
    await followup.deliver(consumers.COMPLAINT_CONTACT, [arrived])
    followup.clock.advance(timedelta(seconds=5))
    await followup.fire_due_timers(worker=WORKER, batch_size=10)
    assert [(e.event_type, e.payload.template_id) for e in followup.state.events] == [
        ("notification.requested", "complaint_invalid")
    ]
    assert followup.state.invalid[order.complaint_id].told_at == followup.clock()


def _contact_arrived(order: Order) -> ComplaintContact:
    return new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload={**contact(order).__dict__, "reference_no": order.reference_no},
    )


@pytest.mark.parametrize("overturn", [routed, resolved_on_contact], ids=["routed", "resolved_on_contact"])
async def test_an_overturned_invalid_complaint_is_never_told_it_is_invalid(
    followup: Followup, overturn: Callable[[Order], Event]
) -> None:
    order = new_order()
    await followup.deliver(consumers.CALLERS, [invalid(order)])
    assert [(p.kind, p.stage) for p in followup.state.pending_timers(order.complaint_id)] == [
        ("caller_notice", "invalid")
    ], "waiting for the contact"

    # A supervisor finds it valid after all; then the contact arrives and the notice's timer would fire.
    followup.clock.advance(timedelta(seconds=2))
    await followup.deliver(consumers.CALLERS, [overturn(order)])
    assert order.complaint_id not in followup.state.invalid
    assert [p.stage for p in followup.state.pending_timers(order.complaint_id)] == [], "no timer waits to tell them"
    await followup.deliver(consumers.COMPLAINT_CONTACT, [_contact_arrived(order)])
    followup.clock.advance(timedelta(minutes=5))
    await followup.fire_due_timers(worker=WORKER, batch_size=10)
    assert "complaint_invalid" not in [n.template_id for n in followup.state.notifications]


async def test_a_timer_the_overturn_could_not_cancel_stops_retrying(followup: Followup) -> None:
    """The timer worker had claimed the notice's timer when the overturn cancelled (a row lock: the cancel finds
    it fired): the timer, firing without a contact, must not schedule its next look."""
    order = new_order()
    await followup.deliver(consumers.CALLERS, [invalid(order)])
    del followup.state.invalid[order.complaint_id]  # the overturn's effect, minus the cancel it lost to the worker
    followup.clock.advance(timedelta(seconds=5))
    assert await followup.fire_due_timers(worker=WORKER, batch_size=10) == 1
    assert followup.state.pending_timers(order.complaint_id) == [], "no next look: nothing is owed"
    assert followup.state.events == []


async def test_routing_after_the_customer_was_told_changes_nothing(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    await followup.deliver(consumers.CALLERS, [invalid(order)])
    told = followup.state.invalid[order.complaint_id]
    assert told.told_at is not None
    await followup.deliver(consumers.CALLERS, [routed(order), routed(new_order())])
    assert followup.state.invalid[order.complaint_id] == told, "too late to take back; kept as it was"
    assert followup.state.event_types() == ["notification.requested"]


async def test_settled_at_first_contact_is_called_back_for_its_owner(followup: Followup) -> None:
    order, resolution_id = new_order(), uuid.uuid4()
    event = resolved_on_contact(order, owner="agent-42", resolution_id=resolution_id)
    await followup.deliver(consumers.CALLERS, [event, event])

    [callback] = followup.state.callbacks.values()
    assert (callback.work_order_id, callback.department, callback.cycle, callback.owner) == (
        resolution_id,
        "customer_service",
        1,
        "agent-42",
    )
    assert callback.due_at == START + timedelta(hours=24), "callback_limit 24h from when it was settled"
    assert callback.resolution == "explained the new tariff"
    assert followup.state.event_types() == ["callback.scheduled"]
    scheduled = followup.state.events[0]
    assert (scheduled.schema_version, scheduled.payload.owner) == (2, "agent-42")
    assert {(p.kind, p.stage) for p in followup.state.pending_timers(callback.callback_id)} == {
        ("warning", "callback"),
        ("breach", "callback"),
    }

    followup.clock.advance(timedelta(hours=3))
    await followup.run(record_outcome, RecordOutcome(callback.callback_id, "dissatisfied", "agent-7", "no"))
    reopened = next(e for e in followup.state.events if e.event_type == "complaint.reopened").payload
    assert (reopened.previous_work_order_id, reopened.severity, reopened.reopen_count) == (resolution_id, "serious", 1)
