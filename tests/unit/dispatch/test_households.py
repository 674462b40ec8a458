"""Repeats and duplicates by customer, not only by account (issue 23): a complaint.received v4 names the customer
intake matched (by account, phone or address); a ticket without an account counts with the complaints of its
customer's account, also those from before customers were matched (`route._households`)."""

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
SETTLED = {"channel": "phone", "agent_id": "agent-0042", "handled_on_contact": "已向用户解释账单构成"}


def _call(minutes: int, account: str | None, customer: uuid.UUID | None, **more: Any) -> ComplaintReceived:
    event = received(BILL, account_no=account, accepted_at=START + timedelta(minutes=minutes), **more)
    if customer is None:
        return event
    matched = {"customer_id": customer, "matched_by": "account" if account else "phone"}
    return event.model_copy(update={"payload": event.payload.model_copy(update=matched)})


async def _route(events: list[ComplaintReceived], rules: Rules, sla: SlaTable) -> FakeTransactions:
    store = FakeTransactions()
    driver = dispatch_driver(store, SetClock(START + timedelta(hours=1)), rules, sla)
    for event in events:
        await driver.route_received([event], consumer=COMPLAINT_RECEIVED.consumer)
    return store


async def test_a_ticket_without_account_from_a_known_customer_is_a_repeat_of_the_accounts_complaints(
    dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    """Two billing complaints settled on the phone (one from before customers were matched), then a 12345 ticket
    with no account from the same customer: the third of the household, serious."""
    account, customer = f"A-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    events = [
        _call(0, account, None, **SETTLED),  # before v4: the account only
        _call(5, account, customer, **SETTLED),
        _call(10, None, customer, channel="partner_12345"),
    ]
    store = await _route(events, dispatch_rules, sla_table)
    cases = [store.state.cases[e.complaint_id] for e in events]
    assert [c.severity for c in cases] == ["normal", "normal", "serious"]
    assert {c.household for c in cases} == {account}
    assert store.state.customer_households == {customer: account}


async def test_a_ticket_without_account_joins_its_customers_open_case_as_a_duplicate(
    dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    customer = uuid.uuid4()
    first, ticket = _call(0, f"A-{uuid.uuid4().hex[:8]}", customer), _call(5, None, customer, channel="partner_12345")
    store = await _route([first, ticket], dispatch_rules, sla_table)
    assert store.state.cases[ticket.complaint_id].linked_to == first.complaint_id
    assert store.state.orders_of(ticket.complaint_id) == []


async def test_customers_without_any_account_are_their_own_households_and_strangers_stay_apart(
    dispatch_rules: Rules, sla_table: SlaTable
) -> None:
    customer = uuid.uuid4()
    events = [_call(0, None, customer), _call(5, None, customer), _call(10, None, None), _call(15, None, None)]
    store = await _route(events, dispatch_rules, sla_table)
    cases = [store.state.cases[e.complaint_id] for e in events]
    assert cases[0].household == cases[1].household == str(customer)
    assert cases[1].linked_to == events[0].complaint_id
    assert cases[2].household is None and cases[3].linked_to is None  # no customer, no account: nobody's repeat
