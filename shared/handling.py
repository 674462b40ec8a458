"""The one door every message and every command goes through: the unit of work is opened, deduplicated, written to
the outbox and committed here, and nowhere else.

A use case is a plain function of (message, `Work`): it reads and writes through `work.repo`, reads the time from
`work.now` (the door's clock, which tests set), reaches the service's rules and collaborators through `work.context`,
and hands the events it causes to `work.emit`. It never opens a transaction, never commits and never writes the
outbox itself. The door:

- opens one transaction (`Transactions`: Postgres in production, the in-memory fake in unit tests);
- for Kafka events, records the batch's event ids as processed by the consumer group in that transaction (one
  statement per batch) and hands the handler only the first deliveries, in the batch's order, so a redelivered
  event changes nothing (`each` and `batch`);
- writes everything emitted to the outbox in one statement, and commits — or rolls back when the handler raises,
  so a refusal (`shared.errors`) leaves no trace;
- lets the process metrics count what was written only after the commit (`shared.db.transactions`).

Why one door: the four handler shapes the services had grown each did this by hand, and each copy could forget a
step (a mark without its effect, an event without its state). The same door serves a batch of 500 and one POST.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from shared.contracts.envelope import Event
from shared.db import Transactions
from shared.logging import bind_case


class HandlingRepository(Protocol):
    """What the door needs of every service's repository (and of its fake)."""

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Record `event_ids` as processed by `consumer` (one statement for the batch); those not recorded before."""
        ...

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        """Write events to the outbox in the open transaction."""
        ...


R = TypeVar("R", bound=HandlingRepository)
C = TypeVar("C")
M = TypeVar("M")
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Work(Generic[R, C]):
    """What a handler holds: the repository in the open transaction, the service's context, the time, and where its
    events go."""

    repo: R
    context: C
    clock: Callable[[], datetime]
    events: list[Event] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        """The time as it is read, not once per unit: the events a unit builds one after another (a batch's callers
        joining one incident) carry increasing times, and consumers order a key's events by their time."""
        return self.clock()

    def emit(self, events: Event | Iterable[Event]) -> None:
        """Publish these events when (and only if) the unit commits."""
        if isinstance(events, Event):
            self.events.append(events)
        else:
            self.events.extend(events)


#: A use case for one message (a command or one event).
Handler = Callable[[M, Work[Any, Any]], Awaitable[T]]
#: A use case for a batch of events handled together (e.g. to take locks for all of them in one sorted order).
BatchHandler = Callable[[Sequence[M], Work[Any, Any]], Awaitable[None]]


class Door(Generic[R, C]):
    """Runs use cases in units of work on `transactions`, with the service's `context` (rules, policies,
    collaborators) and `clock` (tests set the time)."""

    def __init__(self, transactions: Transactions[R], context: C, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.transactions = transactions
        self.context = context
        self.clock = clock

    async def run(self, handler: Callable[[M, Work[R, C]], Awaitable[T]], message: M) -> T:
        """One command in one unit of work; its answer is the handler's. A raised error rolls everything back."""
        async with self.transactions() as tx:
            work = Work(tx.repo, self.context, self.clock)
            result = await handler(message, work)
            await self._finish(tx, work)
        return result

    async def each(
        self, handler: Callable[[M, Work[R, C]], Awaitable[Any]], events: Sequence[M], *, consumer: str
    ) -> None:
        """A batch of events in one unit of work, each handled once per consumer group (redeliveries skipped)."""
        await self.batch(_one_by_one(handler), events, consumer=consumer)

    async def batch(
        self, handler: Callable[[Sequence[M], Work[R, C]], Awaitable[Any]], events: Sequence[M], *, consumer: str
    ) -> None:
        """A batch of events in one unit of work: the handler gets the first deliveries, in their order."""
        async with self.transactions() as tx:
            fresh = await _first_deliveries(tx.repo, consumer, events)
            work = Work(tx.repo, self.context, self.clock)
            if fresh:
                await handler(fresh, work)
            await self._finish(tx, work)

    @staticmethod
    async def _finish(tx: Any, work: Work[R, C]) -> None:
        if work.events:
            await tx.repo.add_to_outbox(work.events)
        tx.commit()


async def _first_deliveries(repo: HandlingRepository, consumer: str, events: Sequence[M]) -> list[M]:
    """The events delivered to `consumer` for the first time, in the batch's order; an event twice in one batch is
    handed on once (its first copy), as when each was marked on its own."""
    ids = [_event_id(e) for e in events]
    if not ids:
        return []
    unseen = set(await repo.first_deliveries(consumer, ids))
    fresh = []
    for event, event_id in zip(events, ids, strict=True):
        if event_id in unseen:
            unseen.discard(event_id)
            fresh.append(event)
    return fresh


def _event_id(event: Any) -> uuid.UUID:
    event_id = getattr(event, "event_id", None)
    if not isinstance(event_id, uuid.UUID):
        raise TypeError(f"{type(event).__name__} has no event_id: only events are deduplicated")
    return event_id


#: When the event being handled happened (None: a command, a timer). Why: a side effect judges by it whether the
#: event is too old to act on — a new consumer group reading a topic's kept history must not text customers about
#: last month (issue 26).
_CAUSE_AT: ContextVar[datetime | None] = ContextVar("cause_at", default=None)


def cause_at() -> datetime | None:
    """When the event now being handled happened; None outside an event's handling."""
    return _CAUSE_AT.get()


@contextmanager
def handling(event: object) -> Iterator[None]:
    """While `event` is handled, `cause_at()` is its `occurred_at`."""
    token = _CAUSE_AT.set(getattr(event, "occurred_at", None))
    try:
        yield
    finally:
        _CAUSE_AT.reset(token)


def _one_by_one(
    handler: Callable[[M, Work[R, C]], Awaitable[Any]],
) -> Callable[[Sequence[M], Work[R, C]], Awaitable[None]]:
    async def handle_each(events: Sequence[M], work: Work[R, C]) -> None:
        for event in events:
            # Each event's log lines name its case (the guarded consumer clears it after the batch).
            bind_case(complaint_id=str(getattr(event, "complaint_id", "") or "") or None)
            with handling(event):
                await handler(event, work)

    return handle_each


__all__ = ["BatchHandler", "Door", "Handler", "HandlingRepository", "Work", "cause_at", "handling", "utc_now"]
