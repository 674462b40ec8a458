"""The customer's contact details in dispatch: kept from the restricted `complaint.contact` topic, shown to the
persons who work the case, and every such showing logged.

Why here and not in views.py: showing a person a customer's name, phone, account and address is itself a fact to
record (who, whose, what, through which request, when), so it is a write, committed with the read in one unit of
work — there is no read of contact details without its log row. Machine keys (department systems) are shown what the
work-order events already carry (masked name and phone, the account and the address) and leave no row: the topic ACLs
and the systems' own audit cover them. Whether the person may see the case at all was decided before (views.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.model import Actor, Case, Contact, ContactRead, CustomerDetails
from services.dispatch.repository import DispatchRepository
from shared.contracts import ComplaintContact
from shared.db import Transactions
from shared.logging import get_logger

log = get_logger(__name__)


def masked(case: Case) -> CustomerDetails:
    """What every subscriber of the work-order topics sees of the customer."""
    c = case.customer
    return CustomerDetails(
        name=c.get("name_masked"),
        phone=c.get("phone_masked"),
        email=None,
        account_no=c.get("account_no"),
        preferred_contact=c.get("preferred_contact") or "phone",
        masked=True,
    )


def revealed(case: Case, contact: Contact | None) -> CustomerDetails:
    """The real contact beside the case's account; masked name and phone until the contact event has arrived."""
    if contact is None:
        return masked(case)
    return CustomerDetails(
        name=contact.name,
        phone=contact.phone,
        email=contact.email,
        account_no=case.account_no,
        preferred_contact=contact.preferred_contact,
        masked=False,
    )


def shown(case: Case, details: CustomerDetails) -> list[str]:
    """What of the customer a read showed: the access log's `what`."""
    fields = [name for name in ("name", "phone", "email", "account_no") if getattr(details, name)]
    if details.masked:
        fields = [f for f in fields if f not in ("name", "phone")]
    return [*fields, "address"] if case.location.get("address") else fields


@dataclass
class ContactDesk:
    """Keeps contacts (consumer), shows them (logged), and lists the log for supervisors."""

    transactions: Transactions[DispatchRepository]
    clock: Callable[[], datetime]

    async def keep(self, batch: Sequence[ComplaintContact], *, consumer: str) -> None:
        """Each complaint's contact, once (idempotent on the event id like every consumer, and on the complaint)."""
        async with self.transactions() as work:
            for event in batch:
                if await work.repo.first_delivery(consumer, event.event_id):
                    p = event.payload
                    await work.repo.add_contact(
                        Contact(
                            complaint_id=p.complaint_id,
                            reference_no=p.reference_no,
                            name=p.name,
                            phone=p.phone,
                            email=p.email,
                            wechat_openid=p.wechat_openid,
                            preferred_contact=p.preferred_contact.value,
                            received_at=event.occurred_at,
                        )
                    )
            work.commit()

    async def reveal(self, actor: Actor, cases: Sequence[Case], *, endpoint: str) -> dict[uuid.UUID, CustomerDetails]:
        """The customer of each case as `actor` is shown them. A person: the real contact, and one access-log row per
        case, committed before anything is answered. A machine key: masked, no row."""
        if not actor.is_person:
            return {c.complaint_id: masked(c) for c in cases}
        if not cases:
            return {}
        async with self.transactions() as work:
            contacts = await work.repo.contacts(c.complaint_id for c in cases)
            now = self.clock()
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
                        endpoint=endpoint,
                        at=now,
                    )
                    for c in cases
                ]
            )
            work.commit()
        log.info("contact details shown", staff_id=actor.staff_id, cases=len(cases), endpoint=endpoint)
        return details

    async def reads(
        self,
        *,
        complaint: str | None,
        staff_id: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[ContactRead]:
        """The log, newest first; `complaint` is a complaint id or a reference number."""
        complaint_id, reference_no = None, None
        if complaint:
            try:
                complaint_id = uuid.UUID(complaint)
            except ValueError:
                reference_no = complaint
        async with self.transactions() as work:
            return await work.repo.contact_reads(
                complaint_id=complaint_id,
                reference_no=reference_no,
                staff_id=staff_id,
                since=since,
                until=until,
                limit=limit,
            )
