"""Who brings the duty manager (pure): a counter complaint not settled on the spot, or an agitated customer on any
channel, brings the duty manager within minutes (the utilities' first-contact rule).

The agent's word that a counter complaint was settled is not the last one: dispatch routes a safety hazard, an
emergency or a serious complaint anyway, and that first routing of a counter complaint (`unsettled_at_counter`)
calls the duty manager too — a call is made once per complaint, whichever event comes first. The call, its clock
and the acknowledgement are `handlers/duty_manager.py`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.contracts import ComplaintReceived, ComplaintReceivedPayload, ComplaintRouted, Department

#: Who is called, and whose the case is while nobody else has it: the agents' own department.
DUTY_DEPARTMENT = Department.CUSTOMER_SERVICE
STAGE = "duty_manager"


def needs_duty_manager(payload: ComplaintReceivedPayload, channels: Sequence[str]) -> str | None:
    """Why the duty manager must come, or None: an agitated customer (any channel), or a complaint on one of
    the policy's channels (the counter) that the agent did not settle on the spot."""
    if payload.customer_agitated:
        return "customer agitated"
    if payload.channel.value in channels and not payload.handled_on_contact:
        return f"{payload.channel.value} complaint not settled on the spot"
    return None


def unsettled_at_counter(event: ComplaintRouted, channels: Sequence[str]) -> str | None:
    """Why a routing calls the duty manager, or None: the first routing of a valid complaint on one of the
    policy's channels means it was not settled on the spot (an agent's settlement dispatch refused, or none)."""
    p = event.payload
    if p.valid and p.reason == "new" and p.cycle == 1 and p.channel.value in channels:
        return f"{p.channel.value} complaint not settled on the spot"
    return None


@dataclass(frozen=True)
class Arrival:
    """What a duty call needs of the complaint, from whichever event told followup first."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    accepted_at: datetime
    correlation_id: str


def arrival(event: ComplaintReceived | ComplaintRouted) -> Arrival:
    """A routing's clocks start when intake accepted the complaint (`deadlines.starts_at`), like the received
    event's `accepted_at`: whichever comes first, the manager's limit is the same."""
    p = event.payload
    accepted_at = p.accepted_at if isinstance(p, ComplaintReceivedPayload) else p.deadlines.starts_at
    return Arrival(p.complaint_id, p.reference_no, p.channel.value, accepted_at, event.correlation_id)
