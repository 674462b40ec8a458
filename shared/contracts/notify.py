"""Contracts of notify: what became of each message. No personal data: no number, address, openid or text —
the case, the template, the channel and the status are enough for timelines, KPIs and other departments."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.envelope import Contract, Event

DeliveryChannel = Literal["sms", "wechat", "email", "console"]
DeliveryStatus = Literal["queued", "sent", "delivered", "failed", "suppressed"]


class NotificationDeliveryPayload(Contract):
    notification_id: uuid.UUID = Field(description="The request's id (notification.requested): one delivery each.")
    template_id: str
    recipient_kind: Literal["customer", "staff"]
    channel: DeliveryChannel | None = Field(description="None while no channel could be chosen (suppressed).")
    provider: str | None = Field(default=None, description="The adapter, e.g. aliyun_sms, tencent_sms, smtp, wechat.")
    status: DeliveryStatus
    reason: str | None = Field(
        default=None,
        description="Why it is in this status: daily_cap, quiet_hours (queued until morning), a vendor's error code.",
    )
    attempts: int = Field(ge=0, description="Provider calls made so far, over every channel tried.")
    provider_message_id: str | None = None
    requested_at: AwareDatetime
    status_at: AwareDatetime = Field(description="When the message entered this status.")


class NotificationDelivery(Event):
    """A message's delivery status changed. Keyed by complaint id: a case's messages stay in order."""

    TOPIC: ClassVar[str] = topics.NOTIFICATION_DELIVERY
    event_type: Literal["notification.delivery"] = "notification.delivery"
    schema_version: Literal[1] = 1
    payload: NotificationDeliveryPayload


class NotificationFailedPayload(Contract):
    notification_id: uuid.UUID
    template_id: str
    recipient_kind: Literal["customer", "staff"]
    channels_tried: list[DeliveryChannel]
    attempts: int = Field(ge=0)
    reason: str = Field(description="The last error, in the vendor's words or ours (no personal data).")
    reference_no: str | None = None
    failed_at: AwareDatetime


class NotificationFailed(Event):
    """A message could not be delivered on any channel after its last attempt: a person must phone the customer
    (followup puts a task in the callbacks worklist)."""

    TOPIC: ClassVar[str] = topics.NOTIFICATION_FAILED
    event_type: Literal["notification.failed"] = "notification.failed"
    schema_version: Literal[1] = 1
    payload: NotificationFailedPayload
