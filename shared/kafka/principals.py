"""Who may do what on the platform's Kafka: one principal per service and per outside system, as one table.

Why a table: the broker's authorizer (StandardAuthorizer, deny by default) lets a principal touch only what an
ACL allows, so this table is the whole of "restricted topics" — `complaint.contact`, the notification requests,
what the channels hand intake, the partner ingress, and every dead letter of those. `shared.kafka.admin.apply_topics`
applies it with the topics, wherever they are created (embedded runner, compose's `kafka-init`, k8s' job).

Each service reads exactly the topics of its `consumers.py` SUBSCRIPTIONS (a unit test holds them equal), writes
what it publishes and the dead letters of what it reads, and owns the consumer groups named after it. Tools run
by an operator (topic tool, dead-letter replay, rebuilds outside a service, bench) use the `admin` super user.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import topics

#: The super user (`super.users`): the topic tool, the broker itself and an operator's tools.
ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """One SCRAM user and its grants: topics it reads, topics it writes, and the consumer-group prefix it owns."""

    name: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    #: Consumer groups `<group_prefix>…` it may join and commit in; None: it reads without a group, or not at all.
    group_prefix: str | None = None
    #: Topics it may take records out of (DeleteRecords), and read to find them: where contact data lies in clear
    #: and an erasure must reach (`shared.kafka.scrub`).
    scrubs: tuple[str, ...] = ()

    @property
    def dead_letters(self) -> tuple[str, ...]:
        """Where its consumers put what they cannot process: the `.dlq` of each topic it reads."""
        return tuple(topics.dead_letter_topic(t) for t in self.reads)


def _service(name: str, reads: tuple[str, ...], publishes: tuple[str, ...], scrubs: tuple[str, ...] = ()) -> Principal:
    reads = tuple(dict.fromkeys(reads))
    dead_letters = tuple(topics.dead_letter_topic(t) for t in reads)
    writes = tuple(dict.fromkeys(publishes + dead_letters))
    return Principal(name, reads=reads, writes=writes, group_prefix=name, scrubs=scrubs)


#: What intake scrubs on an erasure (`services/intake/ingress_scrub.py`): the ingress it consumes, and its dead
#: letters, which carry what the sender wrote in clear.
_INGRESS_IN_CLEAR = (topics.PARTNER_TICKETS, topics.CHANNEL_MESSAGES)


WORK_ORDERS = (topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE)

#: Topics of the platform that carry no raw contact data, are not an outside system's inbox and not the
#: platform's own erasure orders: what other departments may read.
PUBLIC_TOPICS: tuple[str, ...] = tuple(
    t
    for t in topics.CONSUMED_TOPICS
    if t not in topics.RESTRICTED_TOPICS and not t.startswith("ingress.") and t != topics.PRIVACY_ERASURES
)

SERVICES: tuple[Principal, ...] = (
    _service(
        "intake",
        reads=(topics.PARTNER_TICKETS, topics.CHANNEL_MESSAGES, topics.COMPLAINT_CLOSED),
        publishes=(
            topics.COMPLAINT_RECEIVED,
            topics.COMPLAINT_CONTACT,
            topics.COMPLAINT_REPLIES,
            topics.PRIVACY_ERASURES,
        ),
        scrubs=(*_INGRESS_IN_CLEAR, *(topics.dead_letter_topic(t) for t in _INGRESS_IN_CLEAR)),
    ),
    _service(
        "dispatch",
        reads=(
            topics.COMPLAINT_RECEIVED,
            topics.COMPLAINT_REOPENED,
            topics.DEPARTMENT_UPDATES,
            topics.OUTAGE_NOTICES,
            topics.COMPLAINT_CONTACT,
            topics.PRIVACY_ERASURES,
        ),
        publishes=(
            topics.COMPLAINT_ROUTED,
            *WORK_ORDERS,
            topics.INCIDENT_EVENTS,
            topics.OUTAGE_EVENTS,
            topics.CORRECTIVE_ACTIONS,
        ),
    ),
    _service(
        "followup",
        reads=(
            *WORK_ORDERS,
            topics.COMPLAINT_CONTACT,
            topics.COMPLAINT_RECEIVED,
            topics.COMPLAINT_ROUTED,
            topics.INCIDENT_EVENTS,
            topics.CORRECTIVE_ACTIONS,
            topics.NOTIFICATION_FAILED,
            topics.COMPLAINT_REPLIES,
            topics.PRIVACY_ERASURES,
        ),
        publishes=(
            topics.COMPLAINT_ESCALATED,
            topics.CALLBACK_EVENTS,
            topics.COMPLAINT_REOPENED,
            topics.COMPLAINT_CLOSED,
            topics.NOTIFICATION_REQUESTED,
        ),
    ),
    _service(
        "reporting",
        reads=(
            topics.COMPLAINT_RECEIVED,
            topics.COMPLAINT_CONTACT,
            topics.COMPLAINT_ROUTED,
            *WORK_ORDERS,
            topics.COMPLAINT_ESCALATED,
            topics.CALLBACK_EVENTS,
            topics.COMPLAINT_REOPENED,
            topics.COMPLAINT_CLOSED,
            topics.INCIDENT_EVENTS,
            topics.OUTAGE_EVENTS,
            topics.CORRECTIVE_ACTIONS,
            topics.COMPLAINT_REPLIES,
            topics.NOTIFICATION_DELIVERY,
            topics.PRIVACY_ERASURES,
        ),
        publishes=(),
    ),
    _service(
        "notify",
        reads=(topics.NOTIFICATION_REQUESTED, topics.PRIVACY_ERASURES),
        publishes=(topics.NOTIFICATION_DELIVERY, topics.NOTIFICATION_FAILED),
    ),
    _service(
        "channels",
        reads=(
            topics.COMPLAINT_RECEIVED,
            topics.COMPLAINT_CONTACT,
            topics.COMPLAINT_ROUTED,
            *WORK_ORDERS,
            topics.COMPLAINT_REOPENED,
            topics.COMPLAINT_CLOSED,
            topics.NOTIFICATION_DELIVERY,
            topics.CALLBACK_EVENTS,
            topics.PRIVACY_ERASURES,
        ),
        publishes=(topics.CHANNEL_MESSAGES,),
    ),
    # The console's live pages (issue 24): public topics only, each replica reading every partition without a
    # group (`services/console/live.py`); it publishes nothing (the dead letters granted are never written).
    _service(
        "console",
        reads=(
            topics.COMPLAINT_RECEIVED,
            topics.COMPLAINT_ROUTED,
            topics.COMPLAINT_ESCALATED,
            topics.COMPLAINT_REOPENED,
            topics.COMPLAINT_CLOSED,
            topics.COMPLAINT_REPLIES,
            *WORK_ORDERS,
            topics.CALLBACK_EVENTS,
            topics.INCIDENT_EVENTS,
            topics.OUTAGE_EVENTS,
            topics.CORRECTIVE_ACTIONS,
            topics.NOTIFICATION_DELIVERY,  # a staff notice reaching an inbox (ids and status only)
        ),
        publishes=(),
    ),
)

#: Outside systems: they write only their own inbox; departments also read the public topics.
OUTSIDE_SYSTEMS: tuple[Principal, ...] = (
    Principal("department", reads=PUBLIC_TOPICS, writes=(topics.DEPARTMENT_UPDATES,), group_prefix="department"),
    Principal("outage-system", writes=(topics.OUTAGE_NOTICES,)),
    Principal("partner-12345", writes=(topics.PARTNER_TICKETS,)),
    Principal("partner-95598", writes=(topics.PARTNER_TICKETS,)),
)

PRINCIPALS: tuple[Principal, ...] = SERVICES + OUTSIDE_SYSTEMS

#: Every SCRAM user the broker is given: the super user and each principal.
USERS: tuple[str, ...] = (ADMIN, *(p.name for p in PRINCIPALS))


def principal(name: str) -> Principal:
    """The principal called `name`; KeyError naming the known ones."""
    for candidate in PRINCIPALS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no Kafka principal {name!r}; known: {[p.name for p in PRINCIPALS]}")


def readers_of(topic: str) -> tuple[str, ...]:
    """The principals that may read `topic` (for the operator's question "who sees complaint.contact?")."""
    return tuple(p.name for p in PRINCIPALS if topic in p.reads)
