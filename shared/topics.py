"""Every Kafka topic of the platform, in one place, so services, the embedded runner and docs agree."""

from __future__ import annotations

#: Partitions per topic: the ceiling on how many replicas of one consumer group share the work.
DEFAULT_PARTITIONS = 12

COMPLAINT_RECEIVED = "complaint.received"
#: Restricted: raw contact data for callbacks. Only followup and reporting subscribe (ACL in production).
COMPLAINT_CONTACT = "complaint.contact"
COMPLAINT_ROUTED = "complaint.routed"
COMPLAINT_ESCALATED = "complaint.escalated"
COMPLAINT_REOPENED = "complaint.reopened"
COMPLAINT_CLOSED = "complaint.closed"
WORKORDERS_REPAIR = "workorders.repair"
WORKORDERS_BILLING = "workorders.billing"
WORKORDERS_CUSTOMER_SERVICE = "workorders.customer-service"
CALLBACK_EVENTS = "callback.events"
NOTIFICATION_REQUESTED = "notification.requested"
#: Ingress: tickets forwarded by partner hotlines (12345, 95598).
PARTNER_TICKETS = "ingress.partner-tickets"
#: Ingress: updates from department systems (acknowledge, resolve, ...).
DEPARTMENT_UPDATES = "ingress.department-updates"

#: Topics a consumer of ours reads: each gets a dead-letter twin `<topic>.dlq`.
CONSUMED_TOPICS: tuple[str, ...] = (
    COMPLAINT_RECEIVED,
    COMPLAINT_CONTACT,
    COMPLAINT_ROUTED,
    COMPLAINT_ESCALATED,
    COMPLAINT_REOPENED,
    COMPLAINT_CLOSED,
    WORKORDERS_REPAIR,
    WORKORDERS_BILLING,
    WORKORDERS_CUSTOMER_SERVICE,
    CALLBACK_EVENTS,
    NOTIFICATION_REQUESTED,
    PARTNER_TICKETS,
    DEPARTMENT_UPDATES,
)


def dead_letter_topic(topic: str) -> str:
    """Name of the dead-letter topic that receives what `topic`'s consumers cannot process."""
    return f"{topic}.dlq"


ALL_TOPICS: tuple[str, ...] = CONSUMED_TOPICS + tuple(dead_letter_topic(t) for t in CONSUMED_TOPICS)

#: Topics carrying raw contact data, closed to departments and integrators by ACL in production: the
#: contact event (followup's callbacks, reporting's contact view) and the notification requests (the gateway).
RESTRICTED_TOPICS: tuple[str, ...] = (COMPLAINT_CONTACT, NOTIFICATION_REQUESTED)
