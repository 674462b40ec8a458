"""Coordinated cases on the in-memory repository: a lead work order and assisting ones, each department's queue,
the case resolved only when every part is, an assisting department's return, a reclassified lead."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dispatch.model import SYSTEM, Conflict, Forbidden, Invalid, Step, WorkOrder
from services.dispatch.views import DispatchViews
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Category, Department, WorkOrderAssigned, WorkOrderResolved, WorkOrderReturned
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver
from tests.unit.dispatch.test_handlers import (
    BILLING,
    HEATING,
    REPAIR,
    SERVICE,
    SUPERVISOR,
    _only_order,
    _received,
    _route,
)


async def _lead(
    dispatcher: DispatchDriver, store: FakeTransactions, text: str = HEATING, **kwargs: object
) -> WorkOrder:
    event = _received(text, **kwargs)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    assert order.department == "repair"
    return order


def _resolve(code: str) -> Step:
    return Step(Action.RESOLVE, resolution="done", root_cause=code)


async def test_the_lead_department_asks_billing_to_assist(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock, views: DispatchViews
) -> None:
    lead = await _lead(dispatcher, store)
    asked_at = clock.advance(timedelta(minutes=20))
    view = await dispatcher.assist(lead.work_order_id, Department.BILLING, "核实多扣的费用", REPAIR)

    part = view.order
    assert (part.role, part.lead_work_order_id, part.department, part.category) == (
        "assisting",
        lead.work_order_id,
        "billing",
        "billing",
    )
    assert (part.complaint_id, part.cycle, part.severity, part.status) == (lead.complaint_id, 1, "normal", "assigned")
    assert part.starts_at == asked_at and asked_at < part.acknowledge_by < part.resolve_by, "its own clocks"
    assert part.policy_id != lead.policy_id, "the billing rule's limits, not repair's"
    assigned = store.state.events[-1]
    assert isinstance(assigned, WorkOrderAssigned)
    assert (assigned.topic, assigned.payload.role, assigned.payload.lead_work_order_id) == (
        "workorders.billing",
        "assisting",
        lead.work_order_id,
    )
    assert store.state.history[lead.work_order_id][-1]["action"] == "assist"

    repair_queue, _ = await views.queue(Department.REPAIR, REPAIR, limit=50, offset=0)
    billing_queue, _ = await views.queue(Department.BILLING, BILLING, limit=50, offset=0)
    assert [v.order.work_order_id for v in repair_queue] == [lead.work_order_id]
    assert [v.order.work_order_id for v in billing_queue] == [part.work_order_id]


async def test_who_may_ask_and_for_whom(dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    lead = await _lead(dispatcher, store)
    with pytest.raises(Forbidden):
        await dispatcher.assist(lead.work_order_id, Department.CUSTOMER_SERVICE, "x", BILLING)
    with pytest.raises(Invalid, match="repair leads this case"):
        await dispatcher.assist(lead.work_order_id, Department.REPAIR, "x", REPAIR)
    part = await dispatcher.assist(lead.work_order_id, Department.BILLING, "x", SUPERVISOR)
    with pytest.raises(Invalid, match="billing already assists"):
        await dispatcher.assist(lead.work_order_id, Department.BILLING, "again", REPAIR)
    with pytest.raises(Invalid, match="ask on the lead"):
        await dispatcher.assist(part.order.work_order_id, Department.CUSTOMER_SERVICE, "x", SUPERVISOR)
    await dispatcher.act(lead.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(lead.work_order_id, _resolve("repair.air_lock"), REPAIR)
    commits = store.commits
    with pytest.raises(Conflict):
        await dispatcher.assist(lead.work_order_id, Department.CUSTOMER_SERVICE, "late", REPAIR)
    assert store.commits == commits


async def test_the_case_resolves_when_every_part_has_and_only_then_tells_duplicates(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    lead = await _lead(dispatcher, store, account_no="A-COORD")
    duplicate = _received(HEATING, account_no="A-COORD")
    await _route(dispatcher, duplicate)
    assert store.state.cases[duplicate.complaint_id].linked_to == lead.complaint_id
    part = (await dispatcher.assist(lead.work_order_id, Department.BILLING, "核实费用", REPAIR)).order

    await dispatcher.act(lead.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(lead.work_order_id, _resolve("repair.air_lock"), REPAIR)
    resolved = store.state.events[-1]
    assert isinstance(resolved, WorkOrderResolved) and resolved.payload.case_resolved is False
    assert "complaint.fault_fixed" not in store.state.event_types(), "the case is not done yet"

    await dispatcher.act(part.work_order_id, Step(Action.ACKNOWLEDGE), BILLING)
    await dispatcher.act(part.work_order_id, _resolve("billing.meter_misread"), BILLING)
    last_resolved = [e for e in store.state.events if isinstance(e, WorkOrderResolved)][-1]
    assert (last_resolved.payload.work_order_id, last_resolved.payload.case_resolved) == (part.work_order_id, True)
    (fixed,) = [e for e in store.state.events if e.event_type == "complaint.fault_fixed"]
    assert (fixed.complaint_id, fixed.payload.work_order_id) == (duplicate.complaint_id, lead.work_order_id)


async def test_an_assisting_department_returning_its_part_just_closes_it(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    lead = await _lead(dispatcher, store)
    part = (await dispatcher.assist(lead.work_order_id, Department.BILLING, "核实费用", REPAIR)).order
    view = await dispatcher.act(part.work_order_id, Step(Action.RETURN, reason="无计费问题"), BILLING)

    assert view.order.status == "returned"
    assert [(o.department, o.status) for o in store.state.orders_of(lead.complaint_id)] == [
        ("repair", "assigned"),
        ("billing", "returned"),
    ], "nothing re-routed"
    returned = store.state.events[-1]
    assert isinstance(returned, WorkOrderReturned)
    assert (returned.payload.rerouted_to, returned.payload.new_work_order_id) == ("repair", lead.work_order_id)
    await dispatcher.act(lead.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(lead.work_order_id, _resolve("repair.air_lock"), REPAIR)
    assert store.state.events[-1].payload.case_resolved is True  # type: ignore[attr-defined]


async def test_the_case_reads_routed_while_its_lead_is_open_whatever_its_newer_part_did(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock, views: DispatchViews
) -> None:
    lead = await _lead(dispatcher, store)
    clock.advance(timedelta(minutes=20))
    part = (await dispatcher.assist(lead.work_order_id, Department.BILLING, "核实费用", REPAIR)).order
    assert part.created_at > lead.created_at, "the assisting part is the case's newest work order"
    await dispatcher.act(part.work_order_id, Step(Action.ACKNOWLEDGE), BILLING)
    await dispatcher.act(part.work_order_id, _resolve("billing.meter_misread"), BILLING)
    assert (await views.case(lead.complaint_id, SYSTEM)).status == "routed", "the lead is still open"

    await dispatcher.act(lead.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(lead.work_order_id, _resolve("repair.air_lock"), REPAIR)
    assert (await views.case(lead.complaint_id, SYSTEM)).status == "resolved"


async def test_the_case_reads_resolved_once_its_lead_is_though_its_part_was_handed_back(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock, views: DispatchViews
) -> None:
    lead = await _lead(dispatcher, store)
    clock.advance(timedelta(minutes=20))
    part = (await dispatcher.assist(lead.work_order_id, Department.BILLING, "核实费用", REPAIR)).order
    await dispatcher.act(part.work_order_id, Step(Action.RETURN, reason="无计费问题"), BILLING)
    assert (await views.case(lead.complaint_id, SYSTEM)).status == "routed"

    await dispatcher.act(lead.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(lead.work_order_id, _resolve("repair.air_lock"), REPAIR)
    assert (await views.case(lead.complaint_id, SYSTEM)).status == "resolved"


async def test_a_part_cannot_be_returned_once_the_lead_is_resolved(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    lead = await _lead(dispatcher, store)
    part = (await dispatcher.assist(lead.work_order_id, Department.BILLING, "核实费用", REPAIR)).order
    await dispatcher.act(lead.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(lead.work_order_id, _resolve("repair.air_lock"), REPAIR)
    with pytest.raises(Conflict, match="resolve this assisting work order instead"):
        await dispatcher.act(part.work_order_id, Step(Action.RETURN, reason="不是我们的"), BILLING)
    assert store.state.work_orders[part.work_order_id].status == "assigned"


async def test_a_reclassified_lead_keeps_its_assisting_parts_and_duplicates_find_the_lead(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    lead = await _lead(dispatcher, store, account_no="A-LEAD")
    part = (await dispatcher.assist(lead.work_order_id, Department.CUSTOMER_SERVICE, "道歉", REPAIR)).order
    view = await dispatcher.reclassify(
        lead.complaint_id, category=Category.EQUIPMENT_FAULT, severity=None, reason="实为设备故障", actor=SUPERVISOR
    )
    new_lead = view.order
    assert new_lead.role == "lead"
    assert store.state.work_orders[part.work_order_id].lead_work_order_id == new_lead.work_order_id
    async with store() as work:
        assert await work.repo.open_work_order_of_case(lead.complaint_id) == new_lead
        assert await work.repo.latest_work_order_of_case(lead.complaint_id) == new_lead
    await dispatcher.act(part.work_order_id, Step(Action.ACKNOWLEDGE), SERVICE)
    await dispatcher.act(part.work_order_id, _resolve("customer_service.information_not_given"), SERVICE)
    assert store.state.events[-1].payload.case_resolved is False  # type: ignore[attr-defined]


async def test_an_incidents_work_order_takes_no_assistance(dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    location = {"address": "和平区协作小区3号楼", "district": "heping"}
    callers = [_received("家里暖气不热，室温只有12度", location=location) for _ in range(3)]
    await _route(dispatcher, *callers)
    (incident,) = store.state.incidents.values()
    with pytest.raises(Invalid, match="incident"):
        await dispatcher.assist(incident.work_order_id, Department.BILLING, "x", SUPERVISOR)
