"""Partner hotlines (12345, 95598) forward tickets on a Kafka ingress topic: the ticket format, and its mapping
onto the standard submission.

A valid ticket becomes a complaint exactly as an HTTP submission would (same use case, same dedupe on the
partner's ticket id: `handlers/partner_tickets.py`); an invalid one is dead-lettered with the reason.

Version 2 adds what the hotline's own clock and caller need: the partner's deadline (`deadline_at`: followup holds
the case to it when it is stricter than our policy's), the caller's demand (`demand`, 诉求) and attachments the
hotline keeps (`attachments`: name, type, size and where staff fetch it). Every v2 field is optional, so a v1 ticket
still reads as it did; they travel on in `complaint.received` v4 (`partner_deadline_at`, `demand`, `attachments`).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.intake.model import ChannelFacts, SubmitComplaint
from services.intake.schemas import ComplaintCreate
from shared.contracts import Attachment, Channel, Coordinates
from shared.kafka.consumer import PoisonMessage, describe_validation_error

PARTNER_TICKET_VERSION = 2
#: Names the partner tickets' ids (uuid5 of source and ticket id) in intake's processed-event marks.
_TICKET_IDS = uuid.UUID("5b1d0d3e-7c55-4f0e-9a55-6f7a1c2b9e01")


class PartnerAttachment(BaseModel):
    """A file the caller gave the hotline (v2), kept on the hotline's side: staff fetch it from `url`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    file_name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=127)
    size_bytes: int = Field(ge=0)
    url: str = Field(min_length=1, max_length=500, pattern=r"^https?://")


class PartnerTicket(BaseModel):
    """The ticket format partner hotlines agreed with us (version 2; a version 1 ticket lacks the v2 fields)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1, 2] = Field(default=1, description="1 when absent: the first tickets carried none.")
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
    deadline_at: AwareDatetime | None = Field(
        default=None, description="v2: when the hotline wants it done; a stricter one becomes the case's deadline."
    )
    demand: str | None = Field(default=None, max_length=2000, description="v2: the caller's demand (诉求).")
    attachments: tuple[PartnerAttachment, ...] = Field(default=(), max_length=20, description="v2: the caller's files.")

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
    return SubmitComplaint(complaint, idempotency_key=None, correlation_id=correlation, facts=_facts(ticket))


def _facts(ticket: PartnerTicket) -> ChannelFacts:
    """The v2 fields, for `complaint.received` v4; an attachment's id is derived from the ticket and its place, so
    a redelivered ticket names the same files."""
    attachments = tuple(
        Attachment(
            attachment_id=uuid.uuid5(ticket.event_id, f"attachment:{index}:{item.url}"),
            file_name=item.file_name,
            content_type=item.content_type,
            size_bytes=item.size_bytes,
            url=item.url,
        )
        for index, item in enumerate(ticket.attachments)
    )
    demand = ticket.demand.strip() if ticket.demand else None
    return ChannelFacts(partner_deadline_at=ticket.deadline_at, demand=demand or None, attachments=attachments)
