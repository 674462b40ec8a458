"""The duty manager (`duty_calls.py`, `handlers/duty_manager.py`) through the door on the in-memory repository:
who is called, told at once, the acknowledgement clock from the policy (scaled like every clock), acknowledging
it, and a missed limit climbing the duty manager's ladder rung by rung."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from services.followup import consumers
from services.followup.duty_calls import needs_duty_manager, unsettled_at_counter
from services.followup.handlers.context import FollowupContext
from services.followup.handlers.duty_manager import AcknowledgeDutyCall, acknowledge
from services.followup.model import CallbackPolicy, DutyCallNotFound, DutyCallNotPending
from services.followup.notifications import Notifier, Templates
from services.followup.sla_clocks import ClockRules
from shared.handling import Door
from tests.fakes.clock import SetClock
from tests.fakes.followup import FakeTransactions
from tests.support.followup_events import START, assigned, new_order, received, routed
from tests.unit.followup.conftest import SLA, Followup

WORKER = "unit-test"
LIMIT = timedelta(minutes=3)  # policy.toml [duty_manager].acknowledge (seed 001: 3 minutes)


async def _fire(followup: Followup) -> list[str]:
    published = len(followup.state.events)
    await followup.fire_due_timers(worker=WORKER, batch_size=100)
    return [e.event_type for e in followup.state.events[published:]]


def _payload(followup: Followup, index: int = -1) -> Any:
    return followup.state.events[index].payload


@pytest.mark.parametrize(
    ("channel", "handled", "agitated", "called"),
    [
        ("counter", None, False, "counter complaint not settled on the spot"),
        ("counter", "explained the bill", False, None),
        ("phone", None, False, None),
        ("web", None, False, None),
        ("phone", None, True, "customer agitated"),
        ("counter", "explained the bill", True, "customer agitated"),
    ],
)
def test_who_brings_the_duty_manager(channel: str, handled: str | None, agitated: bool, called: str | None) -> None:
    event = received(new_order(), channel=channel, handled_on_contact=handled, agitated=agitated)
    assert needs_duty_manager(event.payload, SLA.duty_manager.channels) == called


async def test_a_counter_complaint_not_settled_calls_the_duty_manager_at_once(followup: Followup) -> None:
    order = new_order()
    event = received(order, at=START - timedelta(seconds=30))
    await followup.deliver(consumers.COMPLAINT_CONTACT, [event, event])

    assert followup.state.event_types() == ["duty_manager.called", "notification.requested"], (
        "called and told once, however often it is delivered"
    )
    called = _payload(followup, 0)
    assert (called.reference_no, called.channel) == (order.reference_no, "counter")
    assert called.go_by == START - timedelta(seconds=30) + LIMIT
    notice = _payload(followup)
    assert notice.template_id == "duty_manager_called"
    assert (notice.recipient.kind, notice.recipient.role, notice.recipient.department) == (
        "staff",
        "duty_manager",
        "customer_service",
    )
    assert order.reference_no in notice.text
    deadline = event.payload.accepted_at + LIMIT
    timers = {(p.kind, p.stage, p.level, p.ladder): p.due_at for p in followup.state.pending_timers(order.complaint_id)}
    assert timers == {
        ("warning", "duty_manager", 0, "duty_manager"): event.payload.accepted_at + LIMIT * SLA.warning_share,
        ("breach", "duty_manager", 1, "duty_manager"): deadline,
    }, "the clock runs from when intake accepted it"


async def test_complaints_that_need_nobody_are_left_alone(followup: Followup) -> None:
    settled = received(new_order(), handled_on_contact="explained")
    phone = received(new_order(), channel="phone")
    await followup.deliver(consumers.COMPLAINT_CONTACT, [settled, phone])
    assert followup.state.events == [] and followup.state.timers == [] and followup.state.duty_calls == {}


@pytest.mark.parametrize(
    ("channel", "reason", "cycle", "called"),
    [
        ("counter", "new", 1, True),
        ("phone", "new", 1, False),
        ("counter", "reopened", 2, False),
        ("counter", "reclassified", 1, False),
    ],
)
def test_which_routing_means_the_counter_did_not_settle(channel: str, reason: str, cycle: int, called: bool) -> None:
    event = routed(replace(new_order(), cycle=cycle), reason=reason, channel=channel)
    assert (unsettled_at_counter(event, SLA.duty_manager.channels) is not None) is called


async def test_a_settlement_dispatch_refuses_at_the_counter_calls_the_duty_manager(followup: Followup) -> None:
    """The agent said "settled" (no call on receipt), but dispatch routed it (a safety hazard): not settled on
    the spot after all. The clock runs from acceptance, and a second routing or the received event call nobody."""
    order = new_order()
    accepted = START - timedelta(seconds=40)
    await followup.deliver(
        consumers.COMPLAINT_CONTACT, [received(order, at=accepted, handled_on_contact="told them to open a window")]
    )
    assert followup.state.duty_calls == {}

    first = routed(order, reason="new", channel="counter", at=accepted)
    await followup.deliver(consumers.CALLERS, [first, first])
    assert [(e.event_type, getattr(e.payload, "template_id", None)) for e in followup.state.events] == [
        ("duty_manager.called", None),
        ("notification.requested", "duty_manager_called"),
    ], "called once"
    assert followup.state.duty_calls[order.complaint_id].acknowledge_by == accepted + LIMIT

    await followup.deliver(consumers.COMPLAINT_CONTACT, [received(order, at=accepted)])
    assert len(followup.state.events) == 2, "the received event after the routing calls nobody again"


async def test_the_limit_is_scaled_like_every_clock() -> None:
    clock = SetClock(START)
    transactions = FakeTransactions()
    context = FollowupContext(
        clocks=ClockRules(SLA, time_scale=0.01),
        notifier=Notifier(Templates(), "en", SLA.calendar.tz),
        callbacks=CallbackPolicy(),
    )
    scaled = Followup(Door(transactions, context, clock=clock), transactions, clock)
    order = new_order()
    await scaled.deliver(consumers.COMPLAINT_CONTACT, [received(order)])
    breach = next(t.plan for t in transactions.state.timers if t.plan.kind == "breach")
    assert breach.due_at == START + LIMIT * 0.01


async def test_acknowledged_in_time_stops_the_clock(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.COMPLAINT_CONTACT, [received(order)])
    followup.clock.advance(timedelta(minutes=2))

    call = await followup.run(acknowledge, AcknowledgeDutyCall(order.complaint_id, "dm-3", "on my way"))

    assert (call.acknowledged_by, call.acknowledged_at, call.note) == ("dm-3", followup.clock(), "on my way")
    assert followup.state.pending_timers(order.complaint_id) == []
    followup.clock.advance(timedelta(hours=5))
    assert await _fire(followup) == []
    with pytest.raises(DutyCallNotPending, match="already acknowledged by dm-3"):
        await followup.run(acknowledge, AcknowledgeDutyCall(order.complaint_id, "dm-4"))


async def test_acknowledging_what_was_never_called_is_refused(followup: Followup) -> None:
    with pytest.raises(DutyCallNotFound):
        await followup.run(acknowledge, AcknowledgeDutyCall(new_order().complaint_id, "dm-3"))
    known = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(known)])
    with pytest.raises(DutyCallNotPending, match="not called"):
        await followup.run(acknowledge, AcknowledgeDutyCall(known.complaint_id, "dm-3"))


async def test_a_missed_limit_warns_then_climbs_the_duty_manager_ladder(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.COMPLAINT_CONTACT, [received(order, agitated=True)])

    followup.clock.advance(LIMIT * SLA.warning_share)
    assert await _fire(followup) == ["complaint.sla_warning", "notification.requested"]
    warning = _payload(followup, -2)
    assert (warning.stage, warning.department, warning.deadline) == ("duty_manager", "customer_service", START + LIMIT)
    assert _payload(followup).recipient.role == "department_manager", "the first rung of the duty manager's ladder"

    followup.clock.advance(LIMIT * (1 - SLA.warning_share))
    ladder = SLA.ladder(SLA.duty_manager.ladder)
    assert ladder == ("department_manager", "general_manager")
    for level, role in enumerate(ladder, start=1):
        assert await _fire(followup) == ["complaint.escalated", "notification.requested"]
        escalated = _payload(followup, -2)
        assert (escalated.stage, escalated.level, escalated.escalated_to, escalated.ladder) == (
            "duty_manager",
            level,
            role,
            "duty_manager",
        )
        assert escalated.work_order_id is None and escalated.reason == "duty manager did not acknowledge in time"
        assert _payload(followup).recipient.role == role
        followup.clock.advance(timedelta(hours=2))
    assert await _fire(followup) == [], "nobody above the top rung"
    late = await followup.run(acknowledge, AcknowledgeDutyCall(order.complaint_id, "dm-3"))
    assert late.acknowledged_at is not None and late.acknowledged_at > late.acknowledge_by


async def test_a_complaint_past_the_whole_ladder_calls_nobody(followup: Followup) -> None:
    """A new consumer group reads complaint.received from its start: last month's counter complaints call no one."""
    interval = timedelta(hours=2)  # escalation_interval
    rungs = len(SLA.ladder(SLA.duty_manager.ladder))
    old, recent = new_order(), new_order()
    batch = [
        received(old, at=START - LIMIT - interval * rungs - timedelta(seconds=1)),
        received(recent, at=START - LIMIT - interval * rungs + timedelta(seconds=1)),
    ]
    await followup.deliver(consumers.COMPLAINT_CONTACT, batch)
    assert set(followup.state.duty_calls) == {recent.complaint_id}
