"""A partner hotline's deadline (complaint.received v4 `partner_deadline_at`) becomes the case's when it is stricter:
whether the complaint or its work order reaches followup first, the resolve clock ends at the partner's deadline
(its warning at the policy's share of the shorter span); a laxer deadline changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.followup import consumers
from shared.contracts import Channel, ComplaintReceived, WorkOrderAssigned
from tests.support.followup_events import START, Order, new_order, received
from tests.support.followup_events import assigned as assigned_on_phone
from tests.unit.followup.conftest import SLA, Followup

STRICT = START + timedelta(days=1)  # the policy gives two days (`assigned`)


def partner_received(order: Order, deadline: datetime) -> ComplaintReceived:
    event = received(order, channel="partner_12345")
    payload = event.payload.model_copy(update={"partner_deadline_at": deadline, "agent_id": None})
    return event.model_copy(update={"payload": payload})


def assigned(order: Order) -> WorkOrderAssigned:
    event = assigned_on_phone(order)
    return event.model_copy(update={"payload": event.payload.model_copy(update={"channel": Channel.PARTNER_12345})})


def resolve_clock(followup: Followup, order: Order) -> dict[str, datetime]:
    return {t.kind: t.due_at for t in followup.state.pending_timers(order.work_order_id) if t.stage == "resolve"}


@pytest.mark.parametrize("complaint_first", [True, False])
async def test_a_stricter_partner_deadline_ends_the_resolve_clock_whichever_arrives_first(
    followup: Followup, complaint_first: bool
) -> None:
    order = new_order()
    deliveries = [
        (consumers.COMPLAINT_CONTACT, [partner_received(order, STRICT)]),
        (consumers.WORK_ORDERS, [assigned(order)]),
    ]
    for subscription, events in deliveries if complaint_first else deliveries[::-1]:
        await followup.deliver(subscription, events)
    assert resolve_clock(followup, order) == {
        "warning": START + (STRICT - START) * SLA.warning_share,
        "breach": STRICT,
    }
    tracked = followup.state.work_orders[order.work_order_id]
    assert tracked.resolve_by == STRICT and tracked.acknowledge_by == START + timedelta(hours=1)
    assert {t.kind: t.due_at for t in followup.state.pending_timers(order.work_order_id) if t.stage == "acknowledge"}[
        "breach"
    ] == START + timedelta(hours=1)


async def test_a_laxer_partner_deadline_leaves_the_policys_clock(followup: Followup) -> None:
    order = new_order()
    await followup.deliver(consumers.WORK_ORDERS, [assigned(order)])
    await followup.deliver(consumers.COMPLAINT_CONTACT, [partner_received(order, START + timedelta(days=5))])
    assert resolve_clock(followup, order)["breach"] == START + timedelta(days=2)
    assert followup.state.work_orders[order.work_order_id].resolve_by == START + timedelta(days=2)
