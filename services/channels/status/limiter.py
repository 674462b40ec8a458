"""The status page's rate limits: lookups per client address, and wrong guesses per reference number.

Why two: the last four digits of a phone are 10,000 guesses, so the page must not let anyone try them all. A limit
per client address slows one machine; a limit on *failed* lookups per reference number stops many machines
guessing the same case (after `failures` wrong answers in the window the reference is locked for the rest of it,
even for the right digits — the customer can still call). A sliding window of timestamps per key; the clock is
injected so tests need no sleep. In memory, per process: with N replicas the limits are N times as loose, which
still leaves 10,000 guesses far out of reach (say so before raising the replica count past a handful).

The memory is bounded: past `max_keys` the key seen longest ago is forgotten first.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: Whole seconds until the next attempt would be allowed (0 when allowed).
    retry_after_s: int = 0


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


class LookupLimits:
    """The status page's two limits together: `admit` before a lookup, `failed` after a wrong one."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        per_client: int = 20,
        client_window_s: float = 60.0,
        failures: int = 5,
        failure_window_s: float = 3600.0,
    ) -> None:
        self.clients = SlidingWindow(per_client, client_window_s, clock)
        self.references = SlidingWindow(failures, failure_window_s, clock)

    def admit(self, client: str, reference_no: str) -> Verdict:
        """May this client look this reference up now? Counts the lookup against the client."""
        locked = self.references.check(reference_no.upper())
        if not locked.allowed:
            return locked
        return self.clients.hit(client)

    def failed(self, reference_no: str) -> None:
        """A lookup of this reference with the wrong digits (or of no such reference)."""
        self.references.record(reference_no.upper())
