"""Dispatch's process metrics: the one place where what dispatch committed becomes numbers.

`count_committed` is registered with `shared.observability.committed` by the composition root and sees every
event (and noted fact) dispatch's transactions committed; the table `_COUNTED` says which event type moves
which counter. Incidents open is a gauge read at scrape time (`incidents_open_sampler`, registered by the
composition root).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from shared.observability.metrics import Sampler

COMPLAINTS_ROUTED = Counter(
    "complaints_routed_total",
    "Work orders opened for complaints, by department, category and why (new, returned, reclassified, reopened).",
    ["department", "category", "reason"],
)
COMPLAINTS_LINKED_DUPLICATE = Counter(
    "complaints_linked_duplicate_total",
    "Complaints linked to an open case of the same account and category instead of a new work order.",
    ["category"],
)
COMPLAINTS_LINKED_TO_INCIDENT = Counter(
    "complaints_linked_to_incident_total", "Complaints linked to an incident (one fault, many callers)."
)
COMPLAINTS_SENT_TO_TRIAGE = Counter(
    "complaints_sent_to_triage_total", "Complaints sent to the human triage queue (classification not confident)."
)
INCIDENTS_OPEN = Gauge("incidents_open", "Incidents not yet resolved.")


def _routed(event: Any) -> None:
    p = event.payload
    COMPLAINTS_ROUTED.labels(p.department.value, p.category.value, p.reason).inc()


def _linked(event: Any) -> None:
    COMPLAINTS_LINKED_DUPLICATE.labels(event.payload.category.value).inc()


def _linked_to_incident(event: Any) -> None:
    COMPLAINTS_LINKED_TO_INCIDENT.inc()


def _sent_to_triage(event: Any) -> None:
    COMPLAINTS_SENT_TO_TRIAGE.inc()


#: event type → what it counts. Adding a counted event is one line here.
_COUNTED: dict[str, Callable[[Any], None]] = {
    "complaint.routed": _routed,
    "complaint.linked": _linked,
    "incident.complaint_linked": _linked_to_incident,
    "complaint.awaiting_triage": _sent_to_triage,
}


def count_committed(items: Sequence[Any]) -> None:
    for item in items:
        count = _COUNTED.get(getattr(item, "event_type", ""))
        if count is not None:
            count(item)


def incidents_open_sampler(count_open: Callable[[asyncpg.Pool], Awaitable[int]], pool: asyncpg.Pool) -> Sampler:
    """The `incidents_open` gauge, read at scrape time. Every replica reports the same count: dashboards take
    `max(incidents_open)`."""

    async def sample_incidents_open() -> None:
        INCIDENTS_OPEN.set(await count_open(pool))

    return sample_incidents_open
