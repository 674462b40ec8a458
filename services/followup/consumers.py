"""What followup consumes: one consumer group per topic family.

The group names (`followup.work-orders`, `followup.complaint-contact`, ...) are also the consumer names in
processed-event marks and dead-letter headers: changing one would replay every event from offset 0.
"""

from __future__ import annotations

from shared import topics
from shared.contracts import AnyIncidentEvent, AnyRoutingEvent, AnyWorkOrderEvent, ComplaintContact
from shared.kafka.subscription import Subscription

WORK_ORDERS = Subscription(
    group="followup.work-orders",
    topics=(topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE),
    model=AnyWorkOrderEvent,
    title="followup/work-orders",
    description="Starts, stops and resolves the SLA clocks of every work order; schedules callbacks.",
    batch_size=500,
)

COMPLAINT_CONTACT = Subscription(
    group="followup.complaint-contact",
    topics=(topics.COMPLAINT_CONTACT,),
    model=ComplaintContact,
    title="followup/complaint.contact",
    description="Restricted contact data, for callbacks and customer notifications.",
    batch_size=500,
)

CALLERS = Subscription(
    group="followup.callers",
    topics=(topics.COMPLAINT_ROUTED,),
    model=AnyRoutingEvent,
    title="followup/callers",
    description="Callers of incidents, outage notices and duplicated cases: told on joining, on a new ETA and when "
    "fixed; then called back (complaint.joined, complaint.linked, complaint.eta_changed, complaint.fault_fixed).",
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

SUBSCRIPTIONS = (WORK_ORDERS, COMPLAINT_CONTACT, CALLERS, INCIDENTS)
