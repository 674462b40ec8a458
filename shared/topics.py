"""Every Kafka topic of the platform, in one place, so services, the embedded runner and docs agree."""

from __future__ import annotations

#: Partitions per topic: the ceiling on how many replicas of one consumer group share the work.
DEFAULT_PARTITIONS = 12

#: Settings every topic gets, wherever it is created: the embedded runner, docker compose's `kafka-init`
#: job and the Kubernetes `create-topics` job all run `shared.kafka.admin.apply_topics` with these.
#: Events are kept for good: reporting rebuilds its read models by reading the topics from offset 0,
#: and a dead letter must stay until an operator replays it. Broker defaults (7 days) would silently
#: make a rebuild after a week incomplete.
TOPIC_CONFIG: dict[str, str] = {
    "retention.ms": "-1",
    "cleanup.policy": "delete",
    "unclean.leader.election.enable": "false",
}
#: One week for the notification requests: commands to the SMS gateway, carrying phone numbers, useless
#: once sent; nothing rebuilds from them.
NOTIFICATION_RETENTION_MS = 7 * 24 * 3600 * 1000

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
#: What became of each message (queued, sent, delivered, failed, suppressed): no personal data, public.
NOTIFICATION_DELIVERY = "notification.delivery"
#: A message that could not be delivered on any channel: an agent phones the customer. No personal data.
NOTIFICATION_FAILED = "notification.failed"
#: Ingress: tickets forwarded by partner hotlines (12345, 95598).
PARTNER_TICKETS = "ingress.partner-tickets"
#: Ingress: what the channels service took from an external protocol (WeChat, email, SMS replies, Open311): a new
#: complaint or a customer's reply on a case, for intake. Restricted: raw contact data (ACL in production).
CHANNEL_MESSAGES = "ingress.channel-messages"
#: A customer's reply on a case (a note, a survey score, "still not fixed"), published by intake. Public: masked.
COMPLAINT_REPLIES = "complaint.replies"
#: Ingress: updates from department systems (acknowledge, resolve, ...).
DEPARTMENT_UPDATES = "ingress.department-updates"
#: A customer was erased (PIPL request or retention): every holder of their data purges it. No personal data.
PRIVACY_ERASURES = "privacy.erasures"
#: Incidents (one fault, many callers), keyed by incident id.
INCIDENT_EVENTS = "incident.events"
#: Outage notices, keyed by outage id.
OUTAGE_EVENTS = "outage.events"
#: Ingress: outage notices, ETA updates and restorations from the utility's outage/SCADA systems.
OUTAGE_NOTICES = "ingress.outage-notices"
#: Corrective actions of serious cases (set, completed), keyed by complaint id.
CORRECTIVE_ACTIONS = "corrective-actions"

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
    NOTIFICATION_DELIVERY,
    NOTIFICATION_FAILED,
    PARTNER_TICKETS,
    CHANNEL_MESSAGES,
    COMPLAINT_REPLIES,
    DEPARTMENT_UPDATES,
    INCIDENT_EVENTS,
    OUTAGE_EVENTS,
    OUTAGE_NOTICES,
    CORRECTIVE_ACTIONS,
    PRIVACY_ERASURES,
)


def dead_letter_topic(topic: str) -> str:
    """Name of the dead-letter topic that receives what `topic`'s consumers cannot process."""
    return f"{topic}.dlq"


ALL_TOPICS: tuple[str, ...] = CONSUMED_TOPICS + tuple(dead_letter_topic(t) for t in CONSUMED_TOPICS)

#: Topics carrying raw contact data, closed to departments and integrators by ACL in production: the
#: contact event (followup's callbacks, reporting's contact view, channels' case read model), the notification
#: requests (the gateway), and what the channels service hands intake (the sender as the channel knows them).
RESTRICTED_TOPICS: tuple[str, ...] = (COMPLAINT_CONTACT, NOTIFICATION_REQUESTED, CHANNEL_MESSAGES)


#: How long the ingress topics (and every dead letter of a topic carrying contact data in clear) keep a message:
#: 30 days. Intake takes an ingress message within seconds, and no rebuild reads them (reporting rebuilds from the
#: complaint and work-order topics, where contact data is sealed); an operator has a month to replay a dead letter.
#: Crypto-shredding cannot reach the clear copies there: a finite retention erases them in the end, and an erasure
#: takes the person's records out of the ingress topics at once (`services/intake/ingress_scrub.py`).
PERSONAL_DATA_RETENTION_MS = 30 * 24 * 3600 * 1000

#: Topics carrying contact data in clear, which nothing rebuilds from: kept for a finite time only.
CLEAR_PERSONAL_DATA_TOPICS: tuple[str, ...] = (PARTNER_TICKETS, CHANNEL_MESSAGES, NOTIFICATION_REQUESTED)


def _finite_retention() -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for topic in CLEAR_PERSONAL_DATA_TOPICS:
        overrides[topic] = {"retention.ms": str(PERSONAL_DATA_RETENTION_MS)}
        overrides[dead_letter_topic(topic)] = {"retention.ms": str(PERSONAL_DATA_RETENTION_MS)}
    overrides[NOTIFICATION_REQUESTED] = {"retention.ms": str(NOTIFICATION_RETENTION_MS)}
    return overrides


#: Per-topic settings that differ from TOPIC_CONFIG.
TOPIC_CONFIG_OVERRIDES: dict[str, dict[str, str]] = _finite_retention()


def topic_config(name: str, replication_factor: int) -> dict[str, str]:
    """The Kafka settings of one topic for a cluster of `replication_factor` copies.

    `min.insync.replicas` is one less than the copies (at most 2), so an `acks=all` publish survives
    losing one broker and never waits for all three; with one copy (a single node) it is 1.
    """
    config = {**TOPIC_CONFIG, **TOPIC_CONFIG_OVERRIDES.get(name, {})}
    config["min.insync.replicas"] = str(max(1, min(2, replication_factor - 1)))
    return config
