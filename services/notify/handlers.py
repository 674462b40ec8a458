"""What changes a delivery apart from the sending worker: a request arriving (`notification.requested`), a
provider's status report (`POST /v1/receipts/{provider}`), a staff member reading a notice.

Each opens one unit of work, applies the rules of `model.py` through the repository, writes the events of every
status change to the outbox in the same transaction, and commits. The staff directory is asked before the
transaction opens: a slow rota must not hold row locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from services.notify import events
from services.notify.model import (
    Delivery,
    Rules,
    StaffContact,
    accepted,
    arrive,
    cap_key,
    customer_plan,
    next_channel,
    receipt_applies,
    role_address,
    staff_plan,
)
from services.notify.providers.base import Receipt
from services.notify.repository import NotifyRepository
from shared.contracts import Event
from shared.contracts.followup import NotificationRequested, Recipient
from shared.db import Transactions
from shared.logging import get_logger

log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class StaffResolver(Protocol):
    """The staff directory as notify uses it (`directory.StaffDirectory`): a role and department, or a staff id,
    to the one person to reach now; None when nobody holds it."""

    async def resolve(self, recipient: Recipient) -> StaffContact | None: ...


class DirectoryUnavailable(ConnectionError):
    """The directory could not answer: a dependency outage, so the batch is redelivered rather than
    dead-lettered (a ConnectionError is what the guarded consumer treats as one)."""


@dataclass(frozen=True)
class _StaffId:
    """A named staff member when no directory is configured: reachable in the console inbox only."""

    staff_id: str
    phone: str | None = None
    email: str | None = None


@dataclass
class ReceiptTally:
    applied: int = 0
    stale: int = 0
    unknown: int = 0


class NotifyHandlers:
    def __init__(
        self,
        work: Transactions[NotifyRepository],
        *,
        rules: Rules,
        channels: Mapping[str, str],
        directory: StaffResolver | None,
        timezone: ZoneInfo,
        clock: Callable[[], datetime] = utc_now,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        """`channels`: channel → the provider that sends on it in this deployment; `wake`: tells the sending
        worker new work is due (it polls anyway)."""
        self.work = work
        self.rules = rules
        self.channels = dict(channels)
        self.directory = directory
        self.timezone = timezone
        self.clock = clock
        self.wake = wake

    async def on_requests(self, batch: Sequence[NotificationRequested], *, consumer: str) -> None:
        """One delivery per notification id: suppressed by the daily cap, failed when nobody can be reached,
        else queued (now, or at the end of quiet hours)."""
        people: dict[tuple[str | None, str | None, str | None], StaffContact | None] = {}
        for request in batch:
            recipient = request.payload.recipient
            key = _staff_key(recipient)
            if recipient.kind == "staff" and key not in people:
                people[key] = await self._resolve(recipient)
        now = self.clock()
        written: list[Event] = []
        async with self.work() as work:
            for request in batch:
                if not await work.repo.first_delivery(consumer, request.event_id):
                    continue
                p = request.payload
                if await work.repo.known(p.notification_id):
                    continue
                delivery = self._delivery(request, people.get(_staff_key(p.recipient)))
                sent_today = (
                    await work.repo.count_today(delivery.cap_key, delivery.local_day)
                    if delivery.cap_key and delivery.local_day
                    else 0
                )
                delivery = arrive(delivery, self.rules, sent_today=sent_today, at=now)
                if await work.repo.insert(delivery):
                    written += events.on_change(delivery, now)
            await work.repo.add_to_outbox(written)
            work.commit()
        if written:
            self.wake()

    async def _resolve(self, recipient: Recipient) -> StaffContact | None:
        if self.directory is None:
            return _StaffId(recipient.staff_id) if recipient.staff_id else None
        try:
            return await self.directory.resolve(recipient)
        except Exception as exc:
            log.warning("staff directory unavailable", error=type(exc).__name__)
            raise DirectoryUnavailable(f"staff directory: {type(exc).__name__}") from exc

    def _delivery(self, request: NotificationRequested, person: StaffContact | None) -> Delivery:
        p = request.payload
        if p.recipient.kind == "staff":
            department = str(p.recipient.department) if p.recipient.department else None
            unresolved = role_address(p.recipient.role, department)
            plan = staff_plan(person, self.channels, unresolved=unresolved)
            staff_id, key = (person.staff_id if person else None), None
        else:
            plan, staff_id, key = customer_plan(p.recipient, self.channels), None, cap_key(p.recipient)
        return Delivery(
            notification_id=p.notification_id,
            complaint_id=p.complaint_id,
            correlation_id=request.correlation_id,
            template_id=p.template_id,
            locale=p.locale,
            recipient_kind=p.recipient.kind,
            urgency=p.urgency,
            params=dict(p.params),
            text=p.text,
            requested_at=p.requested_at,
            plan=tuple(plan),
            reference_no=p.reference_no,
            staff_id=staff_id,
            cap_key=key,
            local_day=p.requested_at.astimezone(self.timezone).date() if key else None,
        )

    async def apply_receipts(self, provider: str, receipts: Sequence[Receipt]) -> ReceiptTally:
        """Status reports, idempotently: `sent` becomes delivered, or moves on to the next channel when the vendor
        reports a failure. A report of another attempt, or a repeated one, changes nothing; one naming a message
        we do not know is counted and ignored."""
        tally = ReceiptTally()
        now = self.clock()
        written: list[Event] = []
        moved_on = False
        async with self.work() as work:
            for receipt in receipts:
                delivery = await _find(work.repo, provider, receipt)
                if delivery is None:
                    tally.unknown += 1
                    continue
                if not receipt_applies(delivery, provider, receipt.provider_message_id):
                    tally.stale += 1
                    continue
                if receipt.status == "delivered":
                    message_id = delivery.provider_message_id or receipt.provider_message_id
                    changed = accepted(delivery, message_id, delivered=True, at=now)
                else:
                    changed = next_channel(delivery, self.rules, reason=receipt.error_code or "receipt_failed", at=now)
                    moved_on = moved_on or changed.status == "queued"
                if delivery.in_doubt:
                    # The report overtook the worker recording the answer: this attempt is settled here.
                    await work.repo.finish_attempt(delivery, outcome=f"receipt_{receipt.status}", at=now)
                await work.repo.save(changed)
                written += events.on_change(changed, now)
                tally.applied += 1
            await work.repo.add_to_outbox(written)
            work.commit()
        if moved_on:
            self.wake()
        return tally

    async def mark_read(self, notification_id: uuid.UUID, staff_id: str, roles: Sequence[str] = ()) -> bool | None:
        """True when the person read their notice now, False when they already had, None when it is not theirs
        (addressed to them, or to a role of theirs nobody was resolved to: `roles` are `model.role_addresses`)."""
        async with self.work() as work:
            marked = await work.repo.mark_read(notification_id, staff_id, roles, self.clock())
            work.commit()
        return marked


async def _find(repo: NotifyRepository, provider: str, receipt: Receipt) -> Delivery | None:
    if receipt.notification_id is not None:
        found = await repo.for_update(receipt.notification_id)
        if found is not None:
            return found
    if receipt.provider_message_id:
        return await repo.by_message_id(provider, receipt.provider_message_id)
    return None


def _staff_key(recipient: Recipient) -> tuple[str | None, str | None, str | None]:
    return (recipient.role, str(recipient.department) if recipient.department else None, recipient.staff_id)


__all__ = ["DirectoryUnavailable", "NotifyHandlers", "ReceiptTally", "StaffResolver", "utc_now"]
