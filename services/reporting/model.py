"""Reporting's domain types and the pure rules behind its answers: which events it reads and which read model
each feeds (a customer's case, an incident, an outage notice), what a reporting period is, what counts as a
hotspot, how long an order is overdue. No I/O here, so all of it is unit-tested."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import Field

from shared import topics
from shared.contracts import EVENT_TYPES, Event
from shared.errors import Invalid

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
    topics.INCIDENT_EVENTS,
    topics.OUTAGE_EVENTS,
    topics.CORRECTIVE_ACTIONS,
    # Issue 23: a customer's reply on their case (complaint.customer_replied), a step of its timeline.
    topics.COMPLAINT_REPLIES,
    # Issue 25: an erased customer: their contacts purged (no step of any timeline).
    topics.PRIVACY_ERASURES,
)
#: What became of each message (issue 21): read by a consumer group of its own (`consumers.NOTIFICATIONS`), and
#: replayed with the others by `rebuild`.
NOTIFICATION_TOPICS: tuple[str, ...] = (topics.NOTIFICATION_DELIVERY,)
#: Every topic a rebuild replays: the same events the live consumers project.
REBUILT_TOPICS: tuple[str, ...] = (*REPORTED_TOPICS, *NOTIFICATION_TOPICS)
#: Events that report on a message, keyed by the case (or incident) the message was about: they feed the case's
#: messages but never decide what the key names (`subject_of`).
MESSAGE_EVENTS = frozenset({"notification.delivery", "notification.failed"})
_REPORTED = tuple(cls for name, cls in EVENT_TYPES.items() if name != "notification.requested")
#: Any event reporting reads, validated against its own contract (an unknown or invalid one is poison).
ReportedEvent = Annotated[Union[_REPORTED], Field(discriminator="event_type")]  # type: ignore[valid-type]  # noqa: UP007

GroupBy = Literal["department", "category", "channel", "district", "day"]
#: The KPI groupings incidents have figures for (by the day they opened); an incident has no channel.
INCIDENT_GROUPINGS: tuple[GroupBy, ...] = ("department", "category", "district", "day")
#: The longest period a KPI report or export covers: two years, so one request cannot scan everything.
MAX_PERIOD_DAYS = 731
#: A period not given ends today and covers the 30 days up to it (the dashboard's default view).
DEFAULT_PERIOD_DAYS = 30
#: Work-order statuses that keep an order in its department's queue.
OPEN_WORK_ORDER_STATUSES = ("assigned", "acknowledged", "in_progress")
#: Case statuses of a case nobody works on any more (a household lookup lists the others first, as open).
CLOSED_STATUSES = ("resolved", "closed", "invalid")

#: What an event's envelope key (`complaint_id`) names: a customer's case, an incident, or an outage notice; or
#: "message": a delivery report says nothing of what its key is (a staff notice about an incident is keyed by the
#: incident's id), so the key's other events decide (`subject_of_timeline`).
Subject = Literal["case", "incident", "outage", "message"]
#: An incident's reference number, which its work order and SLA events carry in place of a case's.
INCIDENT_REFERENCE_PREFIX = "INC-"


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
    #: When the contact event happened: a later one (a correction) replaces an earlier one.
    at: datetime | None = None


def sort_events(events: Iterable[Event]) -> tuple[list[Contact], list[TimelineEntry]]:
    """Contact events feed only the restricted contacts table: they never enter a timeline, which every
    reader sees; everything else goes to the timeline as published (JSON, contact data already masked)."""
    contacts: list[Contact] = []
    entries: list[TimelineEntry] = []
    for event in events:
        envelope = event.model_dump(mode="json")
        payload = envelope["payload"]
        if envelope["event_type"] == "complaint.contact":
            at = datetime.fromisoformat(envelope["occurred_at"])
            contacts.append(Contact(uuid.UUID(payload["complaint_id"]), payload.get("name"), payload.get("phone"), at))
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


def subject_of(entry: TimelineEntry) -> Subject:
    """Which read model an event feeds. Incident and outage events travel on their own topics; the incident's
    work order and the SLA warnings and escalations of its clock travel on the case topics keyed by the incident
    id, and are told apart by the incident's reference number (`INC-...`) they carry. Decided from the event
    alone, so the answer does not depend on which topic's events arrived first (live or in a rebuild), and
    none of them becomes a phantom customer case."""
    if entry.event_type in MESSAGE_EVENTS:
        return "message"
    if entry.topic == topics.INCIDENT_EVENTS:
        return "incident"
    if entry.topic == topics.OUTAGE_EVENTS:
        return "outage"
    if str(entry.payload.get("reference_no") or "").startswith(INCIDENT_REFERENCE_PREFIX):
        return "incident"
    return "case"


def subject_of_timeline(events: Iterable[tuple[str, dict[str, Any]]]) -> Subject | None:
    """What a key names, from its stored (event type, payload) pairs, for a batch that brought only delivery
    reports: the first event that is not one decides like `subject_of` (incident and outage events by their type);
    None while the key has nothing else (no row is derived until its case, incident or notice is known)."""
    for event_type, payload in events:
        if event_type in MESSAGE_EVENTS:
            continue
        if event_type.startswith("incident."):
            return "incident"
        if event_type.startswith("outage."):
            return "outage"
        if str(payload.get("reference_no") or "").startswith(INCIDENT_REFERENCE_PREFIX):
            return "incident"
        return "case"
    return None


_PHONE_SEPARATORS = re.compile(r"[\s\-()]")


class InvalidLookup(Invalid):
    """A household lookup the reports refuse: `fields` names what to fix, each in the answer's `errors`, and the
    detail names them all before the message ("phone, account_no, address: give ...")."""

    def __init__(self, message: str, *fields: str) -> None:
        super().__init__(f"{', '.join(fields)}: {message}")
        self.message = message
        self.fields = fields

    def problem_members(self) -> dict[str, Any]:
        return {"errors": [{"field": name, "message": self.message} for name in self.fields]}


@dataclass(frozen=True)
class LookupKeys:
    """What an agent looks a caller's household up by: at least one of them."""

    phone: str | None
    account_no: str | None
    address: str | None


def lookup_keys(phone: str | None, account_no: str | None, address: str | None) -> LookupKeys:
    """The keys as the read models hold them: the phone number as intake stores it (digits only, no +86/0086,
    so an agent may type it any usual way), the address trimmed. Raises `InvalidLookup`."""
    if phone is None and account_no is None and address is None:
        raise InvalidLookup("give phone, account_no or address", "phone", "account_no", "address")
    digits = None
    if phone is not None:
        digits = _PHONE_SEPARATORS.sub("", phone)
        for prefix in ("+86", "0086"):
            if digits.startswith(prefix):
                digits = digits[len(prefix) :]
        if not digits.isdigit() or not 5 <= len(digits) <= 15:
            raise InvalidLookup("a phone number: 5-15 digits (spaces, '-', '+86' allowed)", "phone")
    if address is not None:
        address = address.strip()
        if len(address) < 2 or not address.isprintable():
            raise InvalidLookup("at least 2 printable characters", "address")
    return LookupKeys(digits, account_no, address)


class InvalidPeriod(Invalid):
    """A requested period the reports refuse: the answer's detail says why, and its `errors` name the `from`
    field with `field_message`, short enough to stand next to it."""

    def __init__(self, detail: str, field_message: str) -> None:
        super().__init__(detail)
        self.field_message = field_message

    def problem_members(self) -> dict[str, Any]:
        return {"errors": [{"field": "from", "message": self.field_message}]}


@dataclass(frozen=True)
class Period:
    """Local calendar days, both ends included."""

    first: date
    last: date


def reporting_period(today: date, start: date | None, end: date | None) -> Period:
    """The period a report covers: what was asked, or the 30 days up to `end` (today by default)."""
    last = end or today
    try:
        first = start or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    except OverflowError:  # `to` in the first days of year 1: no 30 days before it (the fuzzer found a 500)
        raise InvalidPeriod("to is too early: no period ends there", "too early") from None
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
    #: The first hour of the window with cases (a surge's "since when"); None when not read.
    since: datetime | None = None


@dataclass(frozen=True)
class Hotspot:
    district: str
    category: str
    count: int
    baseline: float
    ratio: float
    surge: bool
    since: datetime | None = None


@dataclass(frozen=True)
class AssetCounts:
    """Cases about one network asset (station, feeder, main, line, building): in the window, and before it."""

    asset_type: str
    asset_id: str
    current: int
    before: int
    since: datetime | None = None


@dataclass(frozen=True)
class AssetHotspot:
    asset_type: str
    asset_id: str
    count: int
    baseline: float
    ratio: float
    surge: bool
    since: datetime | None = None


@dataclass(frozen=True)
class _Surge:
    baseline: float
    ratio: float
    surge: bool


def _against_baseline(current: int, before: int, windows: float, rules: HotspotRules) -> _Surge:
    """A window's count against the average window of the baseline (a baseline below one case counts as one)."""
    baseline = round(before / windows, 2)
    ratio = round(current / max(baseline, 1.0), 2)
    return _Surge(baseline, ratio, current >= rules.min_count and ratio >= rules.surge_ratio)


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
        s = _against_baseline(area.current, area.before, windows, rules)
        found.append(Hotspot(area.district, area.category, area.current, s.baseline, s.ratio, s.surge, area.since))
    return sorted(found, key=lambda h: (-h.surge, -h.ratio, -h.count, h.district, h.category))


def score_asset_hotspots(
    counts: Iterable[AssetCounts], *, window_hours: int, baseline_days: int, rules: HotspotRules
) -> list[AssetHotspot]:
    """The same surge rule per asset: a failing station shows up here before its district's totals move."""
    windows = baseline_days * 24 / window_hours
    found = []
    for asset in counts:
        if not asset.current:
            continue
        s = _against_baseline(asset.current, asset.before, windows, rules)
        found.append(
            AssetHotspot(asset.asset_type, asset.asset_id, asset.current, s.baseline, s.ratio, s.surge, asset.since)
        )
    return sorted(found, key=lambda h: (-h.surge, -h.ratio, -h.count, h.asset_type, h.asset_id))
