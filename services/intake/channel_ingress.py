"""What the channels service hands intake on `ingress.channel-messages`, mapped onto intake's own commands.

- `channel.complaint` → the standard submission (`SubmitComplaint`), with the `complaint_id` channels minted
  (adopted, so channels knows the case before `complaint.received` comes back) and the channel ticket id
  `"{provider}:{provider_message_id}"` — the dedupe of every submission (a message redelivered, or sent twice by
  its provider and let through, is one complaint). A provider's id long enough to pass the 64 characters of a
  ticket id (a mail's Message-ID can) is replaced by its SHA-256, so it still dedupes.
- `channel.reply` → `complaint.customer_replied` on the case with that reference number (`handlers/
  channel_messages.py`); its text masked here, as every public event's.

A message that cannot become a complaint (a field intake refuses) is poison: dead-lettered with the reason.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from pydantic import ValidationError

from services.intake.model import SERVICE, ChannelFacts, SubmitComplaint
from services.intake.schemas import MAX_TEXT_CHARS, ComplaintCreate
from shared.contracts.channels import ChannelComplaint, ChannelReply, CustomerReplied, CustomerRepliedPayload
from shared.contracts.envelope import new_event
from shared.kafka.consumer import PoisonMessage, describe_validation_error
from shared.privacy import mask_phones_in_text

#: intake's `channel_ticket_id` limit.
TICKET_ID_MAX = 64
_ELLIPSIS = "…"


def channel_ticket_id(provider: str, provider_message_id: str) -> str:
    """`{provider}:{provider_message_id}`, or `{provider}:sha256:<hex>` when that is longer than a ticket id."""
    plain = f"{provider}:{provider_message_id}"
    if len(plain) <= TICKET_ID_MAX:
        return plain
    digest = hashlib.sha256(provider_message_id.encode()).hexdigest()
    return f"{provider}:sha256:{digest}"[:TICKET_ID_MAX]


def _text(text: str) -> str:
    """The complaint's text within intake's limit (a long mail is cut, and says so)."""
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - len(_ELLIPSIS)] + _ELLIPSIS


def to_submission(message: ChannelComplaint) -> SubmitComplaint:
    """The standard submission of a channel's complaint; field errors make it poison."""
    p = message.payload
    try:
        complaint = ComplaintCreate.model_validate(
            {
                "channel": p.channel,
                "channel_ticket_id": channel_ticket_id(p.provider, p.provider_message_id),
                "received_at": p.received_at,
                "customer": p.customer.model_dump(exclude_none=True),
                "location": p.location.model_dump(exclude_none=True),
                "text": _text(p.text),
                "category_hint": p.category_hint,
            }
        )
    except ValidationError as exc:
        raise PoisonMessage(describe_validation_error(exc)) from exc
    return SubmitComplaint(
        complaint,
        idempotency_key=None,
        correlation_id=message.correlation_id,
        facts=ChannelFacts(attachments=p.attachments),
        complaint_id=message.complaint_id,
    )


def customer_replied(
    message: ChannelReply, *, complaint_id: uuid.UUID, reference_no: str, at: datetime
) -> CustomerReplied:
    """`complaint.customer_replied` for the case found by the reply's reference number (public: text masked);
    `at`: when intake took it."""
    p = message.payload
    return new_event(
        CustomerReplied,
        complaint_id=complaint_id,
        producer=SERVICE,
        correlation_id=message.correlation_id,
        causation_id=message.event_id,
        occurred_at=at,
        payload=CustomerRepliedPayload(
            complaint_id=complaint_id,
            reference_no=reference_no,
            message_id=p.message_id,
            channel=p.channel,
            kind=p.kind,
            score=p.score,
            text=mask_phones_in_text(p.text),
            attachments=p.attachments,
            replied_at=p.received_at,
        ),
    )
