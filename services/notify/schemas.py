"""What notify's HTTP API answers: a case's deliveries (addresses masked) and a staff member's inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.notify import DeliveryChannel, DeliveryStatus


class DeliveryRead(BaseModel):
    notification_id: uuid.UUID
    template_id: str
    recipient_kind: Literal["customer", "staff"]
    channel: DeliveryChannel | None = Field(description="The channel in use, or the last one tried when failed.")
    provider: str | None
    address: str | None = Field(description="Masked: 138******78, z***@example.com, oAbC***; a staff id as is.")
    status: DeliveryStatus
    reason: str | None
    attempts: int
    provider_message_id: str | None
    requested_at: datetime
    updated_at: datetime


class DeliveryList(BaseModel):
    complaint_id: uuid.UUID
    items: list[DeliveryRead]


class InboxItem(BaseModel):
    notification_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str | None
    template_id: str
    text: str
    #: The language `text` was written in (the request's locale): a page in the other language marks it `lang`.
    locale: Literal["zh", "en"]
    urgency: Literal["routine", "urgent"]
    channel: DeliveryChannel | None
    status: DeliveryStatus
    requested_at: datetime
    read_at: datetime | None


class Inbox(BaseModel):
    staff_id: str
    unread: int
    items: list[InboxItem]


class ReadMark(BaseModel):
    notification_id: uuid.UUID
    read_at: datetime | None
    already_read: bool
