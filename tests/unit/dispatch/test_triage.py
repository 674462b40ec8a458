"""The triage queue on the in-memory repository: a doubtful complaint waits for a supervisor with the model's
suggestions and no work order; the supervisor's decision routes it with clocks from acceptance and is kept as a
labelled example, as are reclassifications and returns."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify
from services.dispatch.consumers import COMPLAINT_RECEIVED
from services.dispatch.model import Actor, Conflict, NotFound, Step
from services.dispatch.views import DispatchViews
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Category, Department, Severity
from shared.sla import SlaTable
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, dispatch_driver, received
from tests.unit.dispatch.clocks import START

SUPERVISOR = Actor(name="duty-supervisor", supervisor=True)
REPAIR = Actor(name="repair-desk", department=Department.REPAIR)
DOUBTFUL = "上次说的那个事还没弄好，你们到底管不管？"
BILL = "这个月电费账单比上个月多了三倍，要求核实退费。"


def doubtful_when_asked(facts: ComplaintFacts, rules: Rules) -> Classification:
    """The real classifier, except that the doubtful text is doubtful: the model's view, without a model."""
    decision = classify(facts, rules)
    if facts.text != DOUBTFUL:
        return replace(decision, model_version="test-1")
    suggestions = ((Category.SERVICE_ATTITUDE, 0.41), (Category.EQUIPMENT_FAULT, 0.33), (Category.OTHER, 0.12))
    return replace(
        decision,
        category=Category.SERVICE_ATTITUDE,
        triage=True,
        suggestions=suggestions,
        model_version="test-1",
        confidence=0.41,
    )


@pytest.fixture
def dispatcher(store: FakeTransactions, clock: SetClock, dispatch_rules: Rules, sla_table: SlaTable) -> DispatchDriver:
    return dispatch_driver(store, clock, dispatch_rules, sla_table, classifier=doubtful_when_asked)


async def test_a_doubtful_complaint_waits_in_triage_and_a_supervisor_routes_it_with_clocks_from_acceptance(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews, clock: SetClock
) -> None:
    doubtful = received(DOUBTFUL, accepted_at=START, channel="phone")
    await dispatcher.route_received([doubtful], consumer=COMPLAINT_RECEIVED.consumer)

    assert not store.state.orders_of(doubtful.complaint_id)
    assert store.state.event_types() == ["complaint.awaiting_triage"]
    (event,) = store.state.events
    assert [s.category for s in event.payload.suggestions] == ["service_attitude", "equipment_fault", "other"]
    assert event.payload.suggestions[0].department == "customer_service"
    waiting, total = await views.triage(limit=10, offset=0)
    assert total == 1 and waiting[0].complaint_id == doubtful.complaint_id

    clock.advance(timedelta(minutes=40))
    view = await dispatcher.route_triaged(
        doubtful.complaint_id, category=Category.EQUIPMENT_FAULT, severity=None, note="维修未完成", actor=SUPERVISOR
    )
    order = view.order
    assert (order.department, order.category, order.starts_at) == ("repair", "equipment_fault", START)
    assert order.acknowledge_by - START == store.state.work_orders[order.work_order_id].acknowledge_by - START
    assert (await views.triage(limit=10, offset=0))[1] == 0
    (example,) = store.state.examples
    assert (example.source, example.predicted_category, example.category, example.model_version) == (
        "triage",
        "service_attitude",
        "equipment_fault",
        "test-1",
    )
    assert store.state.event_types()[-2:] == ["complaint.routed", "workorder.assigned"]
    with pytest.raises(Conflict):
        await dispatcher.route_triaged(
            doubtful.complaint_id, category=Category.OTHER, severity=None, note="again", actor=SUPERVISOR
        )


async def test_a_complaint_not_waiting_cannot_be_triaged(dispatcher: DispatchDriver) -> None:
    bill = received(BILL, accepted_at=START)
    await dispatcher.route_received([bill], consumer=COMPLAINT_RECEIVED.consumer)
    with pytest.raises(Conflict):
        await dispatcher.route_triaged(
            bill.complaint_id, category=Category.OTHER, severity=None, note="n", actor=SUPERVISOR
        )
    with pytest.raises(NotFound):
        await dispatcher.route_triaged(
            received(BILL).complaint_id, category=Category.OTHER, severity=None, note="n", actor=SUPERVISOR
        )


async def test_reclassifications_and_returns_are_kept_as_labelled_examples(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    bill = received(BILL, accepted_at=START)
    await dispatcher.route_received([bill], consumer=COMPLAINT_RECEIVED.consumer)
    await dispatcher.reclassify(
        bill.complaint_id,
        category=Category.EQUIPMENT_FAULT,
        severity=Severity.SERIOUS,
        reason="meter",
        actor=SUPERVISOR,
    )
    (order,) = [o for o in store.state.orders_of(bill.complaint_id) if o.status == "assigned"]
    await dispatcher.act(order.work_order_id, Step(Action.RETURN, reason="billing matter"), REPAIR)

    reclassified, returned = store.state.examples
    assert (reclassified.source, reclassified.predicted_category, reclassified.category, reclassified.severity) == (
        "reclassify",
        "billing",
        "equipment_fault",
        "serious",
    )
    assert (returned.source, returned.predicted_category, returned.department) == (
        "return",
        "equipment_fault",
        "billing",
    )
    assert {c["model_version"] for c in store.state.classifications if c["actor"] == "dispatch"} == {"test-1"}
