"""What a vendor's answer does to the delivery it was about, pure: the sending worker calls the vendor and names
what came back (`Answer`); the use case that records it (`handlers/sending.py`) applies `answered` with the
deployment's rules and the unit's time.

Kept apart from the call so the decision is made inside the transaction that records it, on the time of that
transaction, and can be read (and tested) without a vendor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.notify.model import Delivery, Rules, accepted, backoff_seconds, next_channel, retry_later

#: How a call (or a question about a recovered call) ended; also the attempt row's `outcome`.
Outcome = Literal[
    # the send itself
    "accepted",
    "transient",
    "permanent",
    "timeout",
    "error",
    "not_configured",
    # asking the vendor about an attempt left in doubt
    "found",
    "unverified",
    "find_failed",
]


@dataclass(frozen=True)
class Answer:
    """One vendor answer: its outcome, the vendor's message id when it took the message, whether acceptance is
    delivery, the vendor's error code (the delivery's reason) and a detail for the attempt row."""

    outcome: Outcome
    provider_message_id: str | None = None
    delivered: bool = False
    code: str | None = None
    detail: str | None = None


def answered(delivery: Delivery, answer: Answer, rules: Rules, *, draw: Callable[[], float], at: datetime) -> Delivery:
    """The delivery after `answer`: sent or delivered when the vendor took it, the same channel later after a
    transient error, the next channel after a permanent one, and still in doubt (the vendor asked first before any
    resend) when nobody knows whether it went out. `draw` gives the jitter of a wait in [0, 1), drawn only when
    there is a wait."""
    d, outcome = delivery, answer.outcome
    if outcome in ("accepted", "found"):
        return accepted(d, answer.provider_message_id, delivered=answer.delivered, at=at)
    if outcome == "unverified":
        return replace(accepted(d, None, delivered=False, at=at), reason="unverified")
    if outcome == "transient":
        return retry_later(d, rules, reason=answer.code or "transient_error", draw=draw(), at=at)
    if outcome == "permanent":
        return next_channel(d, rules, reason=answer.code or "permanent_error", at=at)
    if outcome == "not_configured":
        return next_channel(d, rules, reason="provider_not_configured", at=at)
    return check_later(d, rules, draw=draw(), at=at)  # timeout, error, find_failed


def check_later(delivery: Delivery, rules: Rules, *, draw: float, at: datetime) -> Delivery:
    """Still in doubt, taken again after a backoff: then the vendor is asked before any resend."""
    wait = backoff_seconds(max(1, delivery.channel_attempts), base=rules.retry_base_s, cap=rules.retry_max_s, draw=draw)
    return replace(delivery, in_doubt=True, due_at=at + timedelta(seconds=max(wait, 0.05)), updated_at=at)
