"""Followup's use cases through the door (`shared.handling`) on the in-memory repository (tests/fakes/followup.py):
no database, no broker, and a clock the test sets. Events go in as the broker would hand them: through their
subscription's row of `consumers.SUBSCRIPTIONS` (`Followup.deliver`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from services.followup.handlers.context import FollowupContext, FollowupDoor, FollowupWork
from services.followup.handlers.due_timers import FireDueTimers, fire_due_timers
from services.followup.model import CallbackPolicy, Contact
from services.followup.notifications import Notifier, Templates
from services.followup.sla_clocks import ClockRules
from shared.contracts import Event, WorkOrderAcknowledged, WorkOrderAssigned, WorkOrderResolved, new_event
from shared.handling import Door
from shared.kafka.subscription import Subscription
from shared.sla import load_sla_table
from tests.fakes.clock import SetClock
from tests.fakes.followup import FakeTransactions, FollowupState

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, no holiday
CONSUMER = "followup.work-orders"
SLA = load_sla_table()


T = TypeVar("T")
M = TypeVar("M")


@dataclass
class Followup:
    door: FollowupDoor
    transactions: FakeTransactions
    clock: SetClock

    @property
    def state(self) -> FollowupState:
        return self.transactions.state

    async def deliver(self, subscription: Subscription, events: Sequence[Event]) -> None:
        """A batch as the subscription's consumer would hand it to the door (`subscribe_all`)."""
        if subscription.batched:
            await self.door.batch(subscription.handler, events, consumer=subscription.consumer)
        else:
            await self.door.each(subscription.handler, events, consumer=subscription.consumer)

    async def run(self, use_case: Callable[[M, FollowupWork], Awaitable[T]], command: M) -> T:
        return await self.door.run(use_case, command)

    async def fire_due_timers(self, *, worker: str, batch_size: int) -> int:
        """What the timer worker does each round."""
        return await self.door.run(fire_due_timers, FireDueTimers(worker, batch_size))


def make_followup(*, max_attempts: int = 3, retry: timedelta = timedelta(hours=2)) -> Followup:
    clock = SetClock(START)
    transactions = FakeTransactions()
    context = FollowupContext(
        clocks=ClockRules(SLA),
        notifier=Notifier(Templates(), "en", ZoneInfo(SLA.config.timezone)),
        callbacks=CallbackPolicy(max_attempts=max_attempts, retry_interval=retry),
    )
    return Followup(Door(transactions, context, clock=clock), transactions, clock)


@pytest.fixture
def followup() -> Followup:
    return make_followup()


@dataclass(frozen=True)
class Order:
    complaint_id: uuid.UUID
    work_order_id: uuid.UUID
    reference_no: str
    cycle: int = 1


E = TypeVar("E", bound=Event)


def order_event(cls: type[E], order: Order, payload: dict[str, Any]) -> E:
    """An event about the order's complaint, as its producer would publish it (keyed and correlated by it)."""
    return new_event(
        cls,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id=f"corr-{order.reference_no}",
        payload=payload,
    )


def _facts(order: Order, status: str, at: datetime, department: str = "billing") -> dict[str, Any]:
    return {
        "work_order_id": order.work_order_id,
        "complaint_id": order.complaint_id,
        "reference_no": order.reference_no,
        "department": department,
        "cycle": order.cycle,
        "status": status,
        "actor": "billing-desk",
        "at": at,
    }


def assigned(
    order: Order,
    *,
    at: datetime = START,
    severity: str = "normal",
    acknowledge_in: timedelta = timedelta(hours=1),
    interim_in: timedelta | None = None,
    category: str = "billing",
    owner: str | None = None,
    role: str = "lead",
    district: str = "d",
    lead_work_order_id: uuid.UUID | None = None,
    department: str = "billing",
    callback_limit: str = "24h",
) -> WorkOrderAssigned:
    return order_event(
        WorkOrderAssigned,
        order,
        {
            **_facts(order, "assigned", at, department),
            "category": category,
            "severity": severity,
            "priority": 3,
            "text": "bill too high",
            "location": {"address": "a", "district": district},
            "customer": {"account_no": None, "name_masked": None, "phone_masked": None, "preferred_contact": "phone"},
            "channel": "phone",
            "reasons": [],
            "reopened": order.cycle > 1,
            "owner": owner,
            "role": role,
            "lead_work_order_id": lead_work_order_id,
            "deadlines": {
                "starts_at": at,
                "acknowledge_by": at + acknowledge_in,
                "on_site_by": None,
                "resolve_by": at + timedelta(days=2),
                "interim_reply_by": at + interim_in if interim_in else None,
                "callback_limit": callback_limit,
                "policy_id": "test",
            },
        },
    )


def acknowledged(
    order: Order, *, at: datetime, owner: str | None = None, department: str = "billing"
) -> WorkOrderAcknowledged:
    return order_event(
        WorkOrderAcknowledged,
        order,
        {**_facts(order, "acknowledged", at, department), "owner": owner},
    )


def resolved(
    order: Order, *, at: datetime, case_resolved: bool = True, department: str = "billing"
) -> WorkOrderResolved:
    return order_event(
        WorkOrderResolved,
        order,
        {
            **_facts(order, "resolved", at, department),
            "resolution": "refunded",
            "root_cause": "meter misread",
            "case_resolved": case_resolved,
        },
    )


def new_order(cycle: int = 1, complaint_id: uuid.UUID | None = None) -> Order:
    complaint_id = complaint_id or uuid.uuid4()
    return Order(complaint_id, uuid.uuid4(), f"TS-20261124-{complaint_id.int % 10**6:06d}", cycle)


def contact(order: Order, phone: str | None = "13600136000") -> Contact:
    return Contact(order.complaint_id, "孙八", phone, None, None, "phone")
