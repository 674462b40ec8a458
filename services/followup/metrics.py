"""Followup's process metrics: the one place where what followup committed becomes numbers.

`count_committed` is registered with `shared.observability.committed` by the composition root and sees every
event followup's transactions committed, plus two facts that are not events (a timer fired; a message notify
could not deliver), noted by the handlers in the same transaction. Followup *requests* messages: what was sent,
delivered or suppressed by the daily cap is notify's to count (`notify_deliveries_total`). The timer gauges are
read from `followup.timers` when Prometheus scrapes (`timers_sampler`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge

from shared.observability.metrics import Sampler

MESSAGES_PAST_HORIZON = Counter(
    "followup_customer_messages_past_horizon_total",
    "Customer messages not sent because their event was older than FOLLOWUP_CUSTOMER_MESSAGE_HORIZON_HOURS (a new "
    "consumer group reading history, or followup catching up after days down), by template.",
    ["template"],
)
SLA_WARNINGS = Counter(
    "sla_warnings_total",
    "Warnings that a limit is close to running out, by stage and department.",
    ["stage", "department"],
)
SLA_BREACHES = Counter(
    "sla_breaches_total",
    "Limits breached (the first rung of their ladder), by stage and department.",
    ["stage", "department"],
)
ESCALATIONS = Counter(
    "escalations_total",
    "Rungs of the escalation ladder climbed, by rung (who was escalated to) and stage ('satisfaction': "
    "dissatisfied twice).",
    ["rung", "stage"],
)
CALLBACKS = Counter("callbacks_total", "Callback attempts recorded by agents, by outcome.", ["outcome"])
COMPLAINTS_CLOSED = Counter("complaints_closed_total", "Cases closed, by outcome.", ["outcome"])
COMPLAINTS_REOPENED = Counter("complaints_reopened_total", "Cases reopened after a dissatisfied callback.")
NOTIFICATIONS_REQUESTED = Counter(
    "followup_notifications_requested_total",
    "Messages followup asked notify to deliver (requests, not deliveries), by template, recipient kind and urgency.",
    ["template", "recipient", "urgency"],
)
NOTIFICATIONS_UNDELIVERED = Counter(
    "followup_notifications_undelivered_total",
    "Messages notify could not deliver on any channel (notification.failed), by template and recipient kind: a "
    "customer's became an agent's phone task.",
    ["template", "recipient"],
)
TIMERS_FIRED = Counter("followup_timers_fired_total", "Timers fired, by kind.", ["kind"])
TIMERS_PENDING = Gauge(
    "followup_timers_pending", "Timers scheduled and not yet fired or cancelled (overdue ones included).", ["kind"]
)
TIMERS_OVERDUE = Gauge("followup_timers_overdue", "Timers past their due time and not yet fired.", ["kind"])
TIMERS_OLDEST_OVERDUE = Gauge(
    "followup_timers_oldest_overdue_seconds", "How long the longest-overdue timer has been due (0 if none)."
)


@dataclass(frozen=True)
class TimerFired:
    kind: str


@dataclass(frozen=True)
class NotificationUndelivered:
    """A message that reached nobody (`notification.failed`), by template and recipient kind."""

    template_id: str
    recipient_kind: str


def _escalated(event: Any) -> None:
    p = event.payload
    ESCALATIONS.labels(p.escalated_to, p.stage).inc()
    if p.level == 1 and p.stage != "satisfaction":
        SLA_BREACHES.labels(p.stage, p.department.value).inc()


def _closed(event: Any) -> None:
    COMPLAINTS_CLOSED.labels(event.payload.outcome).inc()


def _notification(event: Any) -> None:
    p = event.payload
    NOTIFICATIONS_REQUESTED.labels(p.template_id, p.recipient.kind, p.urgency).inc()


#: event type → what it counts. Adding a counted event is one line here.
_COUNTED: dict[str, Callable[[Any], None]] = {
    "complaint.sla_warning": lambda e: SLA_WARNINGS.labels(e.payload.stage, e.payload.department.value).inc(),
    "complaint.escalated": _escalated,
    "callback.attempted": lambda e: CALLBACKS.labels(e.payload.outcome).inc(),
    "complaint.closed": _closed,
    "complaint.reopened": lambda e: COMPLAINTS_REOPENED.inc(),
    "notification.requested": _notification,
}


def count_committed(items: Sequence[Any]) -> None:
    for item in items:
        if isinstance(item, TimerFired):
            TIMERS_FIRED.labels(item.kind).inc()
        elif isinstance(item, NotificationUndelivered):
            NOTIFICATIONS_UNDELIVERED.labels(item.template_id, item.recipient_kind).inc()
        else:
            count = _COUNTED.get(getattr(item, "event_type", ""))
            if count is not None:
                count(item)


#: (kind, pending, overdue, seconds the oldest overdue one is late)
TimerBacklog = tuple[str, int, int, float]


def timers_sampler(read: Callable[[], Awaitable[list[TimerBacklog]]]) -> Sampler:
    """The timer gauges, from the timers table at scrape time (`repository.timer_backlog`)."""

    async def sample_timers() -> None:
        rows = await read()
        TIMERS_PENDING.clear()
        TIMERS_OVERDUE.clear()
        oldest = 0.0
        for kind, pending, overdue, late in rows:
            TIMERS_PENDING.labels(kind).set(pending)
            TIMERS_OVERDUE.labels(kind).set(overdue)
            oldest = max(oldest, late)
        TIMERS_OLDEST_OVERDUE.set(oldest)

    return sample_timers
