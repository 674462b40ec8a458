"""Notify's door: `shared.handling.Door`, and once a batch of requests has committed, a nudge to the sending
worker, so a new delivery goes out now rather than at the worker's next poll.

The nudge must follow the commit — a worker woken earlier claims before the rows are visible and then sleeps a
poll interval — and only the door knows when that is. Routes nudge through `wake` after their own `run` (a receipt
that moved a message on). The worker's own units do not nudge: it wakes itself after each call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from services.notify.handlers.context import NotifyContext
from services.notify.repository import NotifyRepository
from shared.db import Transactions
from shared.handling import Door, Work, utc_now

M = TypeVar("M")


class NotifyDoor(Door[NotifyRepository, NotifyContext]):
    def __init__(
        self,
        transactions: Transactions[NotifyRepository],
        context: NotifyContext,
        *,
        clock: Callable[[], datetime] = utc_now,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(transactions, context, clock=clock)
        #: Tells the sending worker new work may be due (it polls anyway).
        self.wake = wake

    async def batch(
        self,
        handler: Callable[[Sequence[M], Work[NotifyRepository, NotifyContext]], Awaitable[Any]],
        events: Sequence[M],
        *,
        consumer: str,
    ) -> None:
        await super().batch(handler, events, consumer=consumer)
        self.wake()
