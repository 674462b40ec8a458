"""What channels keeps and hands on, as plain frozen data: a raw inbound message and what it means (a new
complaint, a reply on a case, or nothing to hand on), its attachments, and a case of the read model.

Protocol areas (wechat/, mail/, sms/, open311/) decode their own formats into a `TakeMessage` and run
`handlers.inbound.take_message`; nothing here knows a protocol."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared.contracts.channels import ChannelCustomer, ReplyKind
from shared.contracts.complaint import Category, Channel, Location

#: What became of a stored message: handed on as a complaint, as a reply, or kept only (a WeChat "subscribe",
#: a mail nobody can act on) — `detail` says why.
MessageStatus = Literal["complaint", "reply", "ignored"]
#: The case read model's status, from the public events (see `handlers/cases.py`).
CaseStatus = Literal["received", "routed", "in_progress", "resolved", "closed", "invalid"]


@dataclass(frozen=True)
class ComplaintDraft:
    """A new complaint as the protocol understood it."""

    channel: Channel
    customer: ChannelCustomer
    location: Location
    text: str
    category_hint: Category | None = None
    #: The Open311 client system, if any.
    client: str | None = None


@dataclass(frozen=True)
class ReplyDraft:
    """A customer's reply on a case the protocol found (by reference number, or the phone of the last message)."""

    channel: Channel
    reference_no: str
    kind: ReplyKind
    text: str
    score: int | None = None
    #: The case, when the protocol found it in the read model; else looked up by reference number.
    complaint_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NewAttachment:
    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class TakeMessage:
    """A raw inbound message and its meaning: `complaint`, `reply`, or neither (kept, `ignored` with `detail`)."""

    provider: str
    provider_message_id: str
    channel: Channel
    raw_body: bytes
    content_type: str
    received_at: datetime
    complaint: ComplaintDraft | None = None
    reply: ReplyDraft | None = None
    attachments: tuple[NewAttachment, ...] = ()
    detail: str | None = None
    correlation_id: str | None = None

    def __post_init__(self) -> None:
        if self.complaint is not None and self.reply is not None:
            raise ValueError("a message is a complaint or a reply, not both")


@dataclass(frozen=True)
class StoredAttachment:
    attachment_id: uuid.UUID
    message_id: uuid.UUID
    file_name: str
    content_type: str
    size_bytes: int
    stored_at: datetime


@dataclass(frozen=True)
class StoredMessage:
    """A message as stored; `reference_no` is known once intake's `complaint.received` reached the read model (for
    a reply, at once). `duplicate`: the provider sent this id before and this is the first one, unchanged."""

    message_id: uuid.UUID
    provider: str
    provider_message_id: str
    channel: str
    status: MessageStatus
    received_at: datetime
    stored_at: datetime
    complaint_id: uuid.UUID | None = None
    reference_no: str | None = None
    detail: str | None = None
    attachments: tuple[StoredAttachment, ...] = ()
    skipped_attachments: tuple[str, ...] = ()
    duplicate: bool = False


@dataclass(frozen=True)
class SentMessage:
    """A message sent to the customer about their case (from `notification.delivery`): no address, no text."""

    notification_id: uuid.UUID
    template_id: str
    channel: str | None
    status: str
    at: datetime


@dataclass(frozen=True)
class Case:
    """A case of the read model. Contact data only as keyed hashes (`handlers/cases.py` `contact_hash`)."""

    complaint_id: uuid.UUID
    reference_no: str | None
    channel: str | None
    channel_ticket_id: str | None
    status: CaseStatus
    received_at: datetime | None
    updated_at: datetime
    #: When the event that set `status` happened: an older event (another topic, later delivered) changes no status.
    status_at: datetime | None = None
    category: str | None = None
    department: str | None = None
    status_notes: str | None = None
    eta: datetime | None = None
    district: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    phone_hash: str | None = None
    phone_last4_hash: str | None = None
    email_hash: str | None = None
    wechat_openid_hash: str | None = None
    last_message_at: datetime | None = None
    messages: tuple[SentMessage, ...] = field(default=())
