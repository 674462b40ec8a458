"""A clock the dispatch unit tests set by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)  # a Monday in the heating season


class StepClock:
    """Stands still until told to move, so every timestamp a handler writes is known."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now
