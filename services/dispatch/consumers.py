"""What dispatch consumes: five consumer groups, each a row naming its use case (`SUBSCRIPTIONS`, wired by
bootstrap.py through the door with `subscribe_all`).

The names (`Subscription.consumer`) are also the keys of dispatch's processed-event marks and of dead-letter
headers, so they never change. The two ingress topics (department systems' updates, outage systems' notices) name
each message by its own id, the key of its processed mark; an update or notice that cannot apply (an unknown work
order or outage, another department's, not allowed now) never will: it is dead-lettered at once with the refusal's
class and words (`PoisonMessage`), as it always was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.dispatch.department_ingress import DepartmentUpdate
from services.dispatch.handlers import contacts, outages, route, work_orders
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.outage_ingress import OutageNoticeMessage
from shared import topics
from shared.contracts import ComplaintContact, ComplaintReceived, ComplaintReopened, SubjectErased
from shared.errors import DomainError
from shared.kafka.consumer import PoisonMessage
from shared.kafka.subscription import Subscription


def _dead_lettered_as_before(
    handler: Callable[[Any, DispatchWork], Awaitable[None]],
) -> Callable[[Any, DispatchWork], Awaitable[None]]:
    """An ingress message's refusal as a poison message named by the refusal's class ("NotFound: no work order
    ..."), the words department and outage systems' operators have always read in the dead letters."""

    async def refused_as_poison(message: Any, work: DispatchWork) -> None:
        try:
            await handler(message, work)
        except PoisonMessage:
            raise
        except DomainError as exc:
            raise PoisonMessage(f"{type(exc).__name__}: {exc}") from exc

    return refused_as_poison


COMPLAINT_RECEIVED = Subscription(
    group="dispatch.complaint-received",
    topics=(topics.COMPLAINT_RECEIVED,),
    model=ComplaintReceived,
    title="dispatch/complaint.received",
    description="Classifies and routes every complaint, in batches, idempotently.",
    batch_size=500,
    batch_size_setting="dispatch_batch_size",
    handler=route.received,
    batched=True,
    # The routed path: a short linger, so batches form at moderate rates without holding a caller's routing back.
    linger_ms=10,
)

COMPLAINT_REOPENED = Subscription(
    group="dispatch.complaint-reopened",
    topics=(topics.COMPLAINT_REOPENED,),
    model=ComplaintReopened,
    title="dispatch/complaint.reopened",
    description="Opens a new cycle with raised severity.",
    handler=route.reopened,
)

DEPARTMENT_UPDATES = Subscription(
    group="dispatch.department-updates",
    topics=(topics.DEPARTMENT_UPDATES,),
    model=DepartmentUpdate,
    title="dispatch/department-updates",
    description="Department systems acknowledge, start, note, resolve or return work orders.",
    handler=_dead_lettered_as_before(work_orders.department_update),
)

OUTAGE_NOTICES = Subscription(
    group="dispatch.outage-notices",
    topics=(topics.OUTAGE_NOTICES,),
    model=OutageNoticeMessage,
    title="dispatch/outage-notices",
    description="The utility's outage and SCADA systems declare outages, update their ETA, announce restoration.",
    handler=_dead_lettered_as_before(outages.notice),
)

COMPLAINT_CONTACT = Subscription(
    group="dispatch.complaint-contact",
    topics=(topics.COMPLAINT_CONTACT,),
    model=ComplaintContact,
    title="dispatch/complaint.contact",
    description="Restricted contact data, kept by complaint id: shown to the staff who work the case (a department's, "
    "its crew, agents, supervisors), each read logged.",
    batch_size=500,
    # Batched: the batch's customer keys in one query, its contacts in one statement (`contacts.keep`).
    handler=contacts.keep,
    batched=True,
)

ERASURES = Subscription(
    group="dispatch.privacy-erasures",
    topics=(topics.PRIVACY_ERASURES,),
    model=SubjectErased,
    title="dispatch/privacy.erasures",
    description="An erased customer (issue 25): the contacts kept for their cases deleted, their key forgotten.",
    handler=contacts.purge,
)

SUBSCRIPTIONS = (
    COMPLAINT_RECEIVED,
    COMPLAINT_REOPENED,
    DEPARTMENT_UPDATES,
    OUTAGE_NOTICES,
    COMPLAINT_CONTACT,
    ERASURES,
)
