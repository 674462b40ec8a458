"""`notification.requested` → one delivery per notification id: suppressed by the daily cap, failed when nobody
can be reached, else queued (now, or at the end of quiet hours).

Handled a batch at a time (`consumers.REQUESTS` is batched): the staff the batch names are resolved first, each
role or person once, before any delivery row or the cap's lock is touched, so a slow rota holds no lock a
concurrent batch waits on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.notify import events
from services.notify.handlers.context import Notify, NotifyContext, StaffResolver
from services.notify.model import Delivery, StaffContact, arrive, cap_key, customer_plan, role_address, staff_plan
from shared.contracts.followup import NotificationRequested, Recipient
from shared.errors import Unavailable
from shared.logging import get_logger
from shared.subject_keys import opened_recipient

log = get_logger(__name__)

StaffKey = tuple[str | None, str | None, str | None]


class DirectoryUnavailable(Unavailable):
    """The directory could not answer: a dependency outage, so the batch is redelivered rather than
    dead-lettered (the guarded consumer retries an `Unavailable`)."""


@dataclass(frozen=True)
class _StaffId:
    """A named staff member when no directory is configured: reachable in the console inbox only."""

    staff_id: str
    phone: str | None = None
    email: str | None = None


async def deliver_requests(batch: Sequence[NotificationRequested], work: Notify) -> None:
    """Each request's delivery, written with the events of its first status (a duplicate request adds nothing)."""
    people = await _resolve_staff(batch, work.context.directory)
    for sealed in batch:
        if await work.repo.known(sealed.payload.notification_id):
            continue
        request = await opened_request(sealed, work)
        if request is None:
            log.info("request for an erased customer dropped", notification_id=str(sealed.payload.notification_id))
            continue
        p = request.payload
        delivery = new_delivery(request, people.get(_staff_key(p.recipient)), work.context)
        sent_today = (
            await work.repo.count_today(delivery.cap_key, delivery.local_day)
            if delivery.cap_key and delivery.local_day
            else 0
        )
        delivery = arrive(delivery, work.context.rules, sent_today=sent_today, at=work.now)
        if await work.repo.insert(delivery):
            work.emit(events.on_change(delivery, work.now))


async def opened_request(request: NotificationRequested, work: Notify) -> NotificationRequested | None:
    """The request with a customer's sealed addresses opened (v4); None when the customer was erased."""
    recipient = await opened_recipient(request.payload.recipient, work.context.keys)
    if recipient is None:
        return None
    return request.model_copy(update={"payload": request.payload.model_copy(update={"recipient": recipient})})


def new_delivery(request: NotificationRequested, person: StaffContact | None, context: NotifyContext) -> Delivery:
    """The delivery a request asks for, before the rules of its arrival: whom, on which channels, in what order."""
    p = request.payload
    channels = context.catalog.channels
    if p.recipient.kind == "staff":
        department = str(p.recipient.department) if p.recipient.department else None
        plan = staff_plan(person, channels, unresolved=role_address(p.recipient.role, department))
        staff_id, key = (person.staff_id if person else None), None
    else:
        plan, staff_id, key = customer_plan(p.recipient, channels), None, cap_key(p.recipient)
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
        local_day=p.requested_at.astimezone(context.timezone).date() if key else None,
    )


async def _resolve_staff(
    batch: Sequence[NotificationRequested], directory: StaffResolver | None
) -> Mapping[StaffKey, StaffContact | None]:
    people: dict[StaffKey, StaffContact | None] = {}
    for request in batch:
        recipient = request.payload.recipient
        key = _staff_key(recipient)
        if recipient.kind == "staff" and key not in people:
            people[key] = await _resolve(recipient, directory)
    return people


async def _resolve(recipient: Recipient, directory: StaffResolver | None) -> StaffContact | None:
    if directory is None:
        return _StaffId(recipient.staff_id) if recipient.staff_id else None
    try:
        return await directory.resolve(recipient)
    except Exception as exc:
        log.warning("staff directory unavailable", error=type(exc).__name__)
        raise DirectoryUnavailable(f"staff directory: {type(exc).__name__}") from exc


def _staff_key(recipient: Recipient) -> StaffKey:
    return (recipient.role, str(recipient.department) if recipient.department else None, recipient.staff_id)
