"""A coordinated case's part given a new deadline by the customer-service centre (`workorder.deadline_set`, issue 24,
seed 002): followup holds the part to it — its tracked deadline and its pending resolve timers move (the warning at
the policy's share of the new span); an untracked work order is left to its assignment."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.followup import consumers
from shared.contracts.dispatch import WorkOrderDeadlineSet
from tests.support.followup_events import START, Order, _facts, assigned, new_order, order_event
from tests.unit.followup.conftest import SLA, Followup


def deadline_set(order: Order, resolve_by: datetime) -> WorkOrderDeadlineSet:
    return order_event(
        WorkOrderDeadlineSet,
        order,
        {
            **_facts(order, "assigned", START),
            "actor": "cs.ma",
            "actor_name": "马琳",
            "resolve_by": resolve_by,
            "previous_resolve_by": START + timedelta(days=2),
            "note": "两个工作日内",
        },
    )


async def test_the_part_is_held_to_the_deadline_the_centre_set(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order)])
    sooner = START + timedelta(hours=6)
    await followup.deliver(consumers.WORK_ORDERS, [deadline_set(order, sooner)])
    clock = {t.kind: t.due_at for t in followup.state.pending_timers(order.work_order_id) if t.stage == "resolve"}
    assert clock == {"warning": START + (sooner - START) * SLA.warning_share, "breach": sooner}
    assert followup.state.work_orders[order.work_order_id].resolve_by == sooner

    untracked = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [deadline_set(untracked, sooner)])
    assert untracked.work_order_id not in followup.state.work_orders
