"""Intake's rate limits: submissions per credential, and per customer phone.

Why per phone as well as per credential: an invalid complaint makes the platform text the phone it names, so one
key holder could pump messages at any number, or flood one customer's case list; a limit per credential alone
lets them spread the flood across numbers it does not count. The phone is kept as a keyed hash (the customer hash
key), never in clear. Unset, the limits are on outside development (`INTAKE_RATE_LIMIT_*`), off in dev and test
(where every sample complaint carries the same phone); 0 turns one off.

Both are counted in the process and synced with intake's `rate_limit_counts` in the background by the app's
`RateCounts` (`shared.http.rate_counts`, every `RATE_LIMIT_SYNC_SECONDS`): two replicas share one limit, not one
each — overshot by at most what the other replicas let through within one sync interval — and a submission costs
no round trip for it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.intake.schemas import ComplaintCreate
from shared.contracts import Channel
from shared.http.person import Person
from shared.http.rate_counts import RateCounts, SharedLimit
from shared.http.rate_limit import TooManyRequests


@dataclass(frozen=True)
class LimitSettings:
    """0: that limit is off."""

    per_credential_per_minute: int
    per_phone_per_hour: int


class SubmissionLimits:
    """`admit` before a submission is handled: raises `TooManyRequests` (429, Retry-After) past either limit.

    `counts`: the app's `RateCounts`, which syncs both limits with the other replicas (`RateCounts(None)`: per
    process); `monotonic` times the process's windows, `wall` the shared fixed windows."""

    def __init__(
        self,
        limits: LimitSettings,
        secret: str,
        monotonic: Callable[[], float],
        *,
        counts: RateCounts,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret.encode()

        def limit(scope: str, per_window: int, window_s: int) -> SharedLimit | None:
            return counts.limit(scope, per_window, window_s, wall=wall, monotonic=monotonic) if per_window else None

        self._credentials = limit("submissions per credential per minute", limits.per_credential_per_minute, 60)
        self._phones = limit("submissions per customer phone per hour", limits.per_phone_per_hour, 3600)

    def admit(self, caller: Channel | Person, complaint: ComplaintCreate) -> None:
        if self._credentials is not None:
            who = f"person:{caller.staff_id}" if isinstance(caller, Person) else f"channel:{caller.value}"
            _hit(self._credentials, "submissions per credential per minute", who)
        phone = complaint.customer.phone
        if self._phones is not None and phone:
            hashed = hmac.new(self._secret, phone.encode(), hashlib.sha256).hexdigest()
            _hit(self._phones, "submissions per customer phone per hour", hashed)


def _hit(limit: SharedLimit, name: str, key: str) -> None:
    verdict = limit.hit(key)
    if not verdict.allowed:
        raise TooManyRequests(name, verdict.retry_after_s)
