"""What notify shows: a case's deliveries (masked), a person's inbox, and — dev only — every message it sent.

Read-only: each view reads in a unit of work it never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify.model import Delivery, mask_address
from services.notify.repository import NotifyRepository, QueueDepth
from services.notify.schemas import DeliveryList, DeliveryRead, Inbox, InboxItem
from shared.db import Transactions


def shown(delivery: Delivery) -> tuple[str | None, str | None, str | None]:
    """(channel, provider, address) a delivery shows: the current candidate, or the last one tried once failed."""
    candidate = delivery.shown
    if candidate is None:
        return None, None, None
    return candidate.channel, candidate.provider, candidate.address


def delivery_read(delivery: Delivery) -> DeliveryRead:
    channel, provider, address = shown(delivery)
    return DeliveryRead(
        notification_id=delivery.notification_id,
        template_id=delivery.template_id,
        recipient_kind=delivery.recipient_kind,
        channel=channel,  # type: ignore[arg-type]
        provider=provider,
        address=mask_address(channel, address),
        status=delivery.status,
        reason=delivery.reason,
        attempts=delivery.attempts,
        provider_message_id=delivery.provider_message_id,
        requested_at=delivery.requested_at,
        updated_at=delivery.updated_at or delivery.requested_at,
    )


@dataclass(frozen=True)
class SentMessage:
    """A row of the dev outbox page: the clear address is there on purpose (dev data only)."""

    delivery: Delivery
    channel: str | None
    provider: str | None
    address: str | None
    masked: str | None
    attempts: list[dict[str, Any]]


class NotifyViews:
    def __init__(self, transactions: Transactions[NotifyRepository], clock: Callable[[], datetime]) -> None:
        self.transactions = transactions
        self.clock = clock

    async def deliveries(self, complaint_id: uuid.UUID) -> DeliveryList:
        async with self.transactions() as work:
            found = await work.repo.deliveries_of(complaint_id)
        return DeliveryList(complaint_id=complaint_id, items=[delivery_read(d) for d in found])

    async def inbox(self, staff_id: str, limit: int, roles: Sequence[str] = ()) -> Inbox:
        async with self.transactions() as work:
            found = await work.repo.inbox(staff_id, roles, limit)
        items = [
            InboxItem(
                notification_id=d.notification_id,
                complaint_id=d.complaint_id,
                reference_no=d.reference_no,
                template_id=d.template_id,
                text=d.text,
                locale=d.locale,
                urgency=d.urgency,
                channel=shown(d)[0],  # type: ignore[arg-type]
                status=d.status,
                requested_at=d.requested_at,
                read_at=d.read_at,
            )
            for d in found
        ]
        return Inbox(staff_id=staff_id, unread=sum(1 for i in items if i.read_at is None), items=items)

    async def sent_messages(self, limit: int) -> list[SentMessage]:
        async with self.transactions() as work:
            rows = await work.repo.recent(limit)
        messages = []
        for delivery, attempts in rows:
            channel, provider, address = shown(delivery)
            messages.append(SentMessage(delivery, channel, provider, address, mask_address(channel, address), attempts))
        return messages

    async def queue(self) -> QueueDepth:
        async with self.transactions() as work:
            return await work.repo.queue_depth(self.clock())

    async def health(self) -> dict[str, int]:
        """What the readiness probe shows: the queue and the events not yet published."""
        async with self.transactions() as work:
            depth = await work.repo.queue_depth(self.clock())
            return {
                "queued_due": depth.due,
                "in_doubt": depth.in_doubt,
                "outbox_pending": await work.repo.outbox_pending(),
            }
