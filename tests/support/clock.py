"""A clock the tests move forward, handed to the services that accept one: real time plus an offset
that only grows, so events keep their natural order and a test can jump past deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
