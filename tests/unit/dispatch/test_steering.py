"""The customer-service centre steering a coordinated case, on the in-memory repository (seed 002,
`handlers/steering.py`): opening with a lead other than the one leading now, the lead changed (the previous lead and
the other parts then assist the new one), a part's deadline (later than now), instructions; refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dispatch.handlers import steering
from services.dispatch.model import Actor, Conflict, Invalid
from shared.contracts import Department
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver
from tests.unit.dispatch.test_coordination import _lead

CENTRE = Actor(name="cs.ma", staff_id="cs.ma", display_name="马琳", roles=frozenset({"supervisor"}), supervisor=True)


async def test_the_centre_opens_a_case_led_by_billing_and_steers_it(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    lead = await _lead(dispatcher, store)
    door = dispatcher.door
    opening = steering.Open(lead.complaint_id, Department.BILLING, (Department.BILLING,), "以退费为主", CENTRE)
    with pytest.raises(Invalid):
        await door.run(steering.open_case, opening)
    opened = await door.run(
        steering.open_case, steering.Open(lead.complaint_id, Department.BILLING, (), "退费", CENTRE)
    )
    roles = {p.department: (p.role, p.lead_work_order_id) for p in opened.parts}
    billing = next(p for p in opened.parts if p.department == "billing")
    assert roles == {"billing": ("lead", None), "repair": ("assisting", billing.work_order_id)}
    assert [e.event_type for e in store.state.events[-3:]] == [
        "workorder.assigned",
        "workorder.lead_changed",
        "workorder.coordinated",
    ]
    with pytest.raises(Conflict):
        await door.run(steering.open_case, steering.Open(lead.complaint_id, None, (), "again", CENTRE))

    clock.advance(timedelta(minutes=1))
    later = clock.now + timedelta(hours=3)
    with pytest.raises(Invalid):
        await door.run(
            steering.set_deadline, steering.SetDeadline(lead.complaint_id, lead.work_order_id, clock.now, "", CENTRE)
        )
    steered = await door.run(
        steering.set_deadline, steering.SetDeadline(lead.complaint_id, lead.work_order_id, later, "今天", CENTRE)
    )
    assert next(p for p in steered.parts if p.department == "repair").resolve_by == later
    clock.advance(timedelta(minutes=1))
    told = await door.run(steering.instruct, steering.Instruct(lead.complaint_id, None, "同步进展", CENTRE))
    assert [s["action"] for s in told.steps][-3:] == ["deadline_set", "instructed", "instructed"]

    back = await door.run(
        steering.change_lead, steering.ChangeLead(lead.complaint_id, Department.REPAIR, "维修为主", CENTRE)
    )
    roles = {p.department: (p.role, p.lead_work_order_id) for p in back.parts}
    assert roles == {"repair": ("lead", None), "billing": ("assisting", lead.work_order_id)}
    with pytest.raises(Invalid):
        await door.run(steering.change_lead, steering.ChangeLead(lead.complaint_id, Department.REPAIR, "x", CENTRE))
