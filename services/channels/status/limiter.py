"""The status page's rate limits: lookups per client address, and wrong guesses per reference number.

Why two: the last four digits of a phone are 10,000 guesses, so the page must not let anyone try them all. A limit
per client address slows one machine; a limit on *failed* lookups per reference number stops many machines
guessing the same case (after `failures` wrong answers the reference is locked, even for the right digits — the
customer can still call).

Shared by channels' replicas (`shared.http.rate_counts`: counted in the process, synced with
`channels.rate_limit_counts` in the background by the app's `RateCounts`), so N replicas do not make the limits N
times as loose. The price is the shared limits' own: a replica may let through what the others counted within one
sync interval (`RATE_LIMIT_SYNC_SECONDS`, 1 s) before it reads their counts — a few guesses at most, far from
10,000. A reference another replica locked is locked here once this one has checked it and synced, until the end of
the fixed hour the failures were counted in (`sliding=False`: the sliding estimate would hold it up to 12 minutes
past the hour with 5 failures); on the replica that counted them, until an hour after the first of them (its own
window slides), as before. So at most `failures` more wrong guesses right after an hour's boundary, then the whole
hour locked. The keys are keyed hashes (the contact hash key): neither a client's address nor a reference number
is stored in clear. The clock is injected (tests need no sleep).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from shared.http.rate_counts import RateCounts
from shared.http.rate_limit import SlidingWindow, Verdict

__all__ = ["LookupLimits", "SlidingWindow", "Verdict"]

#: The limits' names in `rate_limit_counts`.
CLIENTS = "status lookups per client address"
REFERENCES = "status failed lookups per reference number"


class LookupLimits:
    """The status page's two limits together: `admit` before a lookup, `failed` after a wrong one.

    `counts`: the app's `RateCounts`, which syncs both limits with the other replicas (None: the process's own);
    `clock` times both the process's windows and the shared fixed windows (the app's clock, which tests move);
    `secret` keys the hashes the limits count under."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        counts: RateCounts | None = None,
        secret: str = "",
        per_client: int = 20,
        client_window_s: int = 60,
        failures: int = 5,
        failure_window_s: int = 3600,
    ) -> None:
        counts = counts or RateCounts(None)
        self._secret = secret.encode()
        self.clients = counts.limit(CLIENTS, per_client, client_window_s, wall=clock, monotonic=clock)
        self.references = counts.limit(
            REFERENCES, failures, failure_window_s, wall=clock, monotonic=clock, sliding=False
        )

    def admit(self, client: str, reference_no: str) -> Verdict:
        """May this client look this reference up now? Counts the lookup against the client."""
        locked = self.references.check(self._key("reference", reference_no.upper()))
        if not locked.allowed:
            return locked
        return self.clients.hit(self._key("client", client))

    def failed(self, reference_no: str) -> None:
        """A lookup of this reference with the wrong digits (or of no such reference)."""
        self.references.record(self._key("reference", reference_no.upper()))

    def _key(self, kind: str, value: str) -> str:
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
