"""Recording a callback's outcome through the door on the in-memory repository: what the case
becomes and exactly what is published, for every outcome."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.followup import consumers
from services.followup.handlers.outcomes import RecordOutcome, record_outcome
from services.followup.model import Callback, CallbackClosed, CallbackNotFound
from services.followup.views import FollowupViews
from shared.contracts import CallbackOutcome, Event
from tests.support.followup_events import Order, acknowledged, assigned, new_order, resolved
from tests.unit.followup.conftest import Followup, contact, make_followup


async def _resolve(followup: Followup, order: Order, *, severity: str = "normal") -> Callback:
    """Assign, acknowledge and resolve a work order; returns the callback its resolution scheduled."""
    now = followup.clock()
    batch = [assigned(order, at=now, severity=severity), acknowledged(order, at=now), resolved(order, at=now)]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    return next(c for c in followup.state.callbacks.values() if c.work_order_id == order.work_order_id)


async def _record(followup: Followup, callback: Callback, outcome: CallbackOutcome) -> tuple[Callback, list[Event]]:
    """Record an outcome; returns the callback and the events this one call published."""
    published = len(followup.state.events)
    cmd = RecordOutcome(callback.callback_id, outcome, agent="agent-7", note=f"customer says {outcome}")
    after = await followup.run(record_outcome, cmd)
    return after, followup.state.events[published:]


def _payloads(events: list[Event], event_type: str) -> list[dict[str, Any]]:
    return [e.payload.model_dump(mode="json") for e in events if e.event_type == event_type]


async def test_a_resolution_schedules_one_callback_with_its_clock(followup: Followup) -> None:
    order = new_order()
    callback = await _resolve(followup, order)
    assert (callback.status, callback.attempts, callback.resolution) == ("pending", 0, "refunded")
    assert callback.due_at == followup.clock() + timedelta(hours=24), "the work order's callback limit (24h)"
    assert {(p.kind, p.level) for p in followup.state.pending_timers(callback.callback_id)} == {
        ("warning", 0),
        ("breach", 1),
    }
    assert followup.state.event_types() == ["callback.scheduled"]

    again = resolved(order, at=followup.clock())
    await followup.deliver(consumers.WORK_ORDERS, [again])
    assert len(followup.state.callbacks) == 1, "one callback per work order, whatever is redelivered"


async def test_satisfied_closes_the_case_and_tells_the_customer(followup: Followup) -> None:
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    callback = await _resolve(followup, order)
    followup.clock.advance(timedelta(hours=3))

    after, published = await _record(followup, callback, "satisfied")

    assert (after.status, after.attempts, after.completed_at) == ("satisfied", 1, followup.clock())
    assert [e.event_type for e in published] == ["callback.attempted", "complaint.closed", "notification.requested"]
    assert _payloads(published, "complaint.closed")[0] | {"closed_at": None} == {
        "complaint_id": str(order.complaint_id),
        "reference_no": order.reference_no,
        "work_order_id": str(order.work_order_id),
        "outcome": "satisfied",
        "cycles": 1,
        "closed_at": None,
    }
    notice = _payloads(published, "notification.requested")[0]
    assert (notice["template_id"], notice["recipient"]["phone"]) == ("case_closed", "13600136000")
    case = followup.state.cases[order.complaint_id]
    assert (case.close_outcome, case.closed_at) == ("satisfied", followup.clock())
    assert followup.state.pending_timers(callback.callback_id) == [], "the callback's clock stopped"


async def test_satisfied_without_a_phone_number_closes_without_a_message(followup: Followup) -> None:
    callback = await _resolve(followup, new_order())
    _, published = await _record(followup, callback, "satisfied")
    assert [e.event_type for e in published] == ["callback.attempted", "complaint.closed"]


async def test_dissatisfied_reopens_with_raised_severity(followup: Followup) -> None:
    order = new_order()
    callback = await _resolve(followup, order, severity="normal")

    after, published = await _record(followup, callback, "dissatisfied")

    assert after.status == "dissatisfied"
    assert [e.event_type for e in published] == ["callback.attempted", "complaint.reopened"]
    reopened = _payloads(published, "complaint.reopened")[0]
    assert (reopened["severity"], reopened["reopen_count"]) == ("serious", 1)
    assert reopened["previous_work_order_id"] == str(order.work_order_id)
    assert reopened["reason"] == "customer dissatisfied: customer says dissatisfied"
    assert followup.state.cases[order.complaint_id].closed_at is None
    assert followup.state.escalations == [], "the first dissatisfaction goes to no manager"


async def test_dissatisfied_twice_goes_to_the_top_of_the_dissatisfied_ladder(followup: Followup) -> None:
    first = new_order()
    await _record(followup, await _resolve(followup, first, severity="normal"), "dissatisfied")
    second = new_order(cycle=2, complaint_id=first.complaint_id)
    callback = await _resolve(followup, second, severity="serious")  # dispatch's new cycle, one severity up

    _, published = await _record(followup, callback, "dissatisfied")

    assert [e.event_type for e in published] == [
        "callback.attempted",
        "complaint.reopened",
        "complaint.escalated",
        "notification.requested",
    ]
    reopened = _payloads(published, "complaint.reopened")[0]
    assert (reopened["severity"], reopened["reopen_count"]) == ("emergency", 2)
    escalated = _payloads(published, "complaint.escalated")[0]
    # The policy's dissatisfied ladder is project manager → general manager: its top, at once.
    assert (escalated["stage"], escalated["level"], escalated["escalated_to"]) == ("satisfaction", 2, "general_manager")
    assert escalated["ladder"] == "dissatisfied"
    assert escalated["reason"] == "customer dissatisfied 2 times" and escalated["deadline"] is None
    notice = _payloads(published, "notification.requested")[0]
    assert notice["template_id"] == "dissatisfied_again"
    assert notice["recipient"] == {
        "kind": "staff",
        "phone": None,
        "role": "general_manager",
        "staff_id": None,
        "department": "billing",
        "email": None,
        "wechat_openid": None,
        "preferred_contact": None,
        "customer_id": None,
        "sealed": None,
    }
    assert published[-1].payload.urgency == "urgent", "every staff message is urgent"
    assert notice["params"] == {"reference_no": second.reference_no, "department": "billing"}
    assert [(e.stage, e.escalated_to) for e in followup.state.escalations] == [("satisfaction", "general_manager")]
    assert followup.state.cases[first.complaint_id].dissatisfied_count == 2
    still = [t for t in followup.state.timers if t.plan.stage == "satisfaction"]
    assert len(still) == 1 and still[0].cancelled_at is not None, "the first time's day-later timer is moot now"


async def test_unreachable_is_retried_up_to_the_limit_then_closed_as_unreachable() -> None:
    followup = make_followup(max_attempts=3, retry=timedelta(hours=2))
    views = FollowupViews(followup.transactions, followup.clock)
    order = new_order()
    followup.state.contacts[order.complaint_id] = contact(order)
    callback = await _resolve(followup, order)

    for attempt in (1, 2):
        callback, published = await _record(followup, callback, "unreachable")
        assert (callback.status, callback.attempts) == ("pending", attempt)
        assert callback.next_attempt_at == followup.clock() + timedelta(hours=2)
        assert [e.event_type for e in published] == ["callback.attempted"]
        assert _payloads(published, "callback.attempted")[0]["final"] is False
        assert (await views.worklist(page=1, page_size=50)).total == 0, "off the worklist until the interval passed"
        followup.clock.advance(timedelta(hours=2))
        assert (await views.worklist(page=1, page_size=50)).items[0].attempts == attempt
        assert followup.state.pending_timers(callback.callback_id), "its clock keeps running between tries"

    callback, published = await _record(followup, callback, "unreachable")
    assert (callback.status, callback.attempts) == ("unreachable", 3)
    assert [e.event_type for e in published] == ["callback.attempted", "complaint.closed"]
    assert _payloads(published, "complaint.closed")[0]["outcome"] == "unreachable"
    assert _payloads(published, "callback.attempted")[0]["final"] is True
    assert followup.state.cases[order.complaint_id].close_outcome == "unreachable"
    assert followup.state.pending_timers(callback.callback_id) == []
    assert (await views.worklist(page=1, page_size=50)).total == 0


async def test_a_second_outcome_is_refused_and_changes_nothing(followup: Followup) -> None:
    callback = await _resolve(followup, new_order())
    await _record(followup, callback, "satisfied")
    commits, published = followup.transactions.commits, len(followup.state.events)
    with pytest.raises(CallbackClosed):
        await _record(followup, callback, "dissatisfied")
    assert followup.transactions.commits == commits and len(followup.state.events) == published


async def test_an_unknown_callback_is_not_found(followup: Followup) -> None:
    with pytest.raises(CallbackNotFound):
        await followup.run(record_outcome, RecordOutcome(uuid.uuid4(), "satisfied", agent="a"))
