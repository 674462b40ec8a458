"""What followup consumes: one consumer group per topic family.

The group names (`followup.work-orders`, `followup.complaint-contact`, ...) are also the consumer names in
processed-event marks and dead-letter headers: changing one would replay every event from offset 0.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared import topics
from shared.contracts import (
    AnyCorrectiveActionEvent,
    AnyIncidentEvent,
    AnyRoutingEvent,
    AnyWorkOrderEvent,
    ComplaintContact,
    ComplaintReceived,
    NotificationFailed,
)
from shared.kafka.subscription import Subscription

WORK_ORDERS = Subscription(
    group="followup.work-orders",
    topics=(topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE),
    model=AnyWorkOrderEvent,
    title="followup/work-orders",
    description="Starts, stops and resolves the SLA clocks of every work order; schedules callbacks.",
    batch_size=500,
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
)
#: The duty manager's processed-event marks (the events come through COMPLAINT_CONTACT's group).
DUTY_MANAGER_CONSUMER = "followup.duty-manager"

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
)

INCIDENTS = Subscription(
    group="followup.incidents",
    topics=(topics.INCIDENT_EVENTS,),
    model=AnyIncidentEvent,
    title="followup/incidents",
    description="Which work orders are incidents': their resolution calls back each caller, not the incident.",
    batch_size=500,
)

CORRECTIVE_ACTIONS = Subscription(
    group="followup.corrective-actions",
    topics=(topics.CORRECTIVE_ACTIONS,),
    model=AnyCorrectiveActionEvent,
    title="followup/corrective-actions",
    description="Corrective actions of serious cases: a clock to each deadline (warning, then the corrective-action "
    "ladder); completion stops it.",
    batch_size=500,
)

NOTIFICATION_FAILED = Subscription(
    group="followup.notification-failed",
    topics=(topics.NOTIFICATION_FAILED,),
    model=NotificationFailed,
    title="followup/notification-failed",
    description="Messages notify could not deliver on any channel: a customer's becomes an agent's task to phone "
    "them (the callbacks worklist, reason notification_failed); a staff member's is logged and counted.",
    batch_size=500,
)

SUBSCRIPTIONS = (WORK_ORDERS, COMPLAINT_CONTACT, CALLERS, INCIDENTS, CORRECTIVE_ACTIONS, NOTIFICATION_FAILED)
