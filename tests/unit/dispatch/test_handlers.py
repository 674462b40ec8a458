"""Dispatch's handlers with no database and no broker: the in-memory repository records the state, the outbox and
the processed-event marks a commit would have written; a handler that raises leaves nothing behind."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.dispatch.consumers import COMPLAINT_RECEIVED, COMPLAINT_REOPENED
from services.dispatch.department_ingress import DepartmentUpdate
from services.dispatch.model import Actor, Conflict, Forbidden, NotFound, Step, WorkOrder
from services.dispatch.views import DispatchViews
from services.dispatch.workorders.lifecycle import Action, IllegalTransition
from shared.contracts import Category, ComplaintReceived, ComplaintReopened, Department, Severity, new_event
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, received
from tests.unit.dispatch.clocks import START

HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
BILL = "这个月电费账单比上个月多了三倍，家里用电没变化，怀疑电表抄错了，要求核实退费。"
ASK = "想咨询一下营业厅的地址和办公时间。"

REPAIR = Actor(name="repair-desk", department=Department.REPAIR)
BILLING = Actor(name="billing-desk", department=Department.BILLING)
SERVICE = Actor(name="customer_service-desk", department=Department.CUSTOMER_SERVICE)
SUPERVISOR = Actor(name="duty-supervisor", supervisor=True)


def _received(text: str, **kwargs: object) -> ComplaintReceived:
    return received(text, accepted_at=START, **kwargs)  # type: ignore[arg-type]


async def _route(dispatcher: DispatchDriver, *events: ComplaintReceived) -> None:
    await dispatcher.route_received(list(events), consumer=COMPLAINT_RECEIVED.consumer)


def _only_order(store: FakeTransactions, complaint_id: uuid.UUID) -> WorkOrder:
    (order,) = store.state.orders_of(complaint_id)
    return order


def _reopened(event: ComplaintReceived, previous: uuid.UUID | None, severity: Severity) -> ComplaintReopened:
    return new_event(
        ComplaintReopened,
        complaint_id=event.complaint_id,
        producer="followup",
        correlation_id=event.correlation_id,
        payload={
            "complaint_id": event.complaint_id,
            "reference_no": event.payload.reference_no,
            "reason": "customer dissatisfied",
            "previous_work_order_id": previous,
            "severity": severity,
            "reopen_count": 1,
            "reopened_at": START,
        },
    )


# --- routing a received complaint ------------------------------------------------------------------


async def test_a_received_complaint_gets_a_case_a_work_order_and_two_events(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(HEATING, channel="phone")
    await _route(dispatcher, event)

    order = _only_order(store, event.complaint_id)
    assert (order.department, order.category, order.severity, order.status) == (
        "repair",
        "heating_temperature",
        "normal",
        "assigned",
    )
    assert (order.cycle, order.priority, order.starts_at, order.created_at) == (1, 3, START, START)
    assert START < order.acknowledge_by < order.resolve_by
    assert order.interim_reply_by is not None, "phone complaints get an interim reply"
    assert store.state.event_types() == ["complaint.routed", "workorder.assigned"]
    routed = store.state.events[0]
    assert routed.payload.reason == "new" and routed.causation_id == event.event_id
    assert any("department repair" in r for r in routed.payload.reasons), "the agent sees why"
    assert (COMPLAINT_RECEIVED.consumer, event.event_id) in store.state.processed
    assert [h["action"] for h in store.state.history[order.work_order_id]] == ["assign"]


async def test_a_redelivered_or_republished_complaint_changes_nothing(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(BILL)
    await _route(dispatcher, event)
    await _route(dispatcher, event)  # the same event again
    await _route(dispatcher, event.model_copy(update={"event_id": uuid.uuid4()}))  # republished under a new id
    assert len(store.state.orders_of(event.complaint_id)) == 1
    assert store.state.event_types() == ["complaint.routed", "workorder.assigned"]


async def test_a_second_complaint_while_the_first_is_open_is_linked_not_routed(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    first, second = _received(BILL, account_no="A-1"), _received(BILL, account_no="A-1")
    await _route(dispatcher, first, second)
    open_order = _only_order(store, first.complaint_id)
    assert store.state.orders_of(second.complaint_id) == []
    assert store.state.cases[second.complaint_id].linked_to == first.complaint_id
    linked = store.state.events[-1]
    assert linked.event_type == "complaint.linked"
    assert linked.payload.work_order_id == open_order.work_order_id
    assert linked.payload.reasons[-1].startswith(f"duplicate: work order {open_order.work_order_id}")


# --- a department returns its work order ---------------------------------------------------------------


async def test_a_returned_work_order_is_rerouted_to_the_suggested_department(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    event = _received(BILL)
    await _route(dispatcher, event)
    billing = _only_order(store, event.complaint_id)
    assert billing.department == "billing"
    store.state.events.clear()
    later = clock.advance(timedelta(minutes=20))

    step = Step(Action.RETURN, reason="电表故障，不是账务问题", suggested_department=Department.REPAIR)
    view = await dispatcher.act(billing.work_order_id, step, BILLING)

    assert (view.order.status, view.order.closing_reason) == ("returned", "电表故障，不是账务问题")
    returned, repair = store.state.orders_of(event.complaint_id)
    assert returned.status == "returned"
    assert (repair.department, repair.category, repair.status, repair.cycle) == (
        "repair",
        "equipment_fault",
        "assigned",
        1,
    )
    assert (repair.previous_work_order_id, repair.starts_at, repair.severity) == (
        billing.work_order_id,
        later,
        billing.severity,
    )
    assert store.state.cases[event.complaint_id].category == "equipment_fault"
    assert store.state.classifications[-1]["reasons"] == [
        "returned by billing: 电表故障，不是账务问题",
        "re-routed to repair",
    ]
    assert store.state.event_types() == ["workorder.returned", "complaint.routed", "workorder.assigned"]
    assert store.state.events[0].payload.rerouted_to == "repair"
    assert store.state.events[1].payload.reason == "returned"


async def test_without_a_suggestion_the_next_best_scored_category_decides(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(BILL)  # billing 25, equipment_fault 1 ("电表")
    await _route(dispatcher, event)
    billing = _only_order(store, event.complaint_id)

    await dispatcher.act(billing.work_order_id, Step(Action.RETURN, reason="not ours"), BILLING)

    _, rerouted = store.state.orders_of(event.complaint_id)
    assert (rerouted.department, rerouted.category) == ("repair", "equipment_fault")


async def test_when_no_other_department_fits_customer_service_keeps_the_case(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(ASK)
    await _route(dispatcher, event)
    first = _only_order(store, event.complaint_id)
    assert first.department == "customer_service"
    case = store.state.cases[event.complaint_id]
    assert all(
        score == 0 or Category(c) in (Category.CONSULTATION, Category.OTHER, Category.SERVICE_ATTITUDE)
        for c, score in case.scores.items()
    ), "precondition: only customer-service categories scored"

    await dispatcher.act(first.work_order_id, Step(Action.RETURN, reason="nobody's"), SERVICE)

    _, again = store.state.orders_of(event.complaint_id)
    assert (again.department, again.category, again.status) == ("customer_service", "other", "assigned")


# --- supervisor reclassification ----------------------------------------------------------------------


async def test_a_supervisor_reclassifies_the_open_work_order(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(BILL)
    await _route(dispatcher, event)
    billing = _only_order(store, event.complaint_id)
    await dispatcher.act(billing.work_order_id, Step(Action.ACKNOWLEDGE), BILLING)
    store.state.events.clear()

    view = await dispatcher.reclassify(
        event.complaint_id,
        category=Category.SERVICE_ATTITUDE,
        severity=Severity.SERIOUS,
        reason="实为服务投诉",
        actor=SUPERVISOR,
    )

    assert (view.order.department, view.order.severity, view.order.priority) == ("customer_service", "serious", 2)
    assert [h["action"] for h in view.history] == ["assign"]
    closed, new = store.state.orders_of(event.complaint_id)
    assert (closed.status, closed.closing_reason) == ("reassigned", "实为服务投诉")
    assert new.previous_work_order_id == closed.work_order_id
    assert store.state.history[closed.work_order_id][-1]["details"] == {
        "reason": "实为服务投诉",
        "category": "service_attitude",
        "severity": "serious",
    }
    case = store.state.cases[event.complaint_id]
    assert (case.category, case.severity) == ("service_attitude", "serious")
    assert store.state.event_types() == ["workorder.reassigned", "complaint.routed", "workorder.assigned"]
    assert store.state.events[1].payload.reasons == ["reclassified by duty-supervisor: 实为服务投诉"]


async def test_reclassifying_keeps_the_severity_unless_given(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    view = await dispatcher.reclassify(
        event.complaint_id, category=Category.OUTAGE, severity=None, reason="停热", actor=SUPERVISOR
    )
    assert (view.order.department, view.order.category, view.order.severity) == ("repair", "outage", "normal")


async def test_reclassifying_needs_a_known_case_with_an_open_work_order(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    with pytest.raises(NotFound):
        await dispatcher.reclassify(uuid.uuid4(), category=Category.OTHER, severity=None, reason="r", actor=SUPERVISOR)
    event = _received(BILL)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    await dispatcher.act(
        order.work_order_id, Step(Action.RETURN, reason="x", suggested_department=Department.REPAIR), BILLING
    )
    _, repair = store.state.orders_of(event.complaint_id)
    await dispatcher.act(repair.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(
        repair.work_order_id, Step(Action.RESOLVE, resolution="r", root_cause="repair.meter_fault"), REPAIR
    )
    commits = store.commits
    with pytest.raises(Conflict):
        await dispatcher.reclassify(
            event.complaint_id, category=Category.OTHER, severity=None, reason="r", actor=SUPERVISOR
        )
    assert store.commits == commits


# --- reopening ---------------------------------------------------------------------------------------


async def test_a_reopening_opens_a_new_cycle_with_raised_severity(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    first = _only_order(store, event.complaint_id)
    await dispatcher.act(first.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(
        first.work_order_id, Step(Action.RESOLVE, resolution="放气", root_cause="repair.air_lock"), REPAIR
    )
    store.state.events.clear()
    reopened_at = clock.advance(timedelta(days=2))

    reopening = _reopened(event, first.work_order_id, Severity.SERIOUS)
    await dispatcher.reopen([reopening], consumer=COMPLAINT_REOPENED.consumer)
    await dispatcher.reopen([reopening], consumer=COMPLAINT_REOPENED.consumer)  # redelivered: nothing more

    resolved, second = store.state.orders_of(event.complaint_id)
    assert resolved.status == "resolved"
    assert (second.cycle, second.severity, second.priority, second.department, second.category) == (
        2,
        "serious",
        2,
        "repair",
        "heating_temperature",
    )
    assert (second.starts_at, second.previous_work_order_id) == (reopened_at, first.work_order_id)
    assert store.state.history[second.work_order_id][0]["actor"] == "followup"
    case = store.state.cases[event.complaint_id]
    assert (case.cycle, case.severity) == (2, "serious")
    assert store.state.event_types() == ["complaint.routed", "workorder.assigned"]
    routed, assigned = store.state.events
    assert routed.payload.reason == "reopened" and assigned.payload.reopened
    assert routed.payload.reasons == ["reopened (customer dissatisfied): severity raised to serious"]


async def test_a_reopening_while_a_work_order_is_open_changes_nothing(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    first = _only_order(store, event.complaint_id)
    await dispatcher.reopen(
        [_reopened(event, first.work_order_id, Severity.SERIOUS)], consumer=COMPLAINT_REOPENED.consumer
    )
    assert store.state.orders_of(event.complaint_id) == [first]


async def test_a_reopening_of_a_complaint_never_routed_fails_and_writes_nothing(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    stranger = _received(HEATING)
    with pytest.raises(LookupError):
        await dispatcher.reopen([_reopened(stranger, None, Severity.SERIOUS)], consumer=COMPLAINT_REOPENED.consumer)
    assert store.state.processed == set(), "rolled back: a retry may still succeed once it is routed"


# --- the lifecycle and who may act ----------------------------------------------------------------------


async def test_the_lifecycle_stamps_each_step_with_the_clock(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    acked = clock.advance(timedelta(minutes=10))
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(order.work_order_id, Step(Action.NOTE, note="已联系用户"), REPAIR)
    started = clock.advance(timedelta(minutes=30))
    await dispatcher.act(order.work_order_id, Step(Action.START), REPAIR)
    done = clock.advance(timedelta(hours=1))
    view = await dispatcher.act(
        order.work_order_id,
        Step(Action.RESOLVE, resolution="换阀", root_cause="repair.valve_failure", root_cause_note="堵塞"),
        REPAIR,
    )

    assert (view.order.acknowledged_at, view.order.started_at, view.order.resolved_at) == (acked, started, done)
    assert (view.order.resolution, view.order.root_cause, view.order.status) == (
        "换阀",
        "repair.valve_failure",
        "resolved",
    )
    assert [h["action"] for h in view.history] == ["assign", "acknowledge", "note", "start", "resolve"]
    assert store.state.event_types()[2:] == [
        "workorder.acknowledged",
        "workorder.note_added",
        "workorder.started",
        "workorder.resolved",
    ]


async def test_refused_steps_write_nothing(dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    before = (store.commits, list(store.state.events))
    with pytest.raises(Forbidden, match="belongs to repair"):
        await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), BILLING)
    with pytest.raises(IllegalTransition):
        await dispatcher.act(order.work_order_id, Step(Action.START), REPAIR)
    with pytest.raises(NotFound):
        await dispatcher.act(uuid.uuid4(), Step(Action.ACKNOWLEDGE), REPAIR)
    assert (store.commits, store.state.events) == before
    assert _only_order(store, event.complaint_id).status == "assigned"
    # A supervisor may act on any department's work order.
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), SUPERVISOR)


async def test_a_redelivered_department_update_changes_nothing(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews
) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    order = _only_order(store, event.complaint_id)
    update = DepartmentUpdate(
        update_id=uuid.uuid4(),
        work_order_id=order.work_order_id,
        department=Department.REPAIR,
        actor="desk",
        action="acknowledge",
    )
    await dispatcher.department_update(update)
    await dispatcher.department_update(update)
    again = await views.work_order(order.work_order_id, REPAIR)
    assert again.order.status == "acknowledged"
    assert [h["action"] for h in again.history] == ["assign", "acknowledge"]
    assert store.state.event_types().count("workorder.acknowledged") == 1


# --- reads -------------------------------------------------------------------------------------------------


async def test_reads_follow_the_same_access_rule(
    dispatcher: DispatchDriver, views: DispatchViews, store: FakeTransactions
) -> None:
    heating, gas = _received(HEATING), _received("楼道里有很重的煤气味，请马上派人来！")
    await _route(dispatcher, heating, gas)
    order = _only_order(store, heating.complaint_id)
    assert (await views.work_order(order.work_order_id, REPAIR)).order == order
    assert (await views.work_order(order.work_order_id, SUPERVISOR)).order == order
    with pytest.raises(NotFound, match="for billing-desk"):
        await views.work_order(order.work_order_id, BILLING)

    page, total = await views.queue(Department.REPAIR, REPAIR, limit=1, offset=0)
    assert total == 2 and page[0].order.complaint_id == gas.complaint_id, "the emergency comes first"
    assert page[0].case is not None and page[0].case.text.startswith("楼道里"), "with what the customer said"
    with pytest.raises(Forbidden, match="billing-desk cannot read the repair queue"):
        await views.queue(Department.REPAIR, BILLING, limit=10, offset=0)
