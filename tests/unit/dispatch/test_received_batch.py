"""A batch of received complaints routes each complaint as if it had been routed alone, in the batch's order: what a
later complaint depends on — its account's open work order (a duplicate), its account's earlier complaints (a repeat's
severity), its fault's earlier callers (an incident) — includes what earlier complaints of the same batch decided,
though the batch reads each table once and writes each once (handlers/received_batch.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from services.dispatch.classification import Rules
from services.dispatch.consumers import COMPLAINT_RECEIVED
from shared.contracts import ComplaintReceived
from shared.sla import SlaTable
from tests.fakes.clock import SetClock
from tests.fakes.dispatch import FakeTransactions
from tests.support.dispatch import dispatch_driver, received
from tests.unit.dispatch.clocks import START

BILL = "这个月取暖费账单比去年多了一倍，要求核实。"
COLD = "从早上开始暖气一点都不热，室温只有15度，请派人来看看。"
STATION = {"address": "和平区长青小区5号楼2单元301室", "district": "heping"}
STATION = {**STATION, "asset": {"type": "heat_exchange_station", "id": "HES-0231"}}


def _call(text: str, account: str, minutes: int, **more: Any) -> ComplaintReceived:
    return received(text, account_no=account, accepted_at=START + timedelta(minutes=minutes), **more)


async def _outcomes(
    events: list[ComplaintReceived], batches: list[list[int]], rules: Rules, sla: SlaTable
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Route `events` in the given batches (indexes) on a fresh store; each case as (category, severity, linked to
    which complaint of the list, in an incident, work orders open) and the event types published."""
    store = FakeTransactions()
    driver = dispatch_driver(store, SetClock(START + timedelta(hours=1)), rules, sla)
    for batch in batches:
        await driver.route_received([events[i] for i in batch], consumer=COMPLAINT_RECEIVED.consumer)
    index = {e.complaint_id: i for i, e in enumerate(events)}
    cases = []
    for event in events:
        case = store.state.cases[event.complaint_id]
        open_orders = [o.status for o in store.state.orders_of(case.complaint_id) if o.status != "reassigned"]
        linked = index.get(case.linked_to) if case.linked_to else None
        cases.append((case.category, case.severity, linked, case.incident_id is not None, open_orders))
    return cases, store.state.event_types()


async def _same_in_one_batch_as_one_by_one(
    events: list[ComplaintReceived], rules: Rules, sla: SlaTable
) -> list[tuple[Any, ...]]:
    one_by_one = await _outcomes(events, [[i] for i in range(len(events))], rules, sla)
    together = await _outcomes(events, [list(range(len(events)))], rules, sla)
    assert together == one_by_one
    return together[0]


async def test_two_complaints_of_one_account_in_one_batch_the_second_is_linked_to_the_first(
    dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    account = f"A-{uuid.uuid4().hex[:8]}"
    cases = await _same_in_one_batch_as_one_by_one(
        [_call(BILL, account, 0), _call(BILL, account, 5)], dispatch_rules, sla_table
    )
    assert cases[0][2] is None and cases[0][4] == ["assigned"]
    assert cases[1][2] == 0 and cases[1][4] == []  # linked to the first, no work order of its own


async def test_a_repeat_counts_the_accounts_earlier_complaints_of_the_same_batch(
    dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    """Settled on contact, the first two leave no open work order to link to; the third is the account's third
    billing complaint: serious, so it is routed, not settled."""
    account = f"A-{uuid.uuid4().hex[:8]}"
    settled = {"channel": "phone", "agent_id": "agent-0042", "handled_on_contact": "已向用户解释账单构成"}
    events = [_call(BILL, account, m, **settled) for m in (0, 5, 10)]
    cases = await _same_in_one_batch_as_one_by_one(events, dispatch_rules, sla_table)
    assert [c[1] for c in cases] == ["normal", "normal", "serious"]
    assert [c[4] for c in cases] == [[], [], ["assigned"]]


async def test_three_callers_of_one_fault_in_one_batch_open_one_incident_and_a_fourth_joins_it(
    dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    events = [_call(COLD, f"A-{uuid.uuid4().hex[:8]}", m, location=STATION) for m in (0, 5, 10, 15)]
    events.insert(2, _call(BILL, events[0].payload.customer.account_no or "", 7))  # the first caller's bill
    cases = await _same_in_one_batch_as_one_by_one(events, dispatch_rules, sla_table)
    assert [c[3] for c in cases] == [True, True, False, True, True]
    assert [c[4] for c in cases] == [[], [], ["assigned"], [], []]  # callers' work orders merged into the incident's


async def test_a_complaint_twice_in_one_batch_is_routed_once(dispatch_rules: Rules, sla_table: SlaTable) -> None:
    store = FakeTransactions()
    driver = dispatch_driver(store, SetClock(START), dispatch_rules, sla_table)
    first = _call(BILL, f"A-{uuid.uuid4().hex[:8]}", 0)
    again = first.model_copy(update={"event_id": uuid.uuid4()})  # republished under a new event id
    await driver.route_received([first, again], consumer=COMPLAINT_RECEIVED.consumer)
    assert len(store.state.orders_of(first.complaint_id)) == 1
    assert store.state.event_types().count("complaint.routed") == 1
