"""A batch of work-order events (issue 27): consecutive assignments are tracked together — their clocks scheduled
in one go — and the batch still applies in its order: a step after an assignment in the same batch stops that
assignment's clocks, a work order assigned twice is tracked once, a serious case's management told once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.followup import consumers
from tests.support.followup_events import START, acknowledged, assigned, new_order
from tests.unit.followup.conftest import Followup


async def test_a_batch_of_assignments_starts_every_work_orders_clocks(followup: Followup) -> None:
    orders = [new_order() for _ in range(3)]
    await followup.deliver(consumers.WORK_ORDERS, [assigned(o, interim_in=timedelta(hours=1)) for o in orders])
    for order in orders:
        kinds = sorted((t.kind, t.stage) for t in followup.state.pending_timers(order.work_order_id))
        assert kinds == [
            ("breach", "acknowledge"),
            ("breach", "resolve"),
            ("interim_reply", "interim_reply"),
            ("warning", "acknowledge"),
            ("warning", "resolve"),
        ]


async def test_a_step_after_its_assignment_in_one_batch_stops_its_clocks(followup: Followup) -> None:
    order, other = new_order(), new_order()
    batch = [assigned(order), assigned(other), acknowledged(order, at=START + timedelta(minutes=5)), assigned(other)]
    await followup.deliver(consumers.WORK_ORDERS, batch)
    assert {t.stage for t in followup.state.pending_timers(order.work_order_id)} == {"resolve"}
    assert {t.stage for t in followup.state.pending_timers(other.work_order_id)} == {"acknowledge", "resolve"}
    assert len([t for t in followup.state.timers if t.plan.subject_id == other.work_order_id]) == 4


async def test_a_serious_work_order_named_twice_in_a_batch_tells_management_once(followup: Followup) -> None:
    order = new_order()
    first = assigned(order, severity="serious")
    again = first.model_copy(update={"event_id": uuid.uuid4()})  # dispatch saying it twice
    await followup.deliver(consumers.WORK_ORDERS, [first, again])
    told = [e for e in followup.state.events if e.event_type == "notification.requested"]
    assert len(told) == 2  # the department's manager and leadership, once each
    assert len(followup.state.work_orders) == 1
