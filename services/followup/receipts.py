"""The receipt: a customer hears their reference number at once (the utilities' rule, DESIGN.md), and a phone
complaint the agent could not settle on the call also hears that the person responsible replies within 12 hours
(seed 001: `complaint_received_phone`).

The complaint (`complaint.received`: channel, whether it was settled on the call) and the customer's contact
(`complaint.contact`, restricted) travel on two topics and arrive in either order, possibly in two followup
processes: whichever comes second sends the receipt, once. Both paths take the complaint's receipt lock
(`lock_receipts`) before looking at the other's row, so the second sees what the first committed; `told_at` is
claimed with a conditional update, so a redelivery sends nothing.

A complaint settled on the call or at the counter still gets the plain receipt (`complaint_received`): it is a case
with a reference the customer quotes at the callback or to reopen it — only the 12-hour promise would be wrong.
A receipt is news only at receipt: a complaint accepted longer than `RECEIPT_WINDOW` ago (a new consumer group
reading the topic's history, a long outage of followup) gets none; the messages that follow still go.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from services.followup.model import Receipt
from services.followup.notifications import Notifier, customer_recipient
from services.followup.repository import FollowupRepository
from shared.contracts import ComplaintReceived, Event
from shared.logging import get_logger

log = get_logger(__name__)
RECEIPT_WINDOW = timedelta(hours=1)


def receipt_template(receipt: Receipt) -> str:
    """A phone complaint not settled on the call is promised a reply within 12 hours; every other one is given its
    reference number."""
    return "complaint_received_phone" if receipt.channel == "phone" and not receipt.settled else "complaint_received"


class ReceiptNotices:
    def __init__(self, *, notifier: Notifier) -> None:
        self.notifier = notifier

    async def on_received(self, repo: FollowupRepository, event: ComplaintReceived, now: datetime) -> list[Event]:
        """Keep the complaint for its receipt (idempotent) and send it if the contact is already known. The caller
        holds the complaint's receipt lock."""
        p = event.payload
        if now - p.accepted_at > RECEIPT_WINDOW:
            return []
        receipt = Receipt(
            complaint_id=p.complaint_id,
            reference_no=p.reference_no,
            channel=p.channel.value,
            settled=bool(p.handled_on_contact),
            correlation_id=event.correlation_id,
            received_at=p.accepted_at,
        )
        await repo.add_receipt(receipt)
        return await self.tell(repo, p.complaint_id, now)

    async def tell(self, repo: FollowupRepository, complaint_id: uuid.UUID, now: datetime) -> list[Event]:
        """The receipt, when the complaint and an address are both known and it was not sent yet."""
        receipt = await repo.receipt(complaint_id)
        if receipt is None or receipt.told_at is not None:
            return []
        recipient = customer_recipient(await repo.contact(complaint_id))
        if recipient is None:
            return []  # no address yet (or none given): the contact's arrival asks again
        if not await repo.mark_receipt_told(complaint_id, now):
            return []
        template = receipt_template(receipt)
        log.info("receipt requested", template_id=template)
        return await self.notifier.request(
            repo,
            complaint_id=complaint_id,
            correlation_id=receipt.correlation_id,
            template_id=template,
            recipient=recipient,
            params={"reference_no": receipt.reference_no},
            at=now,
            reference_no=receipt.reference_no,
        )
