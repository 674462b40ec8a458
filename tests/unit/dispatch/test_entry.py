"""The entry side of handling on the in-memory repository: an invalid complaint is closed without a work order
(a supervisor may overturn it), a complaint the agent settled on contact is resolved there (unless a crew must
go), every case records its owner, a case settled on contact reopens into a real work order, and a work order's
limits follow the district's area class."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify
from services.dispatch.consumers import COMPLAINT_RECEIVED, COMPLAINT_REOPENED
from services.dispatch.model import SYSTEM, Actor, Conflict, NotFound, Step
from services.dispatch.views import DispatchViews
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Category, ComplaintReceived, ComplaintReopened, Department, Severity, new_event
from shared.sla import SlaTable, load_sla_table
from shared.sla.policy import DEFAULT_PATH
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, dispatch_driver, received
from tests.unit.dispatch.clocks import START

SUPERVISOR = Actor(name="duty-supervisor", supervisor=True)
REPAIR = Actor(name="repair-desk", department=Department.REPAIR)
TEST_CALL = "测试工单，请忽略"
BROADBAND = "家里宽带断了，电信电话打不通"
BILL = "这个月电费账单比上个月多了三倍，家里用电没变化，怀疑电表抄错了，要求核实退费。"
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
GAS = "楼道里有很重的煤气味，邻居家老人一个人在家，请马上派人来！"
BLACKOUT = "整个小区大面积停电了，家里有卧床老人靠制氧机，请马上派人来"
DOUBTFUL = "上次说的那个事还没弄好，你们到底管不管？"
EXPLAINED = "已向用户解释本月账单包含上月补收电费，用户表示理解"
THREAT = "这个月电费账单比上个月多了三倍，怀疑电表抄错了，要求核实退费，再不处理就打12345投诉。"


def doubtful_when_asked(facts: ComplaintFacts, rules: Rules) -> Classification:
    """The real classifier, except that DOUBTFUL waits for triage (the model's doubt, without a model)."""
    decision = classify(facts, rules, model=None)
    if facts.text != DOUBTFUL:
        return decision
    return replace(decision, triage=True, suggestions=((Category.SERVICE_ATTITUDE, 0.4),), model_version="test-1")


@pytest.fixture
def dispatcher(store: FakeTransactions, clock: SetClock, dispatch_rules: Rules, sla_table: SlaTable) -> DispatchDriver:
    return dispatch_driver(store, clock, dispatch_rules, sla_table, classifier=doubtful_when_asked)


def _received(text: str, **kwargs: object) -> ComplaintReceived:
    return received(text, accepted_at=START, **kwargs)  # type: ignore[arg-type]


async def _route(dispatcher: DispatchDriver, *events: ComplaintReceived) -> None:
    await dispatcher.route_received(list(events), consumer=COMPLAINT_RECEIVED.consumer)


def _payloads(store: FakeTransactions, event_type: str, complaint_id: uuid.UUID) -> list[dict[str, object]]:
    return [
        e.payload.model_dump(mode="json")
        for e in store.state.events
        if e.event_type == event_type and e.complaint_id == complaint_id
    ]


# --- validity ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [(TEST_CALL, "test call (测试工单)"), (BROADBAND, "not ours: broadband/telecom (宽带)")],
)
async def test_an_invalid_complaint_is_recorded_without_a_work_order_and_the_customer_told_why(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews, text: str, reason: str
) -> None:
    event = _received(text, channel="phone", agent_id="agent-7")
    await _route(dispatcher, event)

    assert not store.state.orders_of(event.complaint_id)
    assert store.state.event_types() == ["complaint.invalid"]
    (invalid,) = _payloads(store, "complaint.invalid", event.complaint_id)
    assert (invalid["reason"], invalid["decided_by"], invalid["owner"]) == (reason, "dispatch", "agent-7")
    view = await views.case(event.complaint_id, SYSTEM)
    assert (view.status, view.case.valid, view.case.invalid_reason, view.case.invalid_by) == (
        "invalid",
        False,
        reason,
        "dispatch",
    )


async def test_an_agents_note_does_not_make_an_invalid_complaint_ours(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(BROADBAND, channel="phone", agent_id="agent-7", handled_on_contact="告知用户联系电信")
    await _route(dispatcher, event)
    assert store.state.event_types() == ["complaint.invalid"]


async def test_a_supervisor_overturns_an_invalid_complaint_and_it_is_routed_with_clocks_from_acceptance(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews, clock: SetClock
) -> None:
    event = _received(BROADBAND)
    await _route(dispatcher, event)
    predicted = store.state.cases[event.complaint_id].category
    clock.advance(timedelta(hours=1))

    view = await dispatcher.overturn_invalid(
        event.complaint_id,
        category=Category.OUTAGE,
        severity=Severity.SERIOUS,
        note="整栋楼断电导致断网",
        actor=SUPERVISOR,
    )
    order = view.order
    assert (order.department, order.category, order.severity, order.starts_at) == (
        "repair",
        "outage",
        "serious",
        START,
    )
    (routed,) = _payloads(store, "complaint.routed", event.complaint_id)
    assert routed["reason"] == "reclassified" and routed["valid"] is True
    assert any("valid after all, decided by duty-supervisor" in r for r in routed["reasons"])  # type: ignore[attr-defined]
    (assigned,) = _payloads(store, "workorder.assigned", event.complaint_id)
    assert assigned["owner"] == "duty-supervisor", "the supervisor who acted first owns it"
    (example,) = store.state.examples
    assert (example.source, example.predicted_category, example.category, example.actor) == (
        "validity",
        predicted,
        "outage",
        "duty-supervisor",
    )
    case = await views.case(event.complaint_id, SYSTEM)
    assert (case.status, case.case.valid, case.case.invalid_reason, case.case.owner) == (
        "routed",
        True,
        None,
        "duty-supervisor",
    )
    with pytest.raises(Conflict, match="not closed as invalid"):
        await dispatcher.overturn_invalid(
            event.complaint_id, category=None, severity=None, note="again", actor=SUPERVISOR
        )
    with pytest.raises(NotFound):
        await dispatcher.overturn_invalid(uuid.uuid4(), category=None, severity=None, note="n", actor=SUPERVISOR)


async def test_overturning_keeps_the_classifiers_category_when_none_is_given(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(TEST_CALL)
    await _route(dispatcher, event)
    predicted = store.state.cases[event.complaint_id].category
    view = await dispatcher.overturn_invalid(
        event.complaint_id, category=None, severity=None, note="真实来电", actor=SUPERVISOR
    )
    assert (view.order.category, view.order.department) == (predicted, "customer_service")


async def test_a_supervisor_closes_a_complaint_in_triage_as_invalid(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews
) -> None:
    doubtful, bill = _received(DOUBTFUL), _received(BILL)
    await _route(dispatcher, doubtful, bill)

    case = await dispatcher.close_as_invalid(doubtful.complaint_id, reason="恶意骚扰电话", actor=SUPERVISOR)
    assert (case.valid, case.invalid_by, case.owner) == (False, "duty-supervisor", "duty-supervisor")
    (invalid,) = _payloads(store, "complaint.invalid", doubtful.complaint_id)
    assert (invalid["reason"], invalid["decided_by"]) == ("恶意骚扰电话", "duty-supervisor")
    assert not store.state.orders_of(doubtful.complaint_id)
    assert (await views.triage(limit=10, offset=0))[1] == 0
    assert (await views.case(doubtful.complaint_id, SYSTEM)).status == "invalid"

    with pytest.raises(Conflict, match="not waiting in triage"):
        await dispatcher.close_as_invalid(bill.complaint_id, reason="x", actor=SUPERVISOR)
    with pytest.raises(Conflict):
        await dispatcher.close_as_invalid(doubtful.complaint_id, reason="again", actor=SUPERVISOR)


# --- first contact -------------------------------------------------------------------------------------------


async def test_a_complaint_settled_on_the_call_is_resolved_on_contact_without_a_work_order(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews, sla_table: SlaTable
) -> None:
    event = _received(BILL, channel="phone", agent_id="agent-0042", handled_on_contact=EXPLAINED)
    await _route(dispatcher, event)

    assert not store.state.orders_of(event.complaint_id)
    assert store.state.event_types() == ["complaint.resolved_on_contact"]
    (settled,) = _payloads(store, "complaint.resolved_on_contact", event.complaint_id)
    expected_limit = str(sla_table.policy_for("billing", "normal", START, district="heping").callback)
    assert (settled["department"], settled["owner"], settled["category"], settled["callback_limit"]) == (
        "customer_service",
        "agent-0042",
        "billing",
        expected_limit,
    )
    assert settled["handled_on_contact"] == EXPLAINED
    view = await views.case(event.complaint_id, SYSTEM)
    assert view.status == "resolved_on_contact"
    assert str(view.case.resolution_id) == settled["resolution_id"]
    assert (view.case.owner, view.case.handled_on_contact) == ("agent-0042", EXPLAINED)


@pytest.mark.parametrize(
    ("text", "why"),
    [(GAS, "a safety hazard cannot be settled on contact"), (BLACKOUT, "an emergency cannot be settled on contact")],
)
async def test_a_crew_must_go_whatever_was_said_on_the_call(
    dispatcher: DispatchDriver, store: FakeTransactions, text: str, why: str
) -> None:
    event = _received(text, channel="phone", agent_id="agent-0042", handled_on_contact="已告知用户开窗通风、离开现场")
    await _route(dispatcher, event)

    (order,) = store.state.orders_of(event.complaint_id)
    assert (order.department, order.severity) == ("repair", "emergency")
    (routed,) = _payloads(store, "complaint.routed", event.complaint_id)
    assert f"handled on contact by agent-0042, but {why}: a crew must go" in routed["reasons"]  # type: ignore[operator]
    (assigned,) = _payloads(store, "workorder.assigned", event.complaint_id)
    assert assigned["owner"] == "agent-0042"
    assert "complaint.resolved_on_contact" not in store.state.event_types()


async def test_a_serious_complaint_is_not_settled_on_contact_either(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews
) -> None:
    """The rules send a serious complaint to the department manager and leadership for a cause analysis and a
    corrective action: a settlement on the call would skip both."""
    event = _received(THREAT, channel="phone", agent_id="agent-0042", handled_on_contact=EXPLAINED)
    await _route(dispatcher, event)

    (order,) = store.state.orders_of(event.complaint_id)
    assert (order.department, order.severity, order.status) == ("billing", "serious", "assigned")
    (routed,) = _payloads(store, "complaint.routed", event.complaint_id)
    assert (
        "handled on contact by agent-0042, but a serious complaint cannot be settled on contact: it goes to the "
        "department manager and leadership, and closes only with a cause analysis and a corrective action"
    ) in routed["reasons"]  # type: ignore[operator]
    assert "complaint.resolved_on_contact" not in store.state.event_types()
    view = await views.case(event.complaint_id, SYSTEM)
    assert (view.status, view.case.resolution_id, view.case.owner) == ("routed", None, "agent-0042")


async def test_first_contact_wins_over_linking_to_the_accounts_open_case(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    first = _received(HEATING, account_no="HT-1")
    again = _received(HEATING, channel="phone", account_no="HT-1", agent_id="a-1", handled_on_contact="告知维修已安排")
    await _route(dispatcher, first)
    await _route(dispatcher, again)
    assert not store.state.orders_of(again.complaint_id)
    assert _payloads(store, "complaint.resolved_on_contact", again.complaint_id)
    assert not _payloads(store, "complaint.linked", again.complaint_id)


async def test_a_case_settled_on_contact_reopens_into_its_first_work_order(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews
) -> None:
    event = _received(BILL, channel="phone", agent_id="agent-0042", handled_on_contact=EXPLAINED)
    await _route(dispatcher, event)
    resolution_id = store.state.cases[event.complaint_id].resolution_id
    reopened = new_event(
        ComplaintReopened,
        complaint_id=event.complaint_id,
        producer="followup",
        correlation_id=event.correlation_id,
        payload={
            "complaint_id": event.complaint_id,
            "reference_no": event.payload.reference_no,
            "reason": "customer dissatisfied",
            "previous_work_order_id": resolution_id,  # the callback named the resolution
            "severity": Severity.SERIOUS,
            "reopen_count": 1,
            "reopened_at": START,
        },
    )
    await dispatcher.reopen([reopened], consumer=COMPLAINT_REOPENED.consumer)

    (order,) = store.state.orders_of(event.complaint_id)
    assert (order.cycle, order.department, order.severity, order.previous_work_order_id) == (
        2,
        "billing",
        "serious",
        None,
    )
    (routed,) = _payloads(store, "complaint.routed", event.complaint_id)
    assert routed["reason"] == "reopened"
    assert routed["reasons"] == [
        "reopened (customer dissatisfied) after resolution on first contact: severity raised to serious"
    ]
    (assigned,) = _payloads(store, "workorder.assigned", event.complaint_id)
    assert assigned["owner"] == "agent-0042", "the agent still owns it"
    assert (await views.case(event.complaint_id, SYSTEM)).status == "routed"


# --- ownership -----------------------------------------------------------------------------------------------


async def test_without_an_agent_the_department_that_signs_for_the_work_order_owns_the_case(
    dispatcher: DispatchDriver, store: FakeTransactions, views: DispatchViews
) -> None:
    event = _received(HEATING)
    await _route(dispatcher, event)
    (assigned,) = _payloads(store, "workorder.assigned", event.complaint_id)
    assert assigned["owner"] is None
    assert (await views.case(event.complaint_id, SYSTEM)).case.owner is None

    (order,) = store.state.orders_of(event.complaint_id)
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    view = await views.case(event.complaint_id, SYSTEM)
    assert (view.case.owner, view.status) == ("repair-desk", "routed")
    assert [(o.work_order_id, o.status) for o in view.work_orders] == [(order.work_order_id, "acknowledged")]


async def test_an_agents_case_stays_theirs_when_the_department_signs(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    event = _received(HEATING, channel="counter", agent_id="counter-3", customer_agitated=True)
    await _route(dispatcher, event)
    (order,) = store.state.orders_of(event.complaint_id)
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    case = store.state.cases[event.complaint_id]
    assert (case.owner, case.agent_id, case.customer_agitated) == ("counter-3", "counter-3", True)


async def test_the_supervisor_who_triages_owns_the_case(dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    event = _received(DOUBTFUL)
    await _route(dispatcher, event)
    await dispatcher.route_triaged(
        event.complaint_id, category=Category.EQUIPMENT_FAULT, severity=None, note="维修未完成", actor=SUPERVISOR
    )
    (assigned,) = _payloads(store, "workorder.assigned", event.complaint_id)
    assert assigned["owner"] == "duty-supervisor"
    assert store.state.cases[event.complaint_id].owner == "duty-supervisor"


async def test_an_unknown_case_is_not_found(views: DispatchViews) -> None:
    with pytest.raises(NotFound):
        await views.case(uuid.uuid4(), SYSTEM)


# --- area classes --------------------------------------------------------------------------------------------


def _policy_with_rural(tmp_path: Path, district: str) -> SlaTable:
    """The shipped policy with `district` listed as rural: configuration alone."""
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    start = text.index("[areas]")
    end = text.index("\n[", start + 1)
    policy = tmp_path / "policy.toml"
    areas = f'[areas]\ndefault = "city"\nrural = ["{district}"]\nremote = []\n'
    policy.write_text(text[:start] + areas + text[end + 1 :], encoding="utf-8")
    return load_sla_table(policy)


async def test_an_emergency_outage_in_a_rural_district_gets_90_minutes_on_site_and_a_city_one_45(
    store: FakeTransactions, clock: SetClock, dispatch_rules: Rules, tmp_path: Path
) -> None:
    sla = _policy_with_rural(tmp_path, "Hamlet-Vale")
    dispatcher = dispatch_driver(store, clock, dispatch_rules, sla)
    village = _received(BLACKOUT, location={"address": "村东头1号", "district": "hamlet-vale"})
    city = _received(BLACKOUT, location={"address": "和平区测试路1号", "district": "heping"})
    await _route(dispatcher, village, city)

    (rural,), (urban,) = store.state.orders_of(village.complaint_id), store.state.orders_of(city.complaint_id)
    assert (rural.category, rural.severity) == ("outage", "emergency")
    assert (rural.on_site_by - START, rural.area_class) == (timedelta(minutes=90), "rural")
    assert (urban.on_site_by - START, urban.area_class) == (timedelta(minutes=45), "city")
    assert rural.policy_id.endswith("/rural") and "/" not in urban.policy_id
    (assigned,) = _payloads(store, "workorder.assigned", village.complaint_id)
    assert assigned["area_class"] == "rural"
