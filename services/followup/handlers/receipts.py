"""The receipt: a customer hears their reference number at once (the utilities' rule, DESIGN.md), and a phone
complaint the agent could not settle on the call also hears that the person responsible replies within 12 hours
(seed 001: `complaint_received_phone`).

The complaint (`complaint.received`: channel, whether it was settled on the call) and the customer's contact
(`complaint.contact`, restricted) travel on two topics and arrive in either order, possibly in two followup
processes: whichever comes second sends the receipt, once. Both paths take the complaint's receipt lock
(`with_receipt_locks`, for the whole batch in one sorted order: no deadlock) before looking at the other's row, so
the second sees what the first committed; `told_at` is claimed with a conditional update, so a redelivery sends
nothing.

A complaint settled on the call or at the counter still gets the plain receipt (`complaint_received`): it is a case
with a reference the customer quotes at the callback or to reopen it — only the 12-hour promise would be wrong.
A receipt is news only at receipt: a complaint accepted longer than `RECEIPT_WINDOW` ago (a new consumer group
reading the topic's history, a long outage of followup) gets none; the messages that follow still go.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from services.followup.handlers.context import FollowupWork
from services.followup.model import Contact, Receipt
from services.followup.notifications import customer_recipient
from shared.contracts import ComplaintContact, ComplaintReceived
from shared.logging import bind_case, get_logger
from shared.subject_keys import opened_contact, sealed_customers

log = get_logger(__name__)
RECEIPT_WINDOW = timedelta(hours=1)


def receipt_template(receipt: Receipt) -> str:
    """A phone complaint not settled on the call is promised a reply within 12 hours; every other one is given its
    reference number."""
    return "complaint_received_phone" if receipt.channel == "phone" and not receipt.settled else "complaint_received"


def with_receipt_locks(
    use_case: Callable[[Any, FollowupWork], Awaitable[None]],
) -> Callable[[Sequence[Any], FollowupWork], Awaitable[None]]:
    """A batch of intake events (the door's first deliveries): the receipt locks of all their complaints first, in
    one sorted order, then each event's use case (its log lines naming its case, like `Door.each`)."""

    async def locked(events: Sequence[Any], work: FollowupWork) -> None:
        await work.repo.lock_receipts(sorted({e.complaint_id for e in events}))
        await work.context.keys.preload(sealed_customers(events))
        for event in events:
            bind_case(complaint_id=str(event.complaint_id))
            await use_case(event, work)

    return locked


async def on_contact(event: ComplaintContact, work: FollowupWork) -> None:
    """Keep the complaint's contact data, for callbacks and customer messages, and send its receipt if the
    complaint is known already."""
    p = await opened_contact(event.payload, work.context.keys)
    if p is None:
        return  # the customer was erased: nothing of them is kept, and no receipt goes out
    contact = Contact(
        p.complaint_id,
        p.name,
        p.phone,
        p.email,
        p.wechat_openid,
        p.preferred_contact.value,
        p.customer_id,
        event.occurred_at,
    )
    # An older contact sent again changes nothing; a later one (a correction) replaces the one kept.
    kept = contact if await work.repo.add_contact(contact) else await work.repo.contact(p.complaint_id)
    await tell(p.complaint_id, work, kept)


async def on_received(event: ComplaintReceived, work: FollowupWork) -> None:
    """Keep the complaint for its receipt (idempotent) and send it if the contact is already known."""
    p = event.payload
    if work.now - p.accepted_at > RECEIPT_WINDOW:
        return
    receipt = Receipt(
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        channel=p.channel.value,
        settled=bool(p.handled_on_contact),
        correlation_id=event.correlation_id,
        received_at=p.accepted_at,
    )
    await work.repo.add_receipt(receipt)
    await tell(p.complaint_id, work, await work.repo.contact(p.complaint_id))


async def tell(complaint_id: uuid.UUID, work: FollowupWork, contact: Contact | None) -> None:
    """The receipt, when the complaint and an address (`contact`, the one kept) are both known and it was not sent
    yet. The address is looked at first, and the receipt claimed in the same statement that reads it (none yet, or
    told already: nothing to send), so the receipt row is never read on its own."""
    recipient = customer_recipient(contact)
    if recipient is None:
        return  # no address yet (or none given): the contact's arrival asks again
    receipt = await work.repo.claim_receipt(complaint_id, work.now)
    if receipt is None:
        return
    template = receipt_template(receipt)
    log.info("receipt requested", template_id=template)
    work.emit(
        await work.context.notifier.request(
            work.repo,
            complaint_id=complaint_id,
            correlation_id=receipt.correlation_id,
            template_id=template,
            recipient=recipient,
            params={"reference_no": receipt.reference_no},
            at=work.now,
            reference_no=receipt.reference_no,
        )
    )
