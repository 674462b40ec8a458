"""One fault, many callers, on the in-memory repository: incidents open at the threshold and take earlier callers'
work orders over, later callers join without work orders, outage notices inform instead of dispatching, and every
caller (incident, outage, same-account duplicate) is told when the fault is fixed."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from services.dispatch.assets import load_assets
from services.dispatch.classification import Classification, ComplaintFacts, Rules, classify
from services.dispatch.consumers import COMPLAINT_RECEIVED
from services.dispatch.model import Actor, Conflict, IncidentDeclaration, NotFound, OutageNotice, Step
from services.dispatch.resolution import ResolutionRefused
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Category, ComplaintReceived, ComplaintReopened, Department, new_event
from shared.sla import SlaTable
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import DispatchDriver, dispatch_driver, received
from tests.unit.dispatch.clocks import START

ROOT = Path(__file__).resolve().parents[3]
COLD = "从早上开始暖气一点都不热，室温只有15度，请派人来看看。"
NO_HEAT = "整栋楼停暖了，暖气片冰凉。"
BILL = "这个月取暖费账单比去年多了一倍，要求核实。"
POWER = "家里突然停电了，整个单元都没电。"
COMPOUND = {"address": "和平区长青小区5号楼2单元301室", "district": "heping"}
STATION = {**COMPOUND, "asset": {"type": "heat_exchange_station", "id": "HES-0231"}}
REPAIR = Actor(name="repair-desk", department=Department.REPAIR)
SUPERVISOR = Actor(name="duty-supervisor", supervisor=True)


def _call(
    text: str, *, account: str | None = None, location: dict | None = None, minutes: int = 0, agent: str | None = None
) -> ComplaintReceived:
    return received(
        text,
        account_no=account or f"A-{uuid.uuid4().hex[:8]}",
        accepted_at=START + timedelta(minutes=minutes),
        location=location or STATION,
        agent_id=agent,
    )


async def _route(dispatcher: DispatchDriver, *events: ComplaintReceived) -> None:
    await dispatcher.route_received(list(events), consumer=COMPLAINT_RECEIVED.consumer)


def _types(store: FakeTransactions) -> list[str]:
    return store.state.event_types()


async def test_two_households_are_routed_each_the_third_opens_an_incident_that_takes_their_work_orders(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    first, second, third = _call(COLD), _call(NO_HEAT, minutes=10), _call(COLD, minutes=20)
    await _route(dispatcher, first)
    await _route(dispatcher, second)
    assert len(store.state.work_orders) == 2 and not store.state.incidents
    store.state.events.clear()

    await _route(dispatcher, third)

    (incident,) = store.state.incidents.values()
    assert (incident.family, incident.asset, incident.status) == ("no_heat", STATION["asset"], "open")
    assert (incident.complaint_count, incident.households) == (3, 3)
    incident_order = store.state.work_orders[incident.work_order_id]
    assert (incident_order.incident_id, incident_order.department) == (incident.incident_id, "repair")
    assert incident_order.interim_reply_by is None, "callers are told through the incident"
    open_orders = [o for o in store.state.work_orders.values() if o.status in ("assigned", "acknowledged")]
    assert open_orders == [incident_order], "one work order for the fault"
    for caller in (first, second):
        (own,) = store.state.orders_of(caller.complaint_id)
        assert (own.status, own.closing_reason) == ("reassigned", f"merged into incident {incident.reference_no}")
        assert store.state.history[own.work_order_id][-1]["action"] == "merge"
    assert not store.state.orders_of(third.complaint_id)
    assert all(store.state.cases[c.complaint_id].incident_id == incident.incident_id for c in (first, second, third))
    types = _types(store)
    assert types.count("incident.opened") == 1 and types.count("workorder.assigned") == 1
    assert types.count("workorder.reassigned") == 2
    assert types.count("incident.complaint_linked") == 3 and types.count("complaint.joined") == 3
    assert "complaint.routed" not in types, "the incident's work order belongs to no complaint"


async def test_later_callers_join_without_work_orders_and_a_billing_call_is_not_swallowed(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    await _route(dispatcher, *(_call(COLD, minutes=i) for i in range(3)))
    (incident,) = store.state.incidents.values()
    later, bill = _call(NO_HEAT, minutes=30), _call(BILL, minutes=31)
    await _route(dispatcher, later, bill)

    assert not store.state.orders_of(later.complaint_id)
    assert store.state.cases[later.complaint_id].incident_id == incident.incident_id
    (bill_order,) = store.state.orders_of(bill.complaint_id)
    assert bill_order.department == "billing" and store.state.cases[bill.complaint_id].incident_id is None
    assert store.state.incidents[incident.incident_id].complaint_count == 4


async def test_an_address_the_registry_knows_finds_the_station_without_naming_it(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    await dispatcher.import_assets(load_assets(ROOT / "deploy" / "demo-city" / "assets.csv"))
    named = [_call(COLD, minutes=i) for i in range(2)]
    unnamed = _call("Radiators are barely warm since this morning, 15 degrees inside.", location=COMPOUND, minutes=5)
    await _route(dispatcher, *named, unnamed)

    (incident,) = store.state.incidents.values()
    assert incident.asset == STATION["asset"]
    assert any("served by HES-0231" in r for r in store.state.cases[unnamed.complaint_id].reasons)
    assert incident.description == "长青换热站（HES-0231）供暖故障", "callers are told the station by its name"
    assert incident.description_en == "heating failure at Changqing Heat Exchange Station (HES-0231)"


async def test_households_outside_the_window_or_of_one_account_do_not_open_an_incident(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    await _route(dispatcher, _call(COLD, minutes=0), _call(COLD, minutes=200), _call(COLD, minutes=400))
    same = [_call(COLD, account="A-SAME", location=COMPOUND, minutes=500 + i) for i in range(3)]
    await _route(dispatcher, *same)
    assert not store.state.incidents


async def test_severity_rises_with_households_and_the_work_order_follows(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    await _route(dispatcher, *(_call(COLD, minutes=i) for i in range(9)))
    (incident,) = store.state.incidents.values()
    assert incident.severity == "normal"
    await _route(dispatcher, _call(COLD, minutes=10))
    incident = store.state.incidents[incident.incident_id]
    order = store.state.work_orders[incident.work_order_id]
    assert (incident.households, incident.severity, order.severity, order.priority) == (10, "serious", "serious", 2)
    assert order.role == "lead", "an incident's work order carries the incident's cause analysis"
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    bare = Step(Action.RESOLVE, resolution="pump replaced", root_cause="repair.pump_failure")
    with pytest.raises(ResolutionRefused, match="a serious case cannot close without a cause analysis"):
        await dispatcher.act(order.work_order_id, bare, REPAIR)


async def test_resolving_the_incident_tells_every_caller_once_and_the_eta_reaches_the_waiting(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    callers = [_call(COLD, minutes=i, agent=f"agent-{i}" if i else None) for i in range(4)]
    await _route(dispatcher, *callers)
    (incident,) = store.state.incidents.values()
    eta = START + timedelta(hours=5)
    await dispatcher.set_incident_eta(incident.incident_id, eta=eta, note="pump replaced", actor=SUPERVISOR)
    changed = [e for e in store.state.events if e.event_type == "complaint.eta_changed"]
    assert sorted(e.complaint_id for e in changed) == sorted(c.complaint_id for c in callers)
    assert all(e.payload.eta == eta for e in changed)

    order_id = incident.work_order_id
    await dispatcher.act(order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(order_id, Step(Action.START), REPAIR)
    await dispatcher.act(
        order_id, Step(Action.RESOLVE, resolution="pump replaced", root_cause="repair.pump_failure"), REPAIR
    )

    assert store.state.incidents[incident.incident_id].status == "resolved"
    fixed = [e for e in store.state.events if e.event_type == "complaint.fault_fixed"]
    assert sorted(e.complaint_id for e in fixed) == sorted(c.complaint_id for c in callers)
    assert {(e.payload.incident_id, e.payload.work_order_id, e.payload.resolution) for e in fixed} == {
        (incident.incident_id, order_id, "pump replaced")
    }
    assert all(e.payload.callback_limit for e in fixed)
    owners = {e.complaint_id: e.payload.owner for e in fixed}
    assert owners == {c.complaint_id: c.payload.agent_id for c in callers}, "each caller's callback is their agent's"
    assert _types(store).count("incident.resolved") == 1
    with pytest.raises(Conflict):
        await dispatcher.set_incident_eta(incident.incident_id, eta=eta, note=None, actor=SUPERVISOR)

    late = _call(COLD, minutes=30)
    await _route(dispatcher, late)
    assert store.state.orders_of(late.complaint_id), "after the incident, a new call is routed again"


async def test_redelivered_complaints_are_linked_once(dispatcher: DispatchDriver, store: FakeTransactions) -> None:
    callers = [_call(COLD, minutes=i) for i in range(4)]
    await _route(dispatcher, *callers)
    await _route(dispatcher, *callers)
    (incident,) = store.state.incidents.values()
    assert incident.complaint_count == 4
    assert _types(store).count("complaint.joined") == 4


async def test_an_operator_declares_an_incident_once_and_earlier_callers_join_it(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    clock.advance(timedelta(minutes=5))
    earlier = _call(COLD)
    await _route(dispatcher, earlier)
    declaration = IncidentDeclaration(
        family="no_heat", asset=STATION["asset"], district=None, compound=None, description="换热站水泵故障"
    )
    incident = await dispatcher.declare_incident(declaration, SUPERVISOR)
    assert (incident.opened_by, incident.complaint_count, incident.description) == ("operator", 1, "换热站水泵故障")
    assert store.state.orders_of(earlier.complaint_id)[0].status == "reassigned"
    with pytest.raises(Conflict):
        await dispatcher.declare_incident(declaration, SUPERVISOR)


async def test_an_outage_notice_informs_its_callers_without_a_work_order_and_restoration_fixes_them(
    dispatcher: DispatchDriver, store: FakeTransactions, clock: SetClock
) -> None:
    notice = OutageNotice(
        kind="planned",
        family=None,
        asset={"type": "feeder", "id": "FDR-0107"},
        district=None,
        compound=None,
        starts_at=START - timedelta(hours=1),
        expected_end=START + timedelta(hours=3),
        description="10kV线路检修",
        description_en="10 kV line maintenance",
        source_ref="SCADA-1",
    )
    outage = await dispatcher.declare_outage(notice, "outage-system")
    assert outage.family == "power_outage"
    assert (await dispatcher.declare_outage(notice, "outage-system")).outage_id == outage.outage_id, "by source_ref"
    callers = [_call(POWER, location={**COMPOUND, "asset": {"type": "feeder", "id": "FDR-0107"}}) for _ in range(3)]
    elsewhere = _call(POWER, location={**COMPOUND, "asset": {"type": "feeder", "id": "FDR-9999"}})
    await _route(dispatcher, *callers, elsewhere)

    assert all(not store.state.orders_of(c.complaint_id) for c in callers)
    assert store.state.orders_of(elsewhere.complaint_id), "another feeder is not covered"
    joined = [e for e in store.state.events if e.event_type == "complaint.joined"]
    assert {e.payload.outage_id for e in joined} == {outage.outage_id}
    assert {e.payload.eta for e in joined} == {notice.expected_end}
    assert {e.payload.cause for e in joined} == {"10kV线路检修"}

    later = START + timedelta(hours=4)
    await dispatcher.update_outage(source_ref="SCADA-1", expected_end=later, actor="outage-system")
    await dispatcher.update_outage(outage_id=outage.outage_id, restored=True, actor="supervisor")
    assert _types(store).count("complaint.eta_changed") == 3
    fixed = [e for e in store.state.events if e.event_type == "complaint.fault_fixed"]
    assert sorted(e.complaint_id for e in fixed) == sorted(c.complaint_id for c in callers)
    assert {e.payload.department for e in fixed} == {"repair"}
    with pytest.raises(Conflict):
        await dispatcher.update_outage(outage_id=outage.outage_id, restored=True, actor="supervisor")
    with pytest.raises(NotFound):
        await dispatcher.update_outage(source_ref="nope", restored=True, actor="supervisor")


async def test_same_account_duplicates_are_told_when_their_case_is_resolved(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    first = _call(BILL, account="A-DUP", location=COMPOUND)
    again = _call(BILL, account="A-DUP", location=COMPOUND, minutes=5)
    await _route(dispatcher, first, again)
    (order,) = store.state.orders_of(first.complaint_id)
    billing = Actor(name="billing-desk", department=Department.BILLING)
    await dispatcher.act(order.work_order_id, Step(Action.ACKNOWLEDGE), billing)
    await dispatcher.act(
        order.work_order_id, Step(Action.RESOLVE, resolution="refunded", root_cause="billing.meter_misread"), billing
    )

    (fixed,) = [e for e in store.state.events if e.event_type == "complaint.fault_fixed"]
    assert (fixed.complaint_id, fixed.payload.linked_to_complaint_id) == (again.complaint_id, first.complaint_id)
    assert (fixed.payload.work_order_id, fixed.payload.department) == (order.work_order_id, "billing")
    assert store.state.cases[again.complaint_id].fixed_at is not None


async def test_a_caller_dissatisfied_after_the_fix_gets_a_work_order_of_their_own(
    dispatcher: DispatchDriver, store: FakeTransactions
) -> None:
    callers = [_call(COLD, minutes=i) for i in range(3)]
    await _route(dispatcher, *callers)
    (incident,) = store.state.incidents.values()
    order_id = incident.work_order_id
    await dispatcher.act(order_id, Step(Action.ACKNOWLEDGE), REPAIR)
    await dispatcher.act(order_id, Step(Action.RESOLVE, resolution="fixed", root_cause="repair.pump_failure"), REPAIR)
    still_cold = callers[2]
    reopened = new_event(
        ComplaintReopened,
        complaint_id=still_cold.complaint_id,
        producer="followup",
        correlation_id=still_cold.correlation_id,
        payload={
            "complaint_id": still_cold.complaint_id,
            "reference_no": still_cold.payload.reference_no,
            "reason": "still cold",
            "previous_work_order_id": order_id,
            "severity": "serious",
            "reopen_count": 1,
            "reopened_at": START,
        },
    )
    await dispatcher.reopen([reopened], consumer="dispatch.complaint-reopened")

    (own,) = store.state.orders_of(still_cold.complaint_id)
    assert (own.cycle, own.severity, own.department, own.incident_id) == (2, "serious", "repair", None)
    assert store.state.incidents[incident.incident_id].status == "resolved", "the incident stays resolved"


def _hesitating(facts: ComplaintFacts, rules: Rules) -> Classification:
    """The real decision, but the model hesitates between no heat (outage) and the runner-up the text names."""
    decision = classify(facts, rules)
    runner_up = Category.BILLING if "账单" in facts.text else Category.HEATING_TEMPERATURE
    return replace(
        decision,
        category=Category.OUTAGE,
        department=Department.REPAIR,
        triage=True,
        suggestions=((Category.OUTAGE, 0.43), (runner_up, 0.31)),
        confidence=0.43,
    )


async def test_a_doubt_within_one_fault_joins_the_fault_and_any_other_doubt_waits_in_triage(
    store: FakeTransactions, clock: SetClock, dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    """Outage or too cold, at one station: one fault, one department, so no supervisor is needed (a storm's callers
    join their incident). Outage or billing, or no place to group by: a real doubt, triaged."""
    dispatcher = dispatch_driver(store, clock, dispatch_rules, sla_table, classifier=_hesitating)
    callers = [_call(NO_HEAT, minutes=m) for m in (0, 5, 10)]
    billing = _call("这个月账单不对，暖气也停了", minutes=15)
    street = _call(NO_HEAT, location={"address": "和平区测试路88号", "district": "heping"}, minutes=20)
    await _route(dispatcher, *callers, billing, street)

    (incident,) = store.state.incidents.values()
    assert incident.complaint_count == 3
    for caller in callers:
        case = store.state.cases[caller.complaint_id]
        assert not case.awaiting_triage and any("one fault" in r for r in case.reasons), case.reasons
    assert store.state.cases[billing.complaint_id].awaiting_triage
    assert store.state.cases[street.complaint_id].awaiting_triage
