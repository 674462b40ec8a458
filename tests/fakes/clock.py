"""A clock that stands still until the test moves it, so every timestamp a handler writes is known."""

from __future__ import annotations

from datetime import datetime, timedelta


class SetClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now
