"""What a unit of work committed, handed to the process metrics only after the commit.

Why after: a handler's transaction can roll back (a batch that fails is retried message by message, a
database outage redelivers it), and a counter that moved on the way in would count those twice. The outbox
notes every event it writes (`shared.outbox.add`), a handler may note other facts (a notification the daily
cap suppressed, a timer that fired), and `shared.db.transactions` delivers the list to every observer once
the transaction committed. Each service's `metrics.py` registers one observer: the one place where what the
service did becomes numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from shared.logging import get_logger

log = get_logger(__name__)

#: Receives everything one transaction committed: events (`shared.contracts.Event`) and noted facts.
Observer = Callable[[Sequence[Any]], None]

_pending: ContextVar[list[Any] | None] = ContextVar("committed_pending", default=None)
_observers: dict[str, Observer] = {}


def observe(observer: Observer) -> Callable[[], None]:
    """Register `observer` for this process; registering the same function again is a no-op (several
    instances of one service in a test process must not count twice). Returns what unregisters it."""
    key = f"{observer.__module__}.{observer.__qualname__}"
    _observers[key] = observer
    return lambda: _observers.pop(key, None) and None


def note(items: Iterable[Any]) -> None:
    """Record facts of the current unit of work; outside one (nothing to roll back) they count at once."""
    pending = _pending.get()
    if pending is None:
        deliver(list(items))
    else:
        pending.extend(items)


@contextmanager
def collecting() -> Iterator[list[Any]]:
    """The scope of one transaction: what is noted inside lands in the yielded list, not at the observers."""
    items: list[Any] = []
    token = _pending.set(items)
    try:
        yield items
    finally:
        _pending.reset(token)


def deliver(items: Sequence[Any]) -> None:
    """Hand committed facts to every observer; a failing observer is logged, never the handler's problem."""
    if not items:
        return
    for name, observer in list(_observers.items()):
        try:
            observer(items)
        except Exception as exc:
            log.warning("metrics observer failed", observer=name, error=repr(exc))
