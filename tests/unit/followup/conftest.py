"""Followup's use cases through the door (`shared.handling`) on the in-memory repository (tests/fakes/followup.py):
no database, no broker, and a clock the test sets. Events go in as the broker would hand them: through their
subscription's row of `consumers.SUBSCRIPTIONS` (`Followup.deliver`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

from services.followup.handlers.context import FollowupContext, FollowupDoor, FollowupWork
from services.followup.handlers.due_timers import FireDueTimers, fire_due_timers
from services.followup.model import CallbackPolicy, Contact
from services.followup.notifications import Notifier, Templates
from services.followup.sla_clocks import ClockRules
from shared.contracts import Event
from shared.handling import Door
from shared.kafka.subscription import Subscription
from shared.sla import load_sla_table
from tests.fakes.clock import SetClock
from tests.fakes.followup import FakeTransactions, FollowupState
from tests.support.followup_events import START, Order

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


def make_followup(
    *, max_attempts: int = 3, retry: timedelta = timedelta(hours=2), horizon: timedelta | None = None
) -> Followup:
    clock = SetClock(START)
    transactions = FakeTransactions()
    context = FollowupContext(
        clocks=ClockRules(SLA),
        notifier=Notifier(Templates(), "en", ZoneInfo(SLA.config.timezone), customer_horizon=horizon),
        callbacks=CallbackPolicy(max_attempts=max_attempts, retry_interval=retry),
    )
    return Followup(Door(transactions, context, clock=clock), transactions, clock)


@pytest.fixture
def followup() -> Followup:
    return make_followup()


def contact(order: Order, phone: str | None = "13600136000") -> Contact:
    return Contact(order.complaint_id, "孙八", phone, None, None, "phone")
