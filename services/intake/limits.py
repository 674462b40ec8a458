"""Intake's rate limits: submissions per credential, and per customer phone.

Why per phone as well as per credential: an invalid complaint makes the platform text the phone it names, so one
key holder could pump messages at any number, or flood one customer's case list; a limit per credential alone
lets them spread the flood across numbers it does not count. The phone is kept as a keyed hash (the customer hash
key), never in clear. Unset, the limits are on outside development (`INTAKE_RATE_LIMIT_*`), off in dev and test
(where every sample complaint carries the same phone); 0 turns one off.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from services.intake.schemas import ComplaintCreate
from shared.contracts import Channel
from shared.http.person import Person
from shared.http.rate_limit import SlidingWindow, TooManyRequests


@dataclass(frozen=True)
class LimitSettings:
    """0: that limit is off."""

    per_credential_per_minute: int
    per_phone_per_hour: int


class SubmissionLimits:
    """`admit` before a submission is handled: raises `TooManyRequests` (429, Retry-After) past either limit."""

    def __init__(self, limits: LimitSettings, secret: str, clock: Callable[[], float]) -> None:
        self._secret = secret.encode()
        self._credentials = (
            SlidingWindow(limits.per_credential_per_minute, 60.0, clock) if limits.per_credential_per_minute else None
        )
        self._phones = SlidingWindow(limits.per_phone_per_hour, 3600.0, clock) if limits.per_phone_per_hour else None

    def admit(self, caller: Channel | Person, complaint: ComplaintCreate) -> None:
        if self._credentials is not None:
            who = f"person:{caller.staff_id}" if isinstance(caller, Person) else f"channel:{caller.value}"
            verdict = self._credentials.hit(who)
            if not verdict.allowed:
                raise TooManyRequests("submissions per credential per minute", verdict.retry_after_s)
        phone = complaint.customer.phone
        if self._phones is not None and phone:
            verdict = self._phones.hit(hmac.new(self._secret, phone.encode(), hashlib.sha256).hexdigest())
            if not verdict.allowed:
                raise TooManyRequests("submissions per customer phone per hour", verdict.retry_after_s)
