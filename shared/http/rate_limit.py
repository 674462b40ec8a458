"""Rate limits of the HTTP APIs: a sliding window of timestamps per key, and the 429 a route raises past it.

Why a sliding window: a fixed minute lets twice the limit through across its boundary; a window of the last
`window_s` seconds never does. In memory, per process: with N replicas a limit is N times as loose, so the limits
replicas must share count in Postgres (`shared.http.rate_counts`) with this window in front as a fast first gate
(the ceiling on what reaches a person — messages per number — is notify's, counted in its table). The clock is
injected, so tests need no sleep; the memory is bounded (past `max_keys` the key seen longest ago goes first).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import DomainError


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: Whole seconds until the next attempt would be allowed (0 when allowed).
    retry_after_s: int = 0


class TooManyRequests(DomainError):
    """Over a rate limit: 429 with `Retry-After`, the limit named in the detail."""

    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(
            f"{detail}: retry in {retry_after_s} s", headers={"Retry-After": str(retry_after_s)}, limit=detail
        )


class SlidingWindow:
    """At most `limit` events per key in any `window_s` seconds."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float], *, max_keys: int = 100_000) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a limit needs at least one event in a positive window")
        self.limit, self.window_s, self.clock, self.max_keys = limit, window_s, clock, max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        self._events.move_to_end(key)
        while events and events[0] <= now - self.window_s:
            events.popleft()
        return events

    def check(self, key: str) -> Verdict:
        """Would one more event be allowed now? (Records nothing.)"""
        events = self._recent(key)
        if len(events) < self.limit:
            return Verdict(True)
        wait = events[0] + self.window_s - self.clock()
        return Verdict(False, max(1, math.ceil(wait)))

    def record(self, key: str) -> None:
        self._recent(key).append(self.clock())

    def hit(self, key: str) -> Verdict:
        """Check and, when allowed, record one event."""
        verdict = self.check(key)
        if verdict.allowed:
            self.record(key)
        return verdict
