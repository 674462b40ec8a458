"""What notify publishes, built from a delivery: its status on every change (`notification.delivery`) and, when
no channel could deliver it, `notification.failed`. Neither carries an address or the text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify.model import Delivery
from shared import topics
from shared.contracts import Event, new_event
from shared.contracts.notify import (
    NotificationDelivery,
    NotificationDeliveryPayload,
    NotificationFailed,
    NotificationFailedPayload,
)

SERVICE = "notify"

#: (topic, schema, description) of every topic notify publishes, for the AsyncAPI document.
PUBLISHED: tuple[tuple[str, Any, str], ...] = (
    (topics.NOTIFICATION_DELIVERY, NotificationDelivery, "Each message's status on every change; no personal data."),
    (topics.NOTIFICATION_FAILED, NotificationFailed, "Messages no channel could deliver: a person must phone."),
)


def delivery_changed(delivery: Delivery, at: datetime) -> Event:
    d = delivery
    shown = d.shown
    return new_event(
        NotificationDelivery,
        complaint_id=d.complaint_id,
        producer=SERVICE,
        correlation_id=d.correlation_id,
        occurred_at=at,
        payload=NotificationDeliveryPayload(
            notification_id=d.notification_id,
            template_id=d.template_id,
            recipient_kind=d.recipient_kind,
            channel=shown.channel if shown else None,
            provider=shown.provider if shown else None,
            status=d.status,
            reason=d.reason,
            attempts=d.attempts,
            provider_message_id=d.provider_message_id,
            requested_at=d.requested_at,
            status_at=at,
        ),
    )


def delivery_failed(delivery: Delivery, at: datetime) -> Event:
    d = delivery
    return new_event(
        NotificationFailed,
        complaint_id=d.complaint_id,
        producer=SERVICE,
        correlation_id=d.correlation_id,
        occurred_at=at,
        payload=NotificationFailedPayload(
            notification_id=d.notification_id,
            template_id=d.template_id,
            recipient_kind=d.recipient_kind,
            channels_tried=list(d.channels_tried),
            attempts=d.attempts,
            reason=d.reason or "undeliverable",
            reference_no=d.reference_no,
            failed_at=at,
        ),
    )


def on_change(delivery: Delivery, at: datetime) -> list[Event]:
    """The events of a delivery entering its current status: `failed` also asks for a person to phone."""
    changed = [delivery_changed(delivery, at)]
    if delivery.status == "failed":
        changed.append(delivery_failed(delivery, at))
    return changed
