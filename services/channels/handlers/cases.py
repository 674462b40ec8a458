"""The case read model: every complaint as the customer-facing protocols need it, kept from the public events, the
restricted `complaint.contact` (only keyed hashes of the contact data are kept) and `notification.delivery` (the
messages sent to the customer).

Statuses (Open311 shows received…in_progress as `open`, resolved…invalid as `closed`):

    received ──routed──▶ routed ──acknowledged/started──▶ in_progress ──resolved──▶ resolved ──closed──▶ closed
        └──────invalid──▶ invalid        ▲                                              │
                                         └────────────── reopened (new cycle) ◀─────────┘

A case's events come on several topics, so they arrive in any order: each event fills the fields it knows, and
sets the status only when it happened no earlier than the event that set the current one (`status_at`). A case
first seen through a later event (a delivery before `complaint.received`) starts as a stub and is filled in when
the rest arrives. `project` is pure; `keep_cases` is the use case the subscription runs.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from services.channels.contacts import ContactHasher
from services.channels.handlers.context import ChannelsWork
from services.channels.handlers.platform_events import PlatformEvent
from services.channels.model import Case, CaseStatus, SentMessage
from shared import topics
from shared.contracts import ComplaintContact, ComplaintReceived, Event, SubjectErased
from shared.privacy import mask_phones_in_text
from shared.subject_keys import opened_contact, opened_location

#: Templates are customers' only when the delivery says so; staff notices never make a case's messages.
CUSTOMER = "customer"
#: An incident's reference number (`shared.contracts.incidents`), which its own work order's events carry: not a case.
INCIDENT_REFERENCE_PREFIX = "INC-"
#: A message counts as sent to the customer (for "the case of the last message sent") in these statuses.
SENT_STATUSES = frozenset({"sent", "delivered"})


def stub(complaint_id: uuid.UUID, at: datetime) -> Case:
    return Case(
        complaint_id=complaint_id,
        reference_no=None,
        channel=None,
        channel_ticket_id=None,
        status="received",
        received_at=None,
        updated_at=at,
    )


def _moved(case: Case, status: CaseStatus, at: datetime, **fields: Any) -> Case:
    """`fields` always; the status only when this event is no older than the one that set the current status."""
    if case.status_at is None or at >= case.status_at:
        fields.update(status=status, status_at=at)
    return dataclasses.replace(case, **fields)


def _received(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    coordinates = p.location.coordinates
    return dataclasses.replace(
        case,
        reference_no=p.reference_no,
        channel=p.channel.value,
        channel_ticket_id=p.channel_ticket_id,
        received_at=p.received_at,
        category=case.category or (p.category_hint.value if p.category_hint else None),
        district=p.location.district,
        latitude=coordinates.latitude if coordinates else None,
        longitude=coordinates.longitude if coordinates else None,
        status_at=case.status_at or p.accepted_at,
    )


def _contact(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return dataclasses.replace(
        case,
        reference_no=case.reference_no or p.reference_no,
        phone_hash=contacts.phone(p.phone),
        phone_last4_hash=contacts.phone_last4(p.phone),
        email_hash=contacts.email(p.email),
        wechat_openid_hash=contacts.wechat_openid(p.wechat_openid),
    )


def _routed(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    fields = {"reference_no": p.reference_no, "department": p.department.value, "category": p.category.value}
    if not p.valid:
        return _moved(case, "invalid", p.routed_at, status_notes=p.invalid_reason, **fields)
    notes = "Reopened: a new handling cycle" if p.reason == "reopened" else None
    return _moved(case, "routed", p.routed_at, status_notes=notes or case.status_notes, **fields)


def _joined(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    fields = {"department": p.department.value, "category": p.category.value, "eta": p.eta or case.eta}
    return _moved(case, "routed", p.joined_at, reference_no=p.reference_no, **fields)


def _linked(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    fields = {"department": p.department.value, "category": p.category.value}
    return _moved(case, "routed", p.linked_at, reference_no=p.reference_no, **fields)


def _invalid(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return _moved(case, "invalid", p.invalid_at, reference_no=p.reference_no, status_notes=p.reason)


def _resolved_on_contact(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    fields = {"department": p.department.value, "category": p.category.value, "status_notes": p.handled_on_contact}
    return _moved(case, "resolved", p.resolved_at, reference_no=p.reference_no, **fields)


def _in_progress(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return _moved(case, "in_progress", p.at, reference_no=p.reference_no, department=p.department.value)


def _work_resolved(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    status: CaseStatus = "resolved" if p.case_resolved else "in_progress"
    return _moved(case, status, p.at, reference_no=p.reference_no, status_notes=p.resolution)


def _fault_fixed(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return _moved(case, "resolved", p.fixed_at, reference_no=p.reference_no, status_notes=p.resolution)


def _reopened(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return _moved(case, "in_progress", p.reopened_at, reference_no=p.reference_no, status_notes=p.reason)


def _closed(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return _moved(case, "closed", p.closed_at, reference_no=p.reference_no)


def _eta(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    return dataclasses.replace(case, eta=p.eta, status_notes=p.note or case.status_notes)


def _delivery(case: Case, event: Any, contacts: ContactHasher) -> Case:
    p = event.payload
    if p.status not in SENT_STATUSES:
        return case
    last = case.last_message_at
    return dataclasses.replace(case, last_message_at=p.status_at if last is None else max(last, p.status_at))


Projection = Callable[[Case, Any, ContactHasher], Case]

#: What each event type does to its case; other event types on the subscribed topics change nothing.
PROJECTIONS: dict[str, Projection] = {
    "complaint.received": _received,
    "complaint.contact": _contact,
    "complaint.routed": _routed,
    "complaint.joined": _joined,
    "complaint.linked": _linked,
    "complaint.invalid": _invalid,
    "complaint.resolved_on_contact": _resolved_on_contact,
    "workorder.acknowledged": _in_progress,
    "workorder.started": _in_progress,
    "workorder.resolved": _work_resolved,
    "complaint.fault_fixed": _fault_fixed,
    "complaint.reopened": _reopened,
    "complaint.closed": _closed,
    "complaint.eta_changed": _eta,
    "notification.delivery": _delivery,
}


def concerns_case(event: Event) -> bool:
    """Whether `event` changes a customer's case: a projected type; not an incident's own work order (keyed by the
    incident, its reference `INC-…`); a delivery only when it went to the customer (staff notices are keyed by
    incidents as well as cases)."""
    if event.event_type not in PROJECTIONS:
        return False
    if str(getattr(event.payload, "reference_no", "")).startswith(INCIDENT_REFERENCE_PREFIX):
        return False
    return event.event_type != "notification.delivery" or getattr(event.payload, "recipient_kind", "") == CUSTOMER


def project(case: Case, event: Event, contacts: ContactHasher) -> Case:
    """The case after `event` (pure)."""
    changed = PROJECTIONS[event.event_type](case, event, contacts)
    notes = changed.status_notes
    if notes and notes != case.status_notes:
        # Shown to the public (Open311, the status page): a phone number a note quotes is masked.
        notes = mask_phones_in_text(notes)
    return dataclasses.replace(changed, status_notes=notes, updated_at=max(case.updated_at, event.occurred_at))


async def keep_cases(batch: Sequence[Event], work: ChannelsWork) -> None:
    """A batch of events into the read model: each case locked once, in id order (no deadlock between batches)."""
    relevant = [e for e in await _opened(batch, work) if concerns_case(e)]
    for complaint_id in sorted({e.complaint_id for e in relevant}):
        events = [e for e in relevant if e.complaint_id == complaint_id]
        # A stub first, so that two replicas taking the case's first events (from two topics) meet at the row lock.
        await work.repo.add_case_if_absent(stub(complaint_id, events[0].occurred_at))
        case = await work.repo.case(complaint_id, for_update=True)
        assert case is not None
        for event in events:
            case = project(case, event, work.context.contacts)
            if event.event_type == "notification.delivery":
                await work.repo.record_sent(complaint_id, _sent(event))
        await work.repo.save_case(case)


async def _opened(batch: Sequence[Event], work: ChannelsWork) -> list[Event]:
    """The batch with sealed contacts and places opened (an erased customer's left out) and each erasure applied:
    the hashes of the customer's contact, their cases' coordinates, the raw messages they sent, and their WeChat
    form data and waiting messages (issue 25)."""
    opened: list[Event] = []
    for event in batch:
        if isinstance(event, SubjectErased):
            work.context.keys.forget(event.payload.customer_id)
            # WeChat's rows first: the raw messages `forget_customer` empties name the sender's openid.
            await work.repo.forget_wechat_customers(list(event.payload.complaint_ids))
            await work.repo.forget_customer(list(event.payload.complaint_ids))
        elif isinstance(event, ComplaintContact):
            payload = await opened_contact(event.payload, work.context.keys)
            if payload is not None:
                opened.append(event.model_copy(update={"payload": payload}))
        elif isinstance(event, ComplaintReceived):
            # v5 seals the exact coordinates (the status page and Open311 show them rounded): erased, none.
            location = await opened_location(event.payload.location, work.context.keys)
            opened.append(event.model_copy(update={"payload": event.payload.model_copy(update={"location": location})}))
        else:
            opened.append(event)
    return opened


def _sent(event: Any) -> SentMessage:
    p = event.payload
    return SentMessage(
        notification_id=p.notification_id,
        template_id=p.template_id,
        channel=p.channel,
        status=p.status,
        at=p.status_at,
    )


#: The topics the read model is kept from (`consumers.CASES`).
CASE_TOPICS: tuple[str, ...] = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_CONTACT,
    topics.COMPLAINT_ROUTED,
    topics.WORKORDERS_REPAIR,
    topics.WORKORDERS_BILLING,
    topics.WORKORDERS_CUSTOMER_SERVICE,
    topics.COMPLAINT_REOPENED,
    topics.COMPLAINT_CLOSED,
    topics.NOTIFICATION_DELIVERY,
    # Issue 25: an erased customer's hashes and raw messages go.
    topics.PRIVACY_ERASURES,
)
#: What the case subscription reads: any event of the platform (an unknown or invalid one is poison).
CaseEvent = PlatformEvent
