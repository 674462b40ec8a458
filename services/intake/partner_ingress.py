"""Partner hotlines (12345, 95598) forward tickets on a Kafka ingress topic: the ticket format, and its mapping
onto the standard submission.

A valid ticket becomes a complaint exactly as an HTTP submission would (same use case, same dedupe on the
partner's ticket id: `handlers/partner_tickets.py`); an invalid one is dead-lettered with the reason.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.intake.model import SubmitComplaint
from services.intake.schemas import ComplaintCreate
from shared.contracts import Channel, Coordinates
from shared.kafka.consumer import PoisonMessage, describe_validation_error

PARTNER_TICKET_VERSION = 1
#: Names the partner tickets' ids (uuid5 of source and ticket id) in intake's processed-event marks.
_TICKET_IDS = uuid.UUID("5b1d0d3e-7c55-4f0e-9a55-6f7a1c2b9e01")


class PartnerTicket(BaseModel):
    """The ticket format partner hotlines agreed with us (version 1)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    source: Literal["12345", "95598"]
    ticket_id: str = Field(min_length=1, max_length=64)
    received_at: AwareDatetime
    caller_name: str | None = None
    caller_phone: str
    account_no: str | None = None
    address: str
    district: str
    content: str
    category_hint: str | None = None
    coordinates: Coordinates | None = None
    correlation_id: str | None = Field(default=None, max_length=64)

    @property
    def event_id(self) -> uuid.UUID:
        """The ticket's identity for the door's dedupe (`shared.handling`): one per (source, ticket id), the same
        key that makes the submission idempotent, so a redelivered ticket is skipped as a retry would be replayed.
        A plain property, not a field: the agreed ticket format (and its AsyncAPI schema) stays as it is."""
        return uuid.uuid5(_TICKET_IDS, f"{self.source}:{self.ticket_id}")


def to_submission(ticket: PartnerTicket) -> SubmitComplaint:
    """Map a ticket onto the standard submission; field errors make the ticket poison."""
    try:
        complaint = ComplaintCreate.model_validate(
            {
                "channel": Channel.PARTNER_12345 if ticket.source == "12345" else Channel.PARTNER_95598,
                "channel_ticket_id": ticket.ticket_id,
                "received_at": ticket.received_at,
                "customer": {
                    "account_no": ticket.account_no,
                    "name": ticket.caller_name,
                    "phone": ticket.caller_phone,
                    "preferred_contact": "phone",
                },
                "location": {
                    "address": ticket.address,
                    "district": ticket.district,
                    "coordinates": ticket.coordinates,
                },
                "text": ticket.content,
                "category_hint": ticket.category_hint,
            }
        )
    except ValidationError as exc:
        raise PoisonMessage(describe_validation_error(exc)) from exc
    correlation = ticket.correlation_id or f"{ticket.source}-{ticket.ticket_id}"
    return SubmitComplaint(complaint, idempotency_key=None, correlation_id=correlation)
