"""What dispatch consumes: five consumer groups, and the thin functions their messages are handed to.

The names (`Subscription.consumer`) are also the keys of dispatch's processed-event marks and of dead-letter
headers, so they never change; the handlers are told them from here.
"""

from __future__ import annotations

from services.dispatch.department_ingress import DepartmentUpdate, to_command
from services.dispatch.handlers import Dispatcher
from services.dispatch.model import Conflict, Forbidden, Invalid, NotFound, OutageNotice
from services.dispatch.outage_ingress import OutageNoticeMessage
from services.dispatch.workorders.lifecycle import IllegalTransition
from shared import topics
from shared.contracts import ComplaintContact, ComplaintReceived, ComplaintReopened
from shared.kafka.consumer import PoisonMessage
from shared.kafka.subscription import Subscription

COMPLAINT_RECEIVED = Subscription(
    group="dispatch.complaint-received",
    topics=(topics.COMPLAINT_RECEIVED,),
    model=ComplaintReceived,
    title="dispatch/complaint.received",
    description="Classifies and routes every complaint, in batches, idempotently.",
    batch_size=500,  # bootstrap passes `dispatch_batch_size` (500 by default)
)

COMPLAINT_REOPENED = Subscription(
    group="dispatch.complaint-reopened",
    topics=(topics.COMPLAINT_REOPENED,),
    model=ComplaintReopened,
    title="dispatch/complaint.reopened",
    description="Opens a new cycle with raised severity.",
)

DEPARTMENT_UPDATES = Subscription(
    group="dispatch.department-updates",
    topics=(topics.DEPARTMENT_UPDATES,),
    model=DepartmentUpdate,
    title="dispatch/department-updates",
    description="Department systems acknowledge, start, note, resolve or return work orders.",
)

OUTAGE_NOTICES = Subscription(
    group="dispatch.outage-notices",
    topics=(topics.OUTAGE_NOTICES,),
    model=OutageNoticeMessage,
    title="dispatch/outage-notices",
    description="The utility's outage and SCADA systems declare outages, update their ETA, announce restoration.",
)

COMPLAINT_CONTACT = Subscription(
    group="dispatch.complaint-contact",
    topics=(topics.COMPLAINT_CONTACT,),
    model=ComplaintContact,
    title="dispatch/complaint.contact",
    description="Restricted contact data, kept by complaint id: shown to the staff who work the case (a department's, "
    "its crew, agents, supervisors), each read logged.",
    batch_size=500,
)

SUBSCRIPTIONS = (COMPLAINT_RECEIVED, COMPLAINT_REOPENED, DEPARTMENT_UPDATES, OUTAGE_NOTICES, COMPLAINT_CONTACT)


async def on_complaints_received(dispatcher: Dispatcher, batch: list[ComplaintReceived]) -> None:
    await dispatcher.route_received(batch, consumer=COMPLAINT_RECEIVED.consumer)


async def on_complaints_reopened(dispatcher: Dispatcher, batch: list[ComplaintReopened]) -> None:
    await dispatcher.reopen(batch, consumer=COMPLAINT_REOPENED.consumer)


async def on_contacts(dispatcher: Dispatcher, batch: list[ComplaintContact]) -> None:
    await dispatcher.contacts.keep(batch, consumer=COMPLAINT_CONTACT.consumer)


async def on_department_updates(dispatcher: Dispatcher, updates: list[DepartmentUpdate]) -> None:
    """An update that cannot apply (unknown work order, another department's, not allowed now, a serious case's
    resolution without cause analysis and corrective action) never will: it is dead-lettered with the reason."""
    for update in updates:
        step, actor = to_command(update)
        try:
            await dispatcher.act(
                update.work_order_id, step, actor, dedupe=(DEPARTMENT_UPDATES.consumer, update.update_id)
            )
        except (NotFound, Forbidden, IllegalTransition, Conflict, Invalid) as exc:
            raise PoisonMessage(f"{type(exc).__name__}: {exc}") from exc


async def on_outage_notices(dispatcher: Dispatcher, messages: list[OutageNoticeMessage]) -> None:
    """A message that cannot apply (an update for an unknown outage, one already ended) never will: it is
    dead-lettered with the reason."""
    for m in messages:
        dedupe = (OUTAGE_NOTICES.consumer, m.message_id)
        try:
            if m.action == "declare":
                assert m.kind is not None and m.description is not None
                notice = OutageNotice(
                    kind=m.kind,
                    family=m.family.value if m.family else None,
                    asset=m.asset.model_dump(mode="json") if m.asset else None,
                    district=m.district,
                    compound=m.compound,
                    starts_at=m.starts,
                    expected_end=m.expected_end,
                    description=m.description,
                    description_en=m.description_en,
                    source_ref=m.source_ref,
                )
                await dispatcher.declare_outage(notice, m.source, dedupe=dedupe)
            else:
                await dispatcher.update_outage(
                    source_ref=m.source_ref,
                    expected_end=m.expected_end,
                    restored=m.action == "restored",
                    note=m.note,
                    actor=m.source,
                    dedupe=dedupe,
                )
        except (NotFound, Conflict, Invalid) as exc:
            raise PoisonMessage(f"{type(exc).__name__}: {exc}") from exc
