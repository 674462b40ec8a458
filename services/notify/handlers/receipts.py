"""Vendors' status reports (`POST /v1/receipts/{provider}`), applied idempotently: `sent` becomes delivered, or
moves on to the next channel when the vendor reports a failure. A report of another attempt, or a repeated one,
changes nothing; one naming a message we do not know is counted and ignored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.notify import events
from services.notify.handlers.context import Notify
from services.notify.model import Delivery, accepted, next_channel, receipt_applies, vendor_message_id
from services.notify.providers.base import Receipt
from services.notify.repository import NotifyRepository


@dataclass(frozen=True)
class ApplyReceipts:
    """The reports of one callback, as `provider`'s parser read them."""

    provider: str
    receipts: Sequence[Receipt]


@dataclass
class ReceiptTally:
    """What the reports did, for the receipts metric: applied, of an attempt left behind (stale), or unknown."""

    applied: int = 0
    stale: int = 0
    unknown: int = 0
    #: A failure report moved a message on to a channel it can take now: the sending worker is woken.
    moved_on: bool = False


async def apply_receipts(command: ApplyReceipts, work: Notify) -> ReceiptTally:
    tally = ReceiptTally()
    for receipt in command.receipts:
        delivery = await _find(work.repo, command.provider, receipt)
        if delivery is None:
            tally.unknown += 1
            continue
        if not receipt_applies(delivery, command.provider, receipt.provider_message_id):
            tally.stale += 1
            continue
        changed = _reported(delivery, receipt, work)
        if delivery.in_doubt:
            # The report overtook the worker recording the answer: this attempt is settled here.
            await work.repo.finish_attempt(delivery, outcome=f"receipt_{receipt.status}", at=work.now)
        await work.repo.save(changed)
        work.emit(events.on_change(changed, work.now))
        tally.applied += 1
        tally.moved_on = tally.moved_on or changed.status == "queued"
    return tally


def _reported(delivery: Delivery, receipt: Receipt, work: Notify) -> Delivery:
    """The delivery after the vendor's report: delivered, or on to the next channel."""
    if receipt.status == "delivered":
        # A message found after a crash by our id alone learns the vendor's id from its report.
        message_id = vendor_message_id(delivery) or receipt.provider_message_id or delivery.provider_message_id
        return accepted(delivery, message_id, delivered=True, at=work.now)
    return next_channel(delivery, work.context.rules, reason=receipt.error_code or "receipt_failed", at=work.now)


async def _find(repo: NotifyRepository, provider: str, receipt: Receipt) -> Delivery | None:
    if receipt.notification_id is not None:
        found = await repo.for_update(receipt.notification_id)
        if found is not None:
            return found
    if receipt.provider_message_id:
        return await repo.by_message_id(provider, receipt.provider_message_id)
    return None
