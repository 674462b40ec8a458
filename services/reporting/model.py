"""Reporting's domain types and the pure rules behind its answers: which events it reads, what a reporting
period is, what counts as a hotspot, how long an order is overdue. No I/O here, so all of it is unit-tested."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import Field

from shared import topics
from shared.contracts import EVENT_TYPES, Event

#: Every event topic of the platform, except the dead-letter topics and `notification.requested`, which
#: carries customers' numbers for the SMS gateway only.
REPORTED_TOPICS: tuple[str, ...] = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_CONTACT,
    topics.COMPLAINT_ROUTED,
    topics.WORKORDERS_REPAIR,
    topics.WORKORDERS_BILLING,
    topics.WORKORDERS_CUSTOMER_SERVICE,
    topics.COMPLAINT_ESCALATED,
    topics.CALLBACK_EVENTS,
    topics.COMPLAINT_REOPENED,
    topics.COMPLAINT_CLOSED,
)
_REPORTED = tuple(cls for name, cls in EVENT_TYPES.items() if name != "notification.requested")
#: Any event reporting reads, validated against its own contract (an unknown or invalid one is poison).
ReportedEvent = Annotated[Union[_REPORTED], Field(discriminator="event_type")]  # type: ignore[valid-type]  # noqa: UP007

GroupBy = Literal["department", "category", "channel", "district", "day"]
#: The longest period a KPI report or export covers: two years, so one request cannot scan everything.
MAX_PERIOD_DAYS = 731
#: A period not given ends today and covers the 30 days up to it (the dashboard's default view).
DEFAULT_PERIOD_DAYS = 30
#: Work-order statuses that keep an order in its department's queue.
OPEN_WORK_ORDER_STATUSES = ("assigned", "acknowledged", "in_progress")


@dataclass(frozen=True)
class TimelineEntry:
    """One event as the timeline stores it: the envelope's facts and the payload as published (JSON)."""

    event_id: uuid.UUID
    complaint_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Contact:
    """A customer's real name and phone (from the restricted `complaint.contact` topic)."""

    complaint_id: uuid.UUID
    name: str | None
    phone: str | None


def sort_events(events: Iterable[Event]) -> tuple[list[Contact], list[TimelineEntry]]:
    """Contact events feed only the restricted contacts table: they never enter a timeline, which every
    reader sees; everything else goes to the timeline as published (JSON, contact data already masked)."""
    contacts: list[Contact] = []
    entries: list[TimelineEntry] = []
    for event in events:
        envelope = event.model_dump(mode="json")
        payload = envelope["payload"]
        if envelope["event_type"] == "complaint.contact":
            contacts.append(Contact(uuid.UUID(payload["complaint_id"]), payload.get("name"), payload.get("phone")))
            continue
        entries.append(
            TimelineEntry(
                event_id=uuid.UUID(envelope["event_id"]),
                complaint_id=uuid.UUID(envelope["complaint_id"]),
                event_type=envelope["event_type"],
                occurred_at=datetime.fromisoformat(envelope["occurred_at"]),
                topic=event.topic,
                payload=payload,
            )
        )
    return contacts, entries


class InvalidPeriod(ValueError):
    """A requested period the reports refuse; `reason` is short enough to name next to the field."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason


@dataclass(frozen=True)
class Period:
    """Local calendar days, both ends included."""

    first: date
    last: date


def reporting_period(today: date, start: date | None, end: date | None) -> Period:
    """The period a report covers: what was asked, or the 30 days up to `end` (today by default)."""
    last = end or today
    first = start or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first > last:
        raise InvalidPeriod("from is after to", "after to")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise InvalidPeriod(f"a period spans at most {MAX_PERIOD_DAYS} days", "period too long")
    return Period(first, last)


def overdue_minutes(now: datetime, resolve_by: datetime) -> int:
    """Whole minutes past the resolve deadline."""
    return int((now - resolve_by).total_seconds() // 60)


@dataclass(frozen=True)
class HotspotRules:
    """A surge is `surge_ratio` times its baseline and at least `min_count` cases (not a handful)."""

    surge_ratio: float = 3.0
    min_count: int = 5


@dataclass(frozen=True)
class AreaCounts:
    """Cases of one district x category: in the window, and in the baseline days before it."""

    district: str
    category: str
    current: int
    before: int


@dataclass(frozen=True)
class Hotspot:
    district: str
    category: str
    count: int
    baseline: float
    ratio: float
    surge: bool


def score_hotspots(
    counts: Iterable[AreaCounts], *, window_hours: int, baseline_days: int, rules: HotspotRules
) -> list[Hotspot]:
    """Each area with cases in the window against its average window over the baseline days; surges
    first, then the steepest rise, the most cases, and the area's name (so the order is stable)."""
    windows = baseline_days * 24 / window_hours
    found = []
    for area in counts:
        if not area.current:
            continue
        baseline = round(area.before / windows, 2)
        ratio = round(area.current / max(baseline, 1.0), 2)
        surge = area.current >= rules.min_count and ratio >= rules.surge_ratio
        found.append(Hotspot(area.district, area.category, area.current, baseline, ratio, surge))
    return sorted(found, key=lambda h: (-h.surge, -h.ratio, -h.count, h.district, h.category))
