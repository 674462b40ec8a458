"""The receipt: a customer hears their reference number at once (the utilities' rule, DESIGN.md), and a phone
complaint the agent could not settle on the call also hears that the person responsible replies within 12 hours
(seed 001: `complaint_received_phone`).

The complaint (`complaint.received`: channel, whether it was settled on the call) and the customer's contact
(`complaint.contact`, restricted) travel on two topics and arrive in either order, possibly in two followup
processes: whichever comes second sends the receipt, once. Both paths take the complaint's receipt lock
(`per_batch`, for the whole batch in one sorted order: no deadlock) before looking at the other's row, so the
second sees what the first committed; `told_at` is claimed with a conditional update, so a redelivery sends
nothing. A batch is handled set-based (issue 27): one statement per table for the whole batch, not several per
event.

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
from services.followup.notifications import Requested, customer_recipient
from shared.contracts import ComplaintContact, ComplaintReceived, Recipient
from shared.handling import handling
from shared.logging import bind_case, get_logger
from shared.subject_keys import opened_contact, sealed_customers

log = get_logger(__name__)
RECEIPT_WINDOW = timedelta(hours=1)


def receipt_template(receipt: Receipt) -> str:
    """A phone complaint not settled on the call is promised a reply within 12 hours; every other one is given its
    reference number."""
    return "complaint_received_phone" if receipt.channel == "phone" and not receipt.settled else "complaint_received"


def per_batch(
    each: Callable[[Any, FollowupWork], Awaitable[None]],
) -> Callable[[Sequence[Any], FollowupWork], Awaitable[None]]:
    """A batch of intake events (the door's first deliveries), its receipts set-based: the receipt locks of all its
    complaints first, in one sorted order (two batches cannot deadlock); the contacts and complaints kept in one
    statement each; the contacts the batch did not just write read in one; and every receipt that now has both
    claimed in one. Then `each` runs per event (the duty manager, a partner's deadline), and each receipt
    claimed is requested while its complaint's last event of the batch is handled (its log lines name the case;
    the message is judged by that event's time, `Notifier.customer_horizon`), as when one event at a time.

    The same receipts go as one event at a time: the last contact of a complaint wins (a correction replaces an
    earlier one), and a receipt is claimed only for a complaint with an address (the contact's arrival asks again
    for one without)."""

    async def locked(events: Sequence[Any], work: FollowupWork) -> None:
        named = sorted({e.complaint_id for e in events})
        await work.repo.lock_receipts(named)
        await work.context.keys.preload(sealed_customers(events))
        contacts: dict[uuid.UUID, Contact] = {}
        complaints: dict[uuid.UUID, Receipt] = {}
        last: dict[uuid.UUID, Any] = {}
        for event in events:
            last[event.complaint_id] = event
            if isinstance(event, ComplaintContact):
                contact = await _contact(event, work)
                earlier = contacts.get(event.complaint_id)
                if contact is not None and (earlier is None or _later(contact, earlier)):
                    contacts[event.complaint_id] = contact
            elif isinstance(event, ComplaintReceived):
                receipt = _receipt(event, work)
                if receipt is not None:
                    complaints.setdefault(event.complaint_id, receipt)
        kept = {c.complaint_id: c for c in await work.repo.add_contacts(list(contacts.values()))}
        await work.repo.add_receipts(list(complaints.values()))
        for event in events:
            bind_case(complaint_id=str(event.complaint_id))
            await each(event, work)
        if unread := [complaint_id for complaint_id in named if complaint_id not in kept]:
            kept |= await work.repo.contacts(unread)
        recipients = {
            complaint_id: recipient
            for complaint_id, contact in kept.items()
            if (recipient := customer_recipient(contact)) is not None
        }
        requested = []
        for receipt in await work.repo.claim_receipts(sorted(recipients), work.now):
            bind_case(complaint_id=str(receipt.complaint_id))
            with handling(last[receipt.complaint_id]):
                requested.append(await _receipt_message(receipt, recipients[receipt.complaint_id], work))
        told = [r for r in requested if r is not None]
        await work.repo.add_notifications([r.record for r in told])
        work.emit(r.event for r in told)

    return locked


async def _contact(event: ComplaintContact, work: FollowupWork) -> Contact | None:
    """The complaint's contact data in clear; None for an erased customer (nothing of them is kept, and no receipt
    goes out)."""
    p = await opened_contact(event.payload, work.context.keys)
    if p is None:
        return None
    return Contact(
        p.complaint_id,
        p.name,
        p.phone,
        p.email,
        p.wechat_openid,
        p.preferred_contact.value,
        p.customer_id,
        event.occurred_at,
    )


def _later(contact: Contact, kept: Contact) -> bool:
    """An older contact sent again changes nothing; a later one (a correction) replaces the one kept."""
    return kept.contact_at is None or (contact.contact_at is not None and kept.contact_at < contact.contact_at)


def _receipt(event: ComplaintReceived, work: FollowupWork) -> Receipt | None:
    """The complaint kept for its receipt; None when it was accepted too long ago for a receipt to be news."""
    p = event.payload
    if work.now - p.accepted_at > RECEIPT_WINDOW:
        return None
    return Receipt(
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        channel=p.channel.value,
        settled=bool(p.handled_on_contact),
        correlation_id=event.correlation_id,
        received_at=p.accepted_at,
    )


async def _receipt_message(receipt: Receipt, recipient: Recipient, work: FollowupWork) -> Requested | None:
    template = receipt_template(receipt)
    # DEBUG, not INFO: one line per complaint was 6 % of followup's Python in a drain (issue 27), and the receipt is
    # on record anyway: its notification row here, its `notification.requested` event, notify's delivery.
    log.debug("receipt requested", template_id=template)
    return await work.context.notifier.prepare(
        complaint_id=receipt.complaint_id,
        correlation_id=receipt.correlation_id,
        template_id=template,
        recipient=recipient,
        params={"reference_no": receipt.reference_no},
        at=work.now,
        reference_no=receipt.reference_no,
    )
