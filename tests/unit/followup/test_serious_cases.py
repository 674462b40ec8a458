"""Serious and emergency cases go to management at once, through the door on the in-memory repository:
the lead work order's assignment tells the manager of its department and leadership (`serious_case_opened`),
once per work order; assisting work orders and normal cases tell nobody."""

from __future__ import annotations

import pytest

from services.followup import consumers
from shared.contracts import NotificationRequested
from tests.support.followup_events import assigned, new_order
from tests.unit.followup.conftest import Followup


def _told(followup: Followup) -> list[NotificationRequested]:
    return [
        e
        for e in followup.state.events
        if isinstance(e, NotificationRequested) and e.payload.template_id == "serious_case_opened"
    ]


@pytest.mark.parametrize("severity", ["serious", "emergency"])
async def test_a_serious_lead_work_order_goes_to_the_department_manager_and_leadership(
    followup: Followup, severity: str
) -> None:
    order = new_order()
    event = assigned(order, severity=severity, department="repair", category="equipment_fault")
    await followup.deliver(consumers.WORK_ORDERS, [event])

    told = _told(followup)
    recipients = [(n.payload.recipient.kind, n.payload.recipient.role, n.payload.recipient.department) for n in told]
    assert recipients == [("staff", "department_manager", "repair"), ("staff", "leadership", None)]
    notice = told[0].payload
    assert notice.params == {"reference_no": order.reference_no, "department": "repair", "severity": severity}
    assert order.reference_no in notice.text and notice.locale == "en"
    assert {n.correlation_id for n in told} == {event.correlation_id}
    assert [r.template_id for r in followup.state.notifications] == ["serious_case_opened"] * 2


async def test_management_is_told_once_per_work_order(followup: Followup) -> None:
    order = new_order()
    first = assigned(order, severity="serious")
    again = assigned(order, severity="serious")  # dispatch publishing the same assignment again
    await followup.deliver(consumers.WORK_ORDERS, [first, first])
    await followup.deliver(consumers.WORK_ORDERS, [again])
    assert len(_told(followup)) == 2, "one to the department manager, one to leadership, once"

    reopened = new_order(cycle=2, complaint_id=order.complaint_id)
    await followup.deliver(consumers.WORK_ORDERS, [assigned(reopened, severity="emergency")])
    assert len(_told(followup)) == 4, "a new cycle's lead work order is told again"


async def test_assisting_work_orders_and_normal_cases_tell_nobody(followup: Followup) -> None:
    lead, normal = new_order(), new_order()
    assisting = new_order(complaint_id=lead.complaint_id)
    event = assigned(
        assisting, severity="serious", role="assisting", lead_work_order_id=lead.work_order_id, department="repair"
    )
    await followup.deliver(consumers.WORK_ORDERS, [event, assigned(normal)])
    assert _told(followup) == [] and followup.state.events == []
    assert assisting.work_order_id in followup.state.work_orders, "tracked all the same"
