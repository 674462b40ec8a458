"""Which use cases an event runs: a table from event type to use cases, in order, instead of an `isinstance`
chain. A consumer group reads a topic family (`consumers.py` holds a table per group); an event type the table
does not name changes nothing (it is still marked processed by the door)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from services.followup.handlers.context import FollowupWork
from shared.logging import bind_case

#: A use case of one event: it reads and writes through `work.repo` and emits through `work.emit`.
UseCase = Callable[[Any, FollowupWork], Awaitable[None]]
#: Event type -> the use cases it runs, in order (e.g. a resolution stops the clocks, then schedules the callback).
EventTable = Mapping[type, tuple[UseCase, ...]]


def by_event_type(table: EventTable) -> UseCase:
    """One use case that runs, for each event, the use cases its type (or a base of it) names in `table`."""

    async def handle(event: Any, work: FollowupWork) -> None:
        for use_case in _use_cases(table, type(event)):
            await use_case(event, work)

    return handle


def one_by_one(use_case: UseCase) -> Callable[[Sequence[Any], FollowupWork], Awaitable[None]]:
    """A batched use case made of a use case per event, each event's log lines naming its case (like `Door.each`)."""

    async def handle_each(events: Sequence[Any], work: FollowupWork) -> None:
        for event in events:
            bind_case(complaint_id=str(getattr(event, "complaint_id", "") or "") or None)
            await use_case(event, work)

    return handle_each


def _use_cases(table: EventTable, kind: type) -> tuple[UseCase, ...]:
    for cls in kind.__mro__:
        if cls in table:
            return table[cls]
    return ()
