"""Intake's domain values: a complaint as stored, the command every channel submits, and the one refusal of its own.

Plain frozen data: no I/O, nothing imported from the layers above (the HTTP submission `ComplaintCreate`, from
`schemas.py`, is the one outside value a submission carries).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from services.intake.customers import MatchedCustomer
from services.intake.schemas import ComplaintCreate
from shared.contracts import Attachment, Channel
from shared.errors import Conflict
from shared.http.person import Person

#: The producer name on every event, and intake's database schema.
SERVICE = "intake"


@dataclass(frozen=True)
class StoredComplaint:
    """A complaint as accepted: what makes it idempotent (key, ticket id, fingerprint) beside what was submitted."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    channel_ticket_id: str | None
    idempotency_key: str | None
    request_fingerprint: str
    received_at: datetime
    accepted_at: datetime
    correlation_id: str
    submission: dict[str, Any]


@dataclass(frozen=True)
class NewComplaint:
    """A submission about to be stored: everything but its reference number, which the repository takes from
    `day`'s sequence in the statement that inserts it — and only if it inserts it (a retry takes no number)."""

    complaint_id: uuid.UUID
    day: date
    channel: str
    channel_ticket_id: str | None
    idempotency_key: str | None
    request_fingerprint: str
    received_at: datetime
    accepted_at: datetime
    correlation_id: str
    submission: dict[str, Any]

    def numbered(self, reference_no: str) -> StoredComplaint:
        """The complaint as stored, with the reference number it was given."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "day"}
        return StoredComplaint(reference_no=reference_no, **values)


@dataclass(frozen=True)
class ChannelFacts:
    """What a channel knows beyond the submission, passed on in `complaint.received` v4: a partner hotline's
    deadline and the caller's demand (诉求), and the files the customer sent (kept where each `url` says)."""

    partner_deadline_at: datetime | None = None
    demand: str | None = None
    attachments: tuple[Attachment, ...] = ()


#: An HTTP submission's: none of them.
NO_FACTS = ChannelFacts()


@dataclass(frozen=True)
class SubmitComplaint:
    """A submission from any channel: HTTP (a channel key or a signed-in agent) or a partner's ticket."""

    complaint: ComplaintCreate
    idempotency_key: str | None
    correlation_id: str
    #: The display name of the signed-in agent who took it (their staff id is `complaint.agent_id`).
    agent_name: str | None = None
    #: A partner's deadline and demand, attachments: none from an HTTP submission.
    facts: ChannelFacts = NO_FACTS
    #: The id the complaint gets when it is new: minted by the channels service (`ingress.channel-messages`), which
    #: knows its case before `complaint.received` comes back; None: a fresh one.
    complaint_id: uuid.UUID | None = None
    #: Whether the same channel ticket id with another body is refused (`ChannelTicketReused`) rather than answered
    #: with the first complaint: over HTTP, where the caller is there to be told; not on the ingress topics, where a
    #: provider's second copy may differ in what it carries (attachments) and a dead letter would help nobody.
    refuse_ticket_reuse: bool = False


@dataclass(frozen=True)
class Submitted:
    """The answer to a submission: its complaint, and whether it was an earlier submission's (a retry); a new one
    also the customer it was matched to."""

    complaint: StoredComplaint
    replayed: bool
    customer: MatchedCustomer | None = None


@dataclass(frozen=True)
class FindComplaint:
    """A read of one complaint by its id or reference number, by a caller who may see only some."""

    complaint_ref: str
    caller: Channel | Person


class IdempotencyKeyReused(Conflict):
    """The Idempotency-Key belongs to a different submission: the caller has a bug, not a retry.

    A conflict with what the key already names, answered as before: 422 "Idempotency-Key reused", the header named.
    """

    status = 422
    title = "Idempotency-Key reused"

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(
            "this Idempotency-Key was used for a different complaint",
            errors=[{"field": "Idempotency-Key", "message": "already used for a different body"}],
        )
        self.idempotency_key = idempotency_key


class ChannelTicketReused(Conflict):
    """The channel ticket id names an earlier complaint with another body: answered 409, never "replayed" — the
    second complaint would be lost silently. A retry sends the same body; a new complaint needs its own ticket id."""

    title = "Channel ticket id reused"

    def __init__(self, channel_ticket_id: str) -> None:
        super().__init__(
            "this channel_ticket_id was used for a different complaint",
            field="channel_ticket_id",
            channel_ticket_id=channel_ticket_id,
        )
