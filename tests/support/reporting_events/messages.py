"""notify's delivery reports (`notification.delivery`) as reporting reads them, for its unit and service tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.contracts import NotificationDelivery, new_event
from tests.support.reporting_events.cases import T0


def delivery(
    key: uuid.UUID,
    notification_id: uuid.UUID,
    status: str,
    minutes: float,
    *,
    attempts: int = 1,
    template: str = "complaint_received",
    kind: str = "customer",
    channel: str | None = "sms",
    reason: str | None = None,
    requested: float = 0,
) -> NotificationDelivery:
    return new_event(
        NotificationDelivery,
        complaint_id=key,
        producer="notify",
        correlation_id="c",
        occurred_at=T0 + timedelta(minutes=minutes),
        payload={
            "notification_id": notification_id,
            "template_id": template,
            "recipient_kind": kind,
            "channel": channel,
            "provider": "aliyun_sms" if channel == "sms" else None,
            "status": status,
            "reason": reason,
            "attempts": attempts,
            "provider_message_id": "vendor-1" if status in ("sent", "delivered") else None,
            "requested_at": T0 + timedelta(minutes=requested),
            "status_at": T0 + timedelta(minutes=minutes),
        },
    )
