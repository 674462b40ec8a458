"""The status page's rate limits: lookups per client address, and wrong guesses per reference number.

Why two: the last four digits of a phone are 10,000 guesses, so the page must not let anyone try them all. A limit
per client address slows one machine; a limit on *failed* lookups per reference number stops many machines
guessing the same case (after `failures` wrong answers in the window the reference is locked for the rest of it,
even for the right digits — the customer can still call). Each is `shared.http.rate_limit`'s sliding window of
timestamps per key (the clock injected, so tests need no sleep; the memory bounded). In memory, per process: with
N replicas the limits are N times as loose, which still leaves 10,000 guesses far out of reach (say so before
raising the replica count past a handful).
"""

from __future__ import annotations

from collections.abc import Callable

from shared.http.rate_limit import SlidingWindow, Verdict

__all__ = ["LookupLimits", "SlidingWindow", "Verdict"]


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
