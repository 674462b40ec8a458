"""Issue 26, must-show 3: a work order's `acknowledged` and `resolved` arrive before its `assigned` (a replay, or an
older release's relays publishing one complaint's events out of order). Followup holds the steps and applies them
right after the assignment: no live clock for the resolved work order, one callback, no escalation; a held step is
applied once, however often it is redelivered."""

from __future__ import annotations

from datetime import timedelta

from services.followup import consumers
from tests.support.followup_events import START, acknowledged, assigned, new_order, resolved
from tests.unit.followup.conftest import Followup


async def test_steps_before_their_assignment_are_applied_after_it(followup: Followup) -> None:
    order = new_order()
    steps = [acknowledged(order, at=START + timedelta(minutes=5)), resolved(order, at=START + timedelta(hours=2))]
    await followup.deliver(consumers.WORK_ORDERS, steps)
    assert followup.state.event_types() == [] and len(followup.state.held) == 2, "held: no work order yet"
    await followup.deliver(consumers.WORK_ORDERS, steps)  # redelivered: still held once each
    assert len(followup.state.held) == 2

    await followup.deliver(consumers.WORK_ORDERS, [assigned(order)])
    assert followup.state.held == {}
    assert followup.state.pending_timers(order.work_order_id) == [], "no live clock for a resolved work order"
    assert [c.work_order_id for c in followup.state.callbacks.values()] == [order.work_order_id], "one callback"
    followup.clock.advance(timedelta(hours=20))  # every stage's limit past, the callback's (24 h) not yet
    await followup.fire_due_timers(worker="w", batch_size=100)
    fired = followup.state.event_types()
    assert "complaint.escalated" not in fired and "complaint.sla_warning" not in fired, "no escalation, no warning"


async def test_a_step_after_its_assignment_in_the_same_batch_is_not_held(followup: Followup) -> None:
    order = new_order()
    batch = [assigned(order), acknowledged(order, at=START + timedelta(minutes=5))]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    assert followup.state.held == {}
    stages = {p.stage for p in followup.state.pending_timers(order.work_order_id)}
    assert "acknowledge" not in stages and stages, "the acknowledgement stopped its clock; the others run"
