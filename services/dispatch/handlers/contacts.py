"""The customer's contact details in dispatch: kept from the restricted `complaint.contact` topic, shown to the
persons who work the case, and every such showing logged.

Showing a person a customer's name, phone, account and address is itself a fact to record (who, whose, what,
through which request, when), so it is a use case that writes, run through the door like every other: there is no
read of contact details without its log row. Machine keys (department systems) are shown what the work-order events
already carry (masked) and leave no row. Whether the person may see the case at all was decided before (views.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.customer_details import masked, revealed, shown
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Actor, Case, Contact, ContactRead, CustomerDetails, complaint_key
from shared.contracts import ComplaintContact, SubjectErased
from shared.logging import get_logger
from shared.subject_keys import opened_contact, sealed_customers

log = get_logger(__name__)


async def keep(events: Sequence[ComplaintContact], work: DispatchWork) -> None:
    """A batch of complaints' contacts (the door's first deliveries) in one statement: the batch's customer keys read
    in one query, each complaint's latest contact kept (a later one, intake's correction, replaces an earlier; the
    first of equal times stays, as one at a time), an erased customer's not at all."""
    await work.context.keys.preload(sealed_customers(events))
    latest: dict[uuid.UUID, Contact] = {}
    for event in events:
        contact = await _opened(event, work)
        if contact is None:
            continue
        kept = latest.get(contact.complaint_id)
        if kept is None or kept.received_at < contact.received_at:
            latest[contact.complaint_id] = contact
    await work.repo.add_contacts(list(latest.values()))


async def _opened(event: ComplaintContact, work: DispatchWork) -> Contact | None:
    """The contact as dispatch keeps it; None for an erased customer (nothing of them is kept)."""
    p = await opened_contact(event.payload, work.context.keys)
    if p is None:
        return None
    return Contact(
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        name=p.name,
        phone=p.phone,
        email=p.email,
        wechat_openid=p.wechat_openid,
        preferred_contact=p.preferred_contact.value,
        received_at=event.occurred_at,
    )


async def purge(event: SubjectErased, work: DispatchWork) -> None:
    """An erased customer (issue 25): their key forgotten, the contacts kept for their cases deleted and the cases'
    exact address with them (the access log stays: who read whose case, naming no customer)."""
    work.context.keys.forget(event.payload.customer_id)
    purged = await work.repo.purge_contacts(event.payload.complaint_ids)
    log.info("erased customer purged", customer_id=str(event.payload.customer_id), contacts=purged)


@dataclass(frozen=True)
class Reveal:
    actor: Actor
    cases: Sequence[Case]
    #: The request, as the log names it: method and route template.
    endpoint: str


async def reveal(command: Reveal, work: DispatchWork) -> dict[uuid.UUID, CustomerDetails]:
    """The customer of each case as the actor is shown them. A person: the real contact, and one access-log row per
    case, committed before anything is answered. A machine key: masked, no row."""
    actor, cases = command.actor, command.cases
    if not actor.is_person:
        return {c.complaint_id: masked(c) for c in cases}
    if not cases:
        return {}
    contacts = await work.repo.contacts(c.complaint_id for c in cases)
    details = {c.complaint_id: revealed(c, contacts.get(c.complaint_id)) for c in cases}
    assert actor.staff_id is not None
    await work.repo.log_contact_reads(
        [
            ContactRead(
                staff_id=actor.staff_id,
                staff_name=actor.label,
                complaint_id=c.complaint_id,
                reference_no=c.reference_no,
                what=shown(c, details[c.complaint_id]),
                endpoint=command.endpoint,
                at=work.now,
            )
            for c in cases
        ]
    )
    log.info("contact details shown", staff_id=actor.staff_id, cases=len(cases), endpoint=command.endpoint)
    return details


@dataclass(frozen=True)
class Reads:
    """The access log's filter: `complaint` is a complaint id or a reference number."""

    complaint: str | None
    staff_id: str | None
    since: datetime | None
    until: datetime | None
    limit: int


async def reads(query: Reads, work: DispatchWork) -> list[ContactRead]:
    """The log, newest first."""
    key = complaint_key(query.complaint) if query.complaint else None
    return await work.repo.contact_reads(
        complaint_id=key if isinstance(key, uuid.UUID) else None,
        reference_no=key if isinstance(key, str) else None,
        staff_id=query.staff_id,
        since=query.since,
        until=query.until,
        limit=query.limit,
    )
