"""An incident's and an outage notice's read-model row, derived from their whole timeline, and an incident's
SLA outcome.

Why derive from the whole timeline, as for cases (`case_state`): an incident's events come from several topics
— its own (`incident.events`), its work order's department topic, and followup's escalations, all keyed by the
incident id — so the live consumer and a rebuild see them interleaved differently. Every incident or outage
event carries the whole current state, so the latest one in (occurred_at, event_id) order gives the facts;
the work order's deadlines and the escalations are folded in from the other topics.

Incident cohort for the KPIs: the local day it was opened, its department, category and district.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.reporting.case_parts import as_datetime
from services.reporting.case_state import TimelineEvent

#: Met: resolved by its deadline; breached: resolved after it; on_track / overdue: still open, before or past
#: it; unknown: no deadline seen yet (its work order's assignment has not arrived).
SlaOutcome = Literal["met", "breached", "on_track", "overdue", "unknown"]


@dataclass
class IncidentState:
    incident_id: str
    reference_no: str
    family: str
    asset_type: str | None
    asset_id: str | None
    district: str
    compound: str | None
    department: str
    category: str
    severity: str
    status: str
    complaint_count: int
    households: int
    eta: datetime | None
    description: str
    work_order_id: str
    work_order_status: str | None = None
    opened_by: str | None = None
    opened_at: datetime | None = None
    opened_day: date | None = None
    resolve_by: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    root_cause: str | None = None
    escalations: int = 0
    escalation_level: int = 0
    sla_warnings: int = 0
    last_event_at: datetime | None = None


@dataclass
class OutageState:
    outage_id: str
    reference_no: str
    kind: str
    family: str
    asset_type: str | None
    asset_id: str | None
    district: str | None
    compound: str | None
    starts_at: datetime
    expected_end: datetime | None
    description: str
    description_en: str | None
    status: str
    complaint_count: int
    source: str
    declared_at: datetime | None = None
    ended_at: datetime | None = None
    last_event_at: datetime | None = None


@dataclass
class _IncidentTimeline:
    """What an incident's timeline says, read in (occurred_at, event_id) order: the latest of its own events (each
    carries the whole incident), its opening and resolution, and what the other topics add — its work orders'
    deadlines and statuses, the escalations and SLA warnings of its clock."""

    facts: dict[str, Any] | None = None
    opened: dict[str, Any] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)
    #: work order -> its resolve deadline
    resolve_by: dict[str, datetime] = field(default_factory=dict)
    wo_status: dict[str, str] = field(default_factory=dict)
    escalations: int = 0
    level: int = 0
    warnings: int = 0
    last: datetime | None = None


def _read_incident_timeline(events: list[TimelineEvent]) -> _IncidentTimeline:
    read = _IncidentTimeline()
    for event in sorted(events, key=lambda e: e.sort_key):
        p, t = event.payload, event.event_type
        read.last = event.occurred_at
        if t.startswith("incident."):
            read.facts = p
            if t == "incident.opened":
                read.opened = p
            elif t == "incident.resolved":
                read.resolved = p
        elif t.startswith("workorder."):
            read.wo_status[p["work_order_id"]] = p["status"]
            if t == "workorder.assigned":
                read.resolve_by[p["work_order_id"]] = as_datetime(p["deadlines"]["resolve_by"])
        elif t == "complaint.escalated":
            read.escalations += 1
            read.level = max(read.level, p["level"])
        elif t == "complaint.sla_warning":
            read.warnings += 1
    return read


def derive_incident(incident_id: str, events: list[TimelineEvent], tz: ZoneInfo) -> IncidentState | None:
    """The incident as its events say; None until one of its own events (incident.*) has arrived, since only
    those carry its facts (its work order's events may arrive first)."""
    read = _read_incident_timeline(events)
    facts, opened, resolved = read.facts, read.opened, read.resolved
    if facts is None:
        return None
    asset = facts.get("asset") or {}
    work_order = facts["work_order_id"]
    opened_at_raw = opened.get("opened_at") or resolved.get("opened_at")
    opened_at = as_datetime(opened_at_raw) if opened_at_raw else None
    deadline = resolved.get("resolve_by")
    return IncidentState(
        incident_id=incident_id,
        reference_no=facts["reference_no"],
        family=facts["family"],
        asset_type=asset.get("type"),
        asset_id=asset.get("id"),
        district=facts["district"],
        compound=facts.get("compound"),
        department=facts["department"],
        category=facts["category"],
        severity=facts["severity"],
        status=facts["status"],
        complaint_count=facts["complaint_count"],
        households=facts["households"],
        eta=as_datetime(facts["eta"]) if facts.get("eta") else None,
        description=facts["description"],
        work_order_id=work_order,
        work_order_status=read.wo_status.get(work_order),
        opened_by=opened.get("opened_by"),
        opened_at=opened_at,
        opened_day=opened_at.astimezone(tz).date() if opened_at else None,
        resolve_by=as_datetime(deadline) if deadline else read.resolve_by.get(work_order),
        resolved_at=as_datetime(resolved["resolved_at"]) if resolved else None,
        resolution=resolved.get("resolution"),
        root_cause=resolved.get("root_cause"),
        escalations=read.escalations,
        escalation_level=read.level,
        sla_warnings=read.warnings,
        last_event_at=read.last,
    )


def derive_outage(outage_id: str, events: list[TimelineEvent]) -> OutageState | None:
    """The outage notice as its latest event says (each carries the whole notice)."""
    facts: dict[str, Any] | None = None
    declared_at = ended_at = last = None
    for event in sorted(events, key=lambda e: e.sort_key):
        p, t = event.payload, event.event_type
        last = event.occurred_at
        if not t.startswith("outage."):
            continue
        facts = p
        if t == "outage.declared":
            declared_at = as_datetime(p["declared_at"])
        elif t == "outage.ended":
            ended_at = as_datetime(p["ended_at"])
    if facts is None:
        return None
    asset = facts.get("asset") or {}
    return OutageState(
        outage_id=outage_id,
        reference_no=facts["reference_no"],
        kind=facts["kind"],
        family=facts["family"],
        asset_type=asset.get("type"),
        asset_id=asset.get("id"),
        district=facts.get("district"),
        compound=facts.get("compound"),
        starts_at=as_datetime(facts["starts_at"]),
        expected_end=as_datetime(facts["expected_end"]) if facts.get("expected_end") else None,
        description=facts["description"],
        description_en=facts.get("description_en"),
        status=facts["status"],
        complaint_count=facts["complaint_count"],
        source=facts["source"],
        declared_at=declared_at,
        ended_at=ended_at,
        last_event_at=last,
    )


def sla_outcome(now: datetime, resolve_by: datetime | None, resolved_at: datetime | None) -> SlaOutcome:
    """An incident against its work order's resolve deadline: settled once resolved, else judged at `now`."""
    if resolve_by is None:
        return "unknown"
    if resolved_at is not None:
        return "met" if resolved_at <= resolve_by else "breached"
    return "overdue" if now > resolve_by else "on_track"
