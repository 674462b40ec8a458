"""Intake's rate limits: submissions per credential, and per customer phone.

Why per phone as well as per credential: an invalid complaint makes the platform text the phone it names, so one
key holder could pump messages at any number, or flood one customer's case list; a limit per credential alone
lets them spread the flood across numbers it does not count. The phone is kept as a keyed hash (the customer hash
key), never in clear. Unset, the limits are on outside development (`INTAKE_RATE_LIMIT_*`), off in dev and test
(where every sample complaint carries the same phone); 0 turns one off.

Both are counted in intake's `rate_limit_counts` once the pool is up (`shared.http.rate_counts`): two replicas
share one limit, not one each; the process's own window stays in front as a fast first gate.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.intake.schemas import ComplaintCreate
from shared.contracts import Channel
from shared.http.person import Person
from shared.http.rate_counts import CountedWindow, SharedLimit
from shared.http.rate_limit import SlidingWindow, TooManyRequests

SCHEMA = "intake"


@dataclass(frozen=True)
class LimitSettings:
    """0: that limit is off."""

    per_credential_per_minute: int
    per_phone_per_hour: int


class SubmissionLimits:
    """`admit` before a submission is handled: raises `TooManyRequests` (429, Retry-After) past either limit.

    `pool` gives the service's pool once its lifespan opened it (None before: counted per process);
    `monotonic` times the process's windows, `wall` the shared ones."""

    def __init__(
        self,
        limits: LimitSettings,
        secret: str,
        monotonic: Callable[[], float],
        *,
        pool: Callable[[], asyncpg.Pool | None] = lambda: None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._secret, self._pool = secret.encode(), pool
        self._credentials = _limit(
            "submissions per credential per minute", limits.per_credential_per_minute, 60, monotonic, wall
        )
        self._phones = _limit(
            "submissions per customer phone per hour", limits.per_phone_per_hour, 3600, monotonic, wall
        )

    async def admit(self, caller: Channel | Person, complaint: ComplaintCreate) -> None:
        if self._credentials is not None:
            who = f"person:{caller.staff_id}" if isinstance(caller, Person) else f"channel:{caller.value}"
            await self._hit(self._credentials, "submissions per credential per minute", who)
        phone = complaint.customer.phone
        if self._phones is not None and phone:
            hashed = hmac.new(self._secret, phone.encode(), hashlib.sha256).hexdigest()
            await self._hit(self._phones, "submissions per customer phone per hour", hashed)

    async def _hit(self, limit: SharedLimit, name: str, key: str) -> None:
        verdict = await limit.hit(self._pool(), key)
        if not verdict.allowed:
            raise TooManyRequests(name, verdict.retry_after_s)


def _limit(
    scope: str, limit: int, window_s: int, monotonic: Callable[[], float], wall: Callable[[], float]
) -> SharedLimit | None:
    if not limit:
        return None
    return SharedLimit(
        SlidingWindow(limit, float(window_s), monotonic), CountedWindow(SCHEMA, scope, limit, window_s, wall)
    )
