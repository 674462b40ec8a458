"""What followup consumes: one consumer group per topic family, and which use case each event runs.

Each `Subscription` row names its use case (`handlers/`); a group reading several event types runs a table from
event type to use cases (`by_event_type`), in order, instead of an `isinstance` chain — adding a use case touches
the use case and its row here. An event type a table does not name changes nothing (the door still marks it).
`bootstrap.py` wires the whole table through the door in one call (`subscribe_all`); the door marks every event
processed under the row's consumer name, in the unit of work of its effect.

The group names (`followup.work-orders`, `followup.complaint-contact`, ...) are also the consumer names in
processed-event marks and dead-letter headers: changing one would replay every event from offset 0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from pydantic import Field

from services.followup.handlers import (
    callbacks,
    callers,
    clocks,
    corrective_actions,
    customer_replies,
    duty_manager,
    erasures,
    failed_notifications,
    first_contact,
    incidents,
    invalid,
    part_deadlines,
    partner_deadlines,
    receipts,
    serious_approvals,
    work_order_notices,
)
from services.followup.handlers.context import FollowupWork
from shared import topics
from shared.contracts import (
    AnyCorrectiveActionEvent,
    AnyIncidentEvent,
    AnyRoutingEvent,
    AnyWorkOrderEvent,
    ComplaintContact,
    ComplaintEtaChanged,
    ComplaintFaultFixed,
    ComplaintInvalid,
    ComplaintJoined,
    ComplaintLinked,
    ComplaintReceived,
    ComplaintResolvedOnContact,
    ComplaintRouted,
    CorrectiveActionCompleted,
    CorrectiveActionSet,
    CustomerReplied,
    NotificationFailed,
    SeriousCaseApproved,
    SeriousCaseProposed,
    SeriousCaseSentBack,
    SubjectErased,
    WorkOrderAcknowledged,
    WorkOrderAppointmentAgreed,
    WorkOrderAssigned,
    WorkOrderReassigned,
    WorkOrderResolved,
    WorkOrderReturned,
    WorkOrderStarted,
)
from shared.contracts.dispatch import WorkOrderDeadlineSet
from shared.handling import handling
from shared.kafka.subscription import Subscription

#: A use case of one event: it reads and writes through `work.repo` and emits through `work.emit`.
UseCase = Callable[[Any, FollowupWork], Awaitable[None]]
#: Event type -> the use cases it runs, in order (e.g. a resolution stops the clocks, then schedules the callback).
EventTable = Mapping[type, tuple[UseCase, ...]]


def by_event_type(table: EventTable) -> UseCase:
    """One use case that runs, for each event, the use cases its type (or a base of it) names in `table`."""

    async def handle(event: Any, work: FollowupWork) -> None:
        with handling(event):  # what its messages are judged by (`Notifier.customer_horizon`)
            for use_case in next((table[cls] for cls in type(event).__mro__ if cls in table), ()):
                await use_case(event, work)

    return handle


#: A department's steps start and stop the clocks (`sla_clocks.STOPS`); notes, crews, photos change none.
WORK_ORDER_EVENTS: EventTable = {
    WorkOrderAssigned: (clocks.track,),
    WorkOrderAcknowledged: (clocks.stop, clocks.adopt_owner),
    WorkOrderStarted: (clocks.stop,),
    WorkOrderResolved: (clocks.stop, callbacks.on_resolved),
    WorkOrderReturned: (clocks.stop,),
    WorkOrderReassigned: (clocks.stop,),
    WorkOrderAppointmentAgreed: (work_order_notices.appointment_agreed,),
    WorkOrderDeadlineSet: (part_deadlines.moved,),
}

#: The complaint as received and its contact, in either order: each may complete the receipt (for a whole batch at
#: once, `receipts.per_batch`); a received complaint may also need the duty manager or a partner's deadline.
INTAKE_EVENTS: EventTable = {
    ComplaintReceived: (duty_manager.on_received, partner_deadlines.hold_to_partner_deadline),
}

#: Routing events followup acts on; the rest of `complaint.routed` (their work orders arrive on the department
#: topics) changes nothing here.
ROUTING_EVENTS: EventTable = {
    ComplaintRouted: (invalid.routed_after_all, duty_manager.on_routed),
    ComplaintJoined: (callers.joined,),
    ComplaintLinked: (callers.linked,),
    ComplaintEtaChanged: (callers.eta_changed,),
    ComplaintFaultFixed: (callers.fault_fixed,),
    ComplaintInvalid: (invalid.closed_invalid,),
    ComplaintResolvedOnContact: (invalid.settled_after_all, first_contact.call_back),
}

CORRECTIVE_ACTION_EVENTS: EventTable = {
    CorrectiveActionSet: (corrective_actions.hold,),
    CorrectiveActionCompleted: (corrective_actions.done,),
    SeriousCaseProposed: (serious_approvals.proposed,),
    SeriousCaseSentBack: (serious_approvals.sent_back,),
    SeriousCaseApproved: (serious_approvals.approved,),
}

WORK_ORDERS = Subscription(
    group="followup.work-orders",
    topics=(topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE),
    model=AnyWorkOrderEvent,
    title="followup/work-orders",
    description="Starts, stops and resolves the SLA clocks of every work order; schedules callbacks.",
    batch_size=500,
    # Batched: a batch's consecutive assignments are tracked together, their clocks in one statement (`clocks.py`).
    handler=clocks.with_assignments_together(by_event_type(WORK_ORDER_EVENTS)),
    batched=True,
)

#: One event of each per complaint, in one group: the contact data (restricted) and the complaint as received (for
#: the duty manager: counter complaints not settled on the spot and agitated customers).
ComplaintIntakeEvent = Annotated[ComplaintContact | ComplaintReceived, Field(discriminator="event_type")]

COMPLAINT_CONTACT = Subscription(
    group="followup.complaint-contact",
    topics=(topics.COMPLAINT_CONTACT, topics.COMPLAINT_RECEIVED),
    model=ComplaintIntakeEvent,
    title="followup/complaint.contact",
    description="Restricted contact data, for callbacks and customer notifications; every received complaint, for its "
    "receipt (the reference number, once both are known) and for the duty manager: counter complaints not settled "
    "on the spot and agitated customers (called at once, held to the acknowledgement limit).",
    batch_size=500,
    # Batched: the receipt locks of the whole batch first, in one order, then its receipts set-based (`receipts.py`).
    handler=receipts.per_batch(by_event_type(INTAKE_EVENTS)),
    batched=True,
)

CALLERS = Subscription(
    group="followup.callers",
    topics=(topics.COMPLAINT_ROUTED,),
    model=AnyRoutingEvent,
    title="followup/callers",
    description="Callers of incidents, outage notices and duplicated cases: told on joining, on a new ETA and when "
    "fixed; then called back (complaint.joined, complaint.linked, complaint.eta_changed, complaint.fault_fixed). "
    "Complaints closed as invalid: the customer is told why (complaint.invalid). Settled at first contact: called "
    "back (complaint.resolved_on_contact). A counter complaint's first routing: not settled on the spot, so the duty "
    "manager is called if not already (complaint.routed).",
    batch_size=500,
    # Batched: the untold invalid notices of the whole batch read first, in one statement (`invalid.py`).
    handler=invalid.untold_notices_known(by_event_type(ROUTING_EVENTS)),
    batched=True,
)

INCIDENTS = Subscription(
    group="followup.incidents",
    topics=(topics.INCIDENT_EVENTS,),
    model=AnyIncidentEvent,
    title="followup/incidents",
    description="Which work orders are incidents': their resolution calls back each caller, not the incident.",
    batch_size=500,
    handler=incidents.learn_work_order,
)

CORRECTIVE_ACTIONS = Subscription(
    group="followup.corrective-actions",
    topics=(topics.CORRECTIVE_ACTIONS,),
    model=AnyCorrectiveActionEvent,
    title="followup/corrective-actions",
    description="Corrective actions of serious cases: a clock to each deadline (warning, then the corrective-action "
    "ladder); completion stops it. A serious case's proposal: leadership told one waits, the department's manager "
    "that it came back, the project manager and the technical department that it was approved.",
    batch_size=500,
    handler=by_event_type(CORRECTIVE_ACTION_EVENTS),
)

NOTIFICATION_FAILED = Subscription(
    group="followup.notification-failed",
    topics=(topics.NOTIFICATION_FAILED,),
    model=NotificationFailed,
    title="followup/notification-failed",
    description="Messages notify could not deliver on any channel: a customer's becomes an agent's task to phone "
    "them (the callbacks worklist, reason notification_failed); a staff member's is logged and counted.",
    batch_size=500,
    handler=failed_notifications.on_failed,
)

CUSTOMER_REPLIES = Subscription(
    group="followup.customer-replies",
    topics=(topics.COMPLAINT_REPLIES,),
    model=CustomerReplied,
    title="followup/customer-replies",
    description="A customer's reply on their case (complaint.customer_replied): a survey score is kept on the case's "
    "callback; dissatisfied answers a pending callback (reopened under the callback rules, method sms/email/wechat); "
    "anything else is a staff notice to the case's owner.",
    batch_size=100,
    handler=customer_replies.on_replied,
)

ERASURES = Subscription(
    group="followup.privacy-erasures",
    topics=(topics.PRIVACY_ERASURES,),
    model=SubjectErased,
    title="followup/privacy.erasures",
    description="An erased customer (issue 25): their kept contacts deleted, their key forgotten.",
    handler=erasures.purge,
)

SUBSCRIPTIONS = (
    WORK_ORDERS,
    COMPLAINT_CONTACT,
    CALLERS,
    INCIDENTS,
    CORRECTIVE_ACTIONS,
    NOTIFICATION_FAILED,
    CUSTOMER_REPLIES,
    ERASURES,
)
