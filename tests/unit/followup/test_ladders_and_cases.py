"""Issue 13's rules on work orders and callbacks, through the door on the in-memory repository: the
ladder each clock climbs comes from the SLA rule (category, severity, district's area class); the dissatisfied
path (a day later the project manager only, then dissatisfied twice); coordinated cases (assisting work orders,
`case_resolved`, the callback on the lead); the callback's owner (also when the first to sign takes the case) and
the survey's scores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.followup import consumers
from services.followup.handlers.outcomes import RecordOutcome, record_outcome
from services.followup.model import Callback
from services.followup.views import FollowupViews
from tests.support.followup_events import acknowledged, assigned, new_order, resolved
from tests.unit.followup.conftest import SLA, Followup

WORKER = "unit-test"
DAY = timedelta(hours=24)  # [follow_through].dissatisfied_after


async def _fire(followup: Followup) -> list[str]:
    published = len(followup.state.events)
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    return [e.event_type for e in followup.state.events[published:]]


async def _callback(followup: Followup, *, owner: str | None = "agent-42") -> Callback:
    order = new_order()
    now = followup.clock()
    batch = [assigned(order, at=now, owner=owner), acknowledged(order, at=now), resolved(order, at=now)]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    return next(c for c in followup.state.callbacks.values() if c.work_order_id == order.work_order_id)


@pytest.mark.parametrize(
    ("category", "severity", "district", "ladder", "first_rung"),
    [
        ("billing", "normal", "和平区", "default", "supervisor"),
        ("equipment_fault", "emergency", "和平区", "urgent", "department_manager"),
        ("equipment_fault", "emergency", "Kangping", "urgent", "department_manager"),
    ],
)
async def test_a_breach_climbs_the_ladder_its_rule_names(
    followup: Followup, category: str, severity: str, district: str, ladder: str, first_rung: str
) -> None:
    order = new_order()
    event = assigned(order, category=category, severity=severity, district=district)
    await followup.deliver(consumers.WORK_ORDERS, [event])
    assert followup.state.work_orders[order.work_order_id].ladder == ladder
    assert followup.state.work_orders[order.work_order_id].district == district

    followup.clock.advance(timedelta(hours=1) * SLA.warning_share)
    assert await _fire(followup) == ["complaint.sla_warning", "notification.requested"]
    assert followup.state.events[-1].payload.recipient.role == first_rung, "warned: the first rung of its ladder"
    followup.clock.advance(timedelta(hours=1))
    await _fire(followup)
    escalated = followup.state.events[-2].payload
    assert (escalated.escalated_to, escalated.ladder, escalated.level) == (first_rung, ladder, 1)
    assert followup.state.escalations[0].ladder == ladder


async def test_still_dissatisfied_a_day_later_tells_the_project_manager_only(followup: Followup) -> None:
    callback = await _callback(followup)
    await followup.run(record_outcome, RecordOutcome(callback.callback_id, "dissatisfied", "agent-7", "cold"))
    assert followup.state.escalations == [], "nobody is told at once the first time"

    followup.clock.advance(DAY - timedelta(minutes=1))
    assert await _fire(followup) == []
    followup.clock.advance(timedelta(minutes=1))
    assert await _fire(followup) == ["complaint.escalated", "notification.requested"]
    escalated = followup.state.events[-2].payload
    assert (escalated.stage, escalated.level, escalated.escalated_to, escalated.ladder) == (
        "satisfaction",
        1,
        "project_manager",
        "dissatisfied",
    )
    assert escalated.reason == "customer still dissatisfied after handling"
    assert followup.state.events[-1].payload.recipient.role == "project_manager"

    # The general manager hears of it only when the customer is dissatisfied again, not from this clock.
    assert [t.plan.stage for t in followup.state.timers if t.pending] == []
    followup.clock.advance(DAY * 3)
    assert await _fire(followup) == []
    assert [e.escalated_to for e in followup.state.escalations] == ["project_manager"]


async def test_satisfied_within_the_day_cancels_the_dissatisfied_timer(followup: Followup) -> None:
    first = await _callback(followup)
    await followup.run(record_outcome, RecordOutcome(first.callback_id, "dissatisfied", "agent-7", "cold"))
    # Dispatch's second cycle of the same case, resolved; this time the customer is satisfied.
    order = new_order(cycle=2, complaint_id=first.complaint_id)
    now = followup.clock.advance(timedelta(hours=5))
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order, at=now), resolved(order, at=now)])
    second = next(c for c in followup.state.callbacks.values() if c.work_order_id == order.work_order_id)
    await followup.run(record_outcome, RecordOutcome(second.callback_id, "satisfied", "agent-7"))

    timer = next(t for t in followup.state.timers if t.plan.stage == "satisfaction")
    assert timer.cancelled_at == followup.clock()
    followup.clock.advance(DAY * 2)
    await _fire(followup)
    assert followup.state.escalations == []


async def test_a_coordinated_case_is_called_back_once_all_its_work_orders_are_resolved(followup: Followup) -> None:
    lead = new_order()
    assisting = new_order(complaint_id=lead.complaint_id)
    batch = [
        assigned(lead, owner="agent-42"),
        assigned(assisting, owner="agent-42", role="assisting", lead_work_order_id=lead.work_order_id),
    ]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    assert followup.state.work_orders[assisting.work_order_id].role == "assisting"
    assert {p.stage for p in followup.state.pending_timers(assisting.work_order_id)} == {"acknowledge", "resolve"}

    now = followup.clock.advance(timedelta(hours=2))
    await followup.deliver(consumers.WORK_ORDERS, [resolved(lead, at=now, case_resolved=False)])
    assert followup.state.callbacks == {}, "the case is not resolved while the billing part is open"
    assert followup.state.pending_timers(lead.work_order_id) == [], "the lead's own clocks stop"

    await followup.deliver(consumers.WORK_ORDERS, [resolved(assisting, at=now, case_resolved=True)])
    [callback] = followup.state.callbacks.values()
    assert (callback.work_order_id, callback.owner) == (lead.work_order_id, "agent-42"), "the case's: the lead's"


async def test_a_case_its_assisting_order_resolves_is_called_back_on_the_lead(followup: Followup) -> None:
    lead = new_order()
    assisting = new_order(complaint_id=lead.complaint_id)
    urgent = {"category": "equipment_fault", "severity": "emergency", "district": "和平区"}
    batch = [
        assigned(lead, owner="agent-42", department="repair", callback_limit="4h", **urgent),
        assigned(
            assisting,
            owner=None,
            role="assisting",
            lead_work_order_id=lead.work_order_id,
            department="billing",
            callback_limit="2wd",
        ),
    ]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    assert followup.state.work_orders[assisting.work_order_id].lead_work_order_id == lead.work_order_id

    now = followup.clock.advance(timedelta(hours=1))
    first = resolved(lead, at=now, case_resolved=False, department="repair")
    last = resolved(assisting, at=now, case_resolved=True, department="billing")
    await followup.deliver(consumers.WORK_ORDERS, [first, last])

    [callback] = followup.state.callbacks.values()
    assert (callback.work_order_id, callback.department, callback.owner, callback.ladder) == (
        lead.work_order_id,
        "repair",
        "agent-42",
        "urgent",
    )
    assert callback.due_at == now + timedelta(hours=4), "the lead's callback limit, not the assisting one's"
    assert {p.ladder for p in followup.state.pending_timers(callback.callback_id)} == {"urgent"}
    scheduled = next(e for e in followup.state.events if e.event_type == "callback.scheduled").payload
    assert (scheduled.work_order_id, scheduled.owner) == (lead.work_order_id, "agent-42")

    # Dissatisfied: dispatch reopens the case through its lead.
    await followup.run(record_outcome, RecordOutcome(callback.callback_id, "dissatisfied", "agent-7", "cold"))
    reopened = next(e for e in followup.state.events if e.event_type == "complaint.reopened").payload
    assert reopened.previous_work_order_id == lead.work_order_id


async def test_the_first_to_sign_for_an_unowned_case_owns_its_callback(followup: Followup) -> None:
    lead = new_order()
    assisting = new_order(complaint_id=lead.complaint_id)
    other = new_order()
    batch = [
        assigned(lead, owner=None),
        assigned(assisting, owner=None, role="assisting", lead_work_order_id=lead.work_order_id),
        assigned(other, owner="agent-1"),
    ]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    now = followup.clock.advance(timedelta(minutes=10))
    signed = [acknowledged(lead, at=now, owner="billing-clerk-5"), acknowledged(other, at=now, owner="agent-2")]
    await followup.deliver(consumers.WORK_ORDERS, signed)
    orders = followup.state.work_orders
    assert orders[lead.work_order_id].owner == orders[assisting.work_order_id].owner == "billing-clerk-5"
    assert orders[other.work_order_id].owner == "agent-1", "an owned case keeps its owner"

    now = followup.clock.advance(timedelta(hours=1))
    await followup.deliver(consumers.WORK_ORDERS, [resolved(lead, at=now)])
    callback = next(c for c in followup.state.callbacks.values() if c.complaint_id == lead.complaint_id)
    assert callback.owner == "billing-clerk-5"
    scheduled = next(e for e in followup.state.events if e.event_type == "callback.scheduled").payload
    assert scheduled.owner == "billing-clerk-5"
    views = FollowupViews(followup.transactions, followup.clock)
    listed = await views.worklist(page=1, page_size=50, owner="billing-clerk-5")
    assert [c.callback_id for c in listed.items] == [callback.callback_id]


async def test_the_callback_carries_its_owner_and_the_worklist_filters_by_it(followup: Followup) -> None:
    mine = await _callback(followup, owner="agent-42")
    await _callback(followup, owner="agent-9")
    scheduled = next(e for e in followup.state.events if e.payload.callback_id == mine.callback_id)
    assert scheduled.payload.owner == "agent-42"

    views = FollowupViews(followup.transactions, followup.clock)
    listed = await views.worklist(page=1, page_size=50, owner="agent-42")
    assert [(c.callback_id, c.owner) for c in listed.items] == [(mine.callback_id, "agent-42")]
    assert listed.total == 1 and (await views.worklist(page=1, page_size=50)).total == 2


async def test_survey_scores_are_stored_and_published(followup: Followup) -> None:
    callback = await _callback(followup)
    scores = {"supply": 4, "attitude": 5, "speed": 3}
    after = await followup.run(
        record_outcome, RecordOutcome(callback.callback_id, "satisfied", "agent-7", scores=scores)
    )
    assert after.scores == scores and followup.state.callbacks[callback.callback_id].scores == scores
    attempted = next(e for e in followup.state.events if e.event_type == "callback.attempted")
    assert attempted.schema_version == 4
    assert attempted.payload.scores.model_dump() == {**scores, "billing": None}


async def test_a_persons_outcome_records_their_id_name_and_method(followup: Followup) -> None:
    """A signed-in agent's call names them (staff id and display name) and how the customer was reached."""
    callback = await _callback(followup, owner="agent.li")
    after = await followup.run(
        record_outcome,
        RecordOutcome(callback.callback_id, "satisfied", "agent.li", "上门回访", agent_name="李娜", method="visit"),
    )
    assert (after.last_agent, after.last_agent_name, after.last_method) == ("agent.li", "李娜", "visit")
    stored = followup.state.callbacks[callback.callback_id]
    assert (stored.last_agent, stored.last_agent_name, stored.last_method) == ("agent.li", "李娜", "visit")
    attempted = next(e for e in followup.state.events if e.event_type == "callback.attempted").payload
    assert (attempted.agent, attempted.agent_name, attempted.method) == ("agent.li", "李娜", "visit")
    read = await FollowupViews(followup.transactions, followup.clock).callback(after)
    assert (read.last_agent, read.last_agent_name, read.last_method, read.owner) == (
        "agent.li",
        "李娜",
        "visit",
        "agent.li",
    )


async def test_a_credentials_outcome_is_a_phone_call_under_its_name(followup: Followup) -> None:
    callback = await _callback(followup)
    await followup.run(record_outcome, RecordOutcome(callback.callback_id, "unreachable", "callback-agent"))
    attempted = next(e for e in followup.state.events if e.event_type == "callback.attempted").payload
    assert (attempted.agent, attempted.agent_name, attempted.method) == ("callback-agent", None, "phone")


async def test_an_unreachable_customer_gives_no_scores(followup: Followup) -> None:
    callback = await _callback(followup)
    with pytest.raises(ValueError, match="unreachable"):
        await followup.run(
            record_outcome, RecordOutcome(callback.callback_id, "unreachable", "agent-7", scores={"supply": 2})
        )
    assert followup.state.callbacks[callback.callback_id].attempts == 0, "nothing recorded"
