"""A case's state and its contribution to the KPIs, derived from its whole timeline.

Why derive instead of patching a row per event: events of one case arrive on several topics, so their
interleaving differs between the live consumers and a rebuild from offset 0. Re-deriving from the
timeline sorted by (occurred_at, event_id) makes the result depend only on *which* events exist, so a
rebuild reproduces the read models exactly and a redelivered event changes nothing.

KPI cohort: a case counts in the day it was received (utility's local time), under the department and
category of its first routing (or of the incident, outage notice or case it joined); later events
(resolution, callback, reopening) update that same row. Until then — waiting in a supervisor's triage queue, or
not routed yet — it counts as received all the same, under `UNROUTED_DEPARTMENT` / `UNROUTED_CATEGORY` (issue 24:
60 posted with 8 in triage must read `received` 60, not 52); its first routing moves it to its real cohort.

One fault, many callers: a caller whose complaint joined an incident or an outage notice (`complaint.joined`),
or duplicated an open case (`complaint.linked`), has no clock of their own. Their case is resolved when the
fault is fixed (`complaint.fault_fixed`): that is their resolution time in every case list, and they count in
`fixed_with_group`, not in `resolved`, so the incident's clock never makes hundreds of callers "late" or
"in time" (the incident counts once, in the incident figures). Their callback counts like anyone's.

The handling rules: the case's owner is who took it (`complaint.received` agent_id), else the owner its work order
names (`workorder.assigned`, or v2 `workorder.acknowledged`: the first department to sign for a case nobody took
owns it); an invalid complaint (`complaint.invalid`) counts in `invalid` and nowhere else (a supervisor's overturn
routes it and it counts like any other); one settled at first contact (`complaint.resolved_on_contact`) counts in
`resolved_on_contact`, has no clock and is called back. A coordinated case is resolved only when the work order
whose resolution says `case_resolved` is. `due_at` is the resolve deadline timeliness holds the case to (see
`timeliness`). Work orders, callbacks, corrective actions, messages and escalations: `case_parts`.

Messages (issue 21, `notification.delivery`): a case with at least one customer message whose latest status is
not `suppressed` (by the daily cap: never due to go) counts in `messaged`; one with at least one customer message
`delivered` in `reached_by_message` — the KPI "customers actually reached by message". A message still queued or
sent counts as not reached yet.

Persons: `owner_name` is the owner's display name as any event of the case gives it (a signed-in agent's
`complaint.received` v3, a person's work-order step or callback; `actors`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.reporting.actors import named_in, person_name
from services.reporting.case_parts import (
    CallbackPart,
    CaseParts,
    CorrectiveActionPart,
    MessagePart,
    WorkOrderPart,
    as_datetime,
)
from shared.addresses import address_key

#: The department a caller of an outage notice counts under: the contract names none (no crew is sent for the
#: call), and supply outages are the repair department's (DESIGN.md, category `outage`).
OUTAGE_NOTICE_DEPARTMENT = "repair"
#: The department an invalid complaint counts under: customer service explains it to the customer (no department
#: handles it; the contract names none).
INVALID_DEPARTMENT = "customer_service"
#: The cohort of a received case nobody has routed yet (in triage, or before dispatch's decision reached reporting):
#: counted in `received` from the moment `complaint.received` arrives, whatever triage does later.
UNROUTED_DEPARTMENT = "unrouted"
UNROUTED_CATEGORY = "unclassified"
#: Upper bounds (hours) of the handling-time histogram buckets; the median and 90th percentile come from
#: summing these per group, so a dashboard query never scans cases.
HANDLING_BUCKETS_H: tuple[float, ...] = tuple(
    round(x, 3)
    for x in [
        0.25,
        0.5,
        0.75,
        1,
        1.5,
        2,
        3,
        4,
        5,
        6,
        8,
        10,
        12,
        16,
        20,
        24,
        30,
        36,
        48,
        60,
        72,
        96,
        120,
        144,
        168,
        216,
        264,
        336,
        504,
        720,
        math.inf,
    ]
)
COUNTERS = (
    "received",
    "routed",
    "acknowledged",
    "acknowledged_in_time",
    "resolved",
    "resolved_in_time",
    "callbacks_done",
    "satisfied",
    "dissatisfied",
    "reopened",
    "closed",
    "fixed_with_group",
    "invalid",
    "resolved_on_contact",
    "messaged",
    "reached_by_message",
    "on_site",
    "on_site_in_time",
)
OPEN_STATUSES = ("assigned", "acknowledged", "in_progress")


def handling_bucket(hours: float) -> int:
    return bisect.bisect_left(HANDLING_BUCKETS_H, hours)


@dataclass(frozen=True)
class TimelineEvent:
    event_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.event_id)


@dataclass
class CaseState:
    complaint_id: str
    reference_no: str | None = None
    account_no: str | None = None
    #: The customer (household) intake matched (complaint.received v4), and the address's key (shared/addresses.py,
    #: without the district): what the household archive and lookup find a case by besides the account.
    customer_id: str | None = None
    address_key: str | None = None
    channel: str | None = None
    district: str | None = None
    address: str | None = None
    text: str | None = None
    name_masked: str | None = None
    phone_masked: str | None = None
    accepted_at: datetime | None = None
    category: str | None = None
    department: str | None = None
    severity: str | None = None
    priority: int | None = None
    status: str = "received"
    cycle: int = 0
    work_order_id: str | None = None
    work_order_status: str | None = None
    acknowledge_by: datetime | None = None
    resolve_by: datetime | None = None
    linked_to: str | None = None
    incident_id: str | None = None
    outage_id: str | None = None
    eta: datetime | None = None
    asset_type: str | None = None
    asset_id: str | None = None
    reopen_count: int = 0
    escalation_level: int = 0
    first_resolved_at: datetime | None = None
    closed_at: datetime | None = None
    close_outcome: str | None = None
    last_event_at: datetime | None = None
    # KPI cohort, fixed by the first routing
    kpi_department: str | None = None
    kpi_category: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    handling_hours: float | None = None
    # the handling rules
    owner: str | None = None
    customer_agitated: bool = False
    handled_on_contact: str | None = None
    resolved_on_contact: bool = False
    invalid: bool = False
    invalid_reason: str | None = None
    invalid_at: datetime | None = None
    due_at: datetime | None = None
    resolved_in_time: bool | None = None
    root_cause: str | None = None
    root_cause_zh: str | None = None
    root_cause_en: str | None = None
    root_cause_note: str | None = None
    cause_analysis: dict[str, Any] | None = None
    escalations: list[dict[str, Any]] = field(default_factory=list)
    work_orders: list[WorkOrderPart] = field(default_factory=list)
    callbacks: list[CallbackPart] = field(default_factory=list)
    corrective_actions: list[CorrectiveActionPart] = field(default_factory=list)
    messages: list[MessagePart] = field(default_factory=list)
    # persons (issue 20)
    owner_name: str | None = None
    received_at: datetime | None = None


@dataclass
class _Walk:
    """What the walk through a case's timeline remembers besides the case's own fields: each work order's
    deadlines, the first one (its KPI cohort's), the deadline the first resolution is held to, who is named
    what, and the facts the KPI counters are made of."""

    state: CaseState
    parts: CaseParts
    #: work order -> its deadlines
    deadlines: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_wo: str | None = None
    #: the resolve deadline of the first resolution
    held_to: datetime | None = None
    ever_routed: bool = False
    acked: bool = False
    resolved: bool = False
    by_group: bool = False
    reopened: bool = False
    closed: bool = False
    called: bool = False
    satisfied: int = 0
    dissatisfied: int = 0
    #: the crew's first arrival on a work order with an on-site deadline (the repair timeliness, 维修及时率)
    on_site: bool = False
    #: staff id -> display name, as the events give persons' names (`actors`)
    names: dict[str, str] = field(default_factory=dict)


def derive(complaint_id: str, events: list[TimelineEvent]) -> CaseState:
    """The case as its whole timeline says, in (occurred_at, event_id) order: each event's step (`_STEPS`), then
    its parts in their own order, the deadline it is held to, and its KPI counters."""
    walk = _Walk(CaseState(complaint_id=complaint_id), CaseParts(complaint_id))
    for event in sorted(events, key=lambda e: e.sort_key):
        _take(walk, event)
    state = walk.state
    _settle_parts(walk)
    # Settled at first contact only while no work order was needed after all (a reopening routes it).
    on_contact = state.resolved_on_contact = state.resolved_on_contact and not walk.ever_routed
    _judge_due(walk, on_contact)
    _count(walk, on_contact)
    return state


def _take(walk: _Walk, event: TimelineEvent) -> None:
    """One event: what every event tells (its parts, who is named what, the reference number), then its own step."""
    state, p, t = walk.state, event.payload, event.event_type
    state.last_event_at = event.occurred_at
    walk.parts.apply(t, p, event.occurred_at)
    actor, name = named_in(t, p)
    shown = person_name(actor, name)
    if actor and shown:
        walk.names[actor] = shown
    if state.reference_no is None and p.get("reference_no"):
        state.reference_no = p["reference_no"]
    step = _STEPS.get(t) or (_work_order if t.startswith("workorder.") else None)
    if step is not None:
        step(walk, event)


def _received(walk: _Walk, event: TimelineEvent) -> None:
    state, p = walk.state, event.payload
    customer, location = p["customer"], p["location"]
    state.account_no = customer.get("account_no")
    state.name_masked, state.phone_masked = customer.get("name_masked"), customer.get("phone_masked")
    # v5 seals the address: reporting opened it on arrival (`handlers/timelines.py`); an erased customer's has none.
    state.channel, state.district, state.address = p["channel"], location["district"], location.get("address")
    state.customer_id = p.get("customer_id")
    state.address_key = address_key(state.address or "") or None
    state.text = p["text"]
    state.accepted_at = as_datetime(p["accepted_at"])
    state.received_at = as_datetime(p["received_at"]) if p.get("received_at") else None
    state.owner = p.get("agent_id") or state.owner
    state.handled_on_contact = p.get("handled_on_contact") or state.handled_on_contact
    state.customer_agitated = bool(p.get("customer_agitated"))
    if location.get("asset") and state.asset_type is None:
        state.asset_type, state.asset_id = location["asset"]["type"], location["asset"]["id"]


def _routed(walk: _Walk, event: TimelineEvent) -> None:
    state, p = walk.state, event.payload
    state.category, state.department, state.severity = p["category"], p["department"], p["severity"]
    state.priority, state.cycle = p["priority"], p["cycle"]
    state.work_order_id, state.work_order_status, state.status = p["work_order_id"], "assigned", "assigned"
    state.invalid, walk.ever_routed = False, True  # (a supervisor overturned an invalid one)
    d = p["deadlines"]
    walk.deadlines[p["work_order_id"]] = d
    state.acknowledge_by, state.resolve_by = as_datetime(d["acknowledge_by"]), as_datetime(d["resolve_by"])
    if state.kpi_department is None:
        state.kpi_department, state.kpi_category = p["department"], p["category"]
        walk.first_wo = p["work_order_id"]


def _invalid(walk: _Walk, event: TimelineEvent) -> None:
    state, p = walk.state, event.payload
    state.invalid, state.status = True, "invalid"
    state.invalid_reason, state.invalid_at = p["reason"], as_datetime(p["invalid_at"])
    state.category, state.owner = p["category"], state.owner or p.get("owner")


def _resolved_on_contact(walk: _Walk, event: TimelineEvent) -> None:
    state, p = walk.state, event.payload
    state.category, state.department, state.severity = p["category"], p["department"], p["severity"]
    state.owner = state.owner or p["owner"]
    state.handled_on_contact, state.resolved_on_contact = p["handled_on_contact"], True
    state.work_order_id, state.status = None, "resolved"
    if state.first_resolved_at is None:
        state.first_resolved_at = as_datetime(p["resolved_at"])
    if state.kpi_department is None:
        state.kpi_department, state.kpi_category = p["department"], p["category"]


def _awaiting_triage(walk: _Walk, event: TimelineEvent) -> None:
    # No department yet: a supervisor decides (the routing that follows sets it, and the KPI keys).
    walk.state.severity, walk.state.status = event.payload["severity"], "awaiting_triage"


def _linked(walk: _Walk, event: TimelineEvent) -> None:
    state, p = walk.state, event.payload
    state.linked_to, state.status = p["linked_to_complaint_id"], "linked"
    state.category, state.department = p["category"], p["department"]
    if state.kpi_department is None:
        state.kpi_department, state.kpi_category = p["department"], p["category"]


def _joined(walk: _Walk, event: TimelineEvent) -> None:
    """No clock of its own from here on: the incident's (or nobody's, for an outage notice) applies."""
    state, p = walk.state, event.payload
    state.incident_id, state.outage_id = p.get("incident_id"), p.get("outage_id")
    state.category, state.severity, state.department = p["category"], p["severity"], p.get("department")
    state.work_order_id, state.work_order_status = p.get("work_order_id"), None
    state.acknowledge_by = state.resolve_by = None
    state.eta = as_datetime(p["eta"]) if p.get("eta") else state.eta
    if p.get("asset"):  # the diagnosed asset outranks the one the caller named
        state.asset_type, state.asset_id = p["asset"]["type"], p["asset"]["id"]
    if not walk.resolved:
        state.status = "joined"
    if state.kpi_department is None:
        state.kpi_department = p.get("department") or OUTAGE_NOTICE_DEPARTMENT
        state.kpi_category = p["category"]


def _eta_changed(walk: _Walk, event: TimelineEvent) -> None:
    walk.state.eta = as_datetime(event.payload["eta"])


def _fault_fixed(walk: _Walk, event: TimelineEvent) -> None:
    state, p = walk.state, event.payload
    state.status = "resolved"
    if not walk.resolved:
        walk.resolved = walk.by_group = True
        state.first_resolved_at = as_datetime(p["fixed_at"])
    if state.kpi_department is None:
        state.kpi_department, state.kpi_category = p["department"], p["category"]


def _work_order(walk: _Walk, event: TimelineEvent) -> None:
    """A step of one of the case's work orders: its owner and deadlines, the case's status, the root cause, and
    whether the first acknowledgement and the first resolution were in time."""
    state, p, t = walk.state, event.payload, event.event_type
    wo = p["work_order_id"]
    # v1 resolutions and every ordinary case's resolve the case; a coordinated case's part may not.
    resolves_case = bool(t == "workorder.resolved" and p.get("case_resolved", True))
    if t in ("workorder.assigned", "workorder.acknowledged"):
        # v2: nobody took it (web, app, partner): the first department to sign for it owns it.
        state.owner = state.owner or p.get("owner")
    if t == "workorder.assigned":
        walk.deadlines.setdefault(wo, p["deadlines"])
    _case_status(state, t, p, resolves_case)
    if t == "workorder.resolved":
        _root_cause(walk, p)
    if t == "workorder.acknowledged" and wo == walk.first_wo and not walk.acked:
        walk.acked = True
        ack_by = as_datetime(walk.deadlines[wo]["acknowledge_by"])
        state.counters["acknowledged_in_time"] = int(event.occurred_at <= ack_by)
    if t == "workorder.started" and not walk.on_site and (walk.deadlines.get(wo) or {}).get("on_site_by"):
        # The first arrival on site of a work order held to an on-site limit: in time or not (维修及时率).
        walk.on_site = True
        state.counters["on_site_in_time"] = int(event.occurred_at <= as_datetime(walk.deadlines[wo]["on_site_by"]))
    if resolves_case and not walk.resolved and wo in walk.deadlines:
        _first_resolution(walk, p)


def _case_status(state: CaseState, t: str, p: dict[str, Any], resolves_case: bool) -> None:
    """The case's status as its work orders move: the current one's status, or resolved by the last part open."""
    if p["work_order_id"] == state.work_order_id:
        state.work_order_status = p["status"]
        if t in ("workorder.acknowledged", "workorder.started") or resolves_case:
            state.status = p["status"]
        elif t == "workorder.resolved":
            state.status = "in_progress"  # its lead part is done, an assisting one is not
    elif resolves_case and state.status not in ("reopened", "closed"):
        state.status = "resolved"  # an assisting part was the last one open


def _root_cause(walk: _Walk, p: dict[str, Any]) -> None:
    """The lead's root cause is the case's (an assisting part's only while no other is known)."""
    state = walk.state
    part = walk.parts.work_orders.get(p["work_order_id"])
    if part is None or part.role == "lead" or state.root_cause is None:
        detail = p.get("root_cause_detail") or {}
        state.root_cause, state.root_cause_note = p["root_cause"], p.get("root_cause_note")
        state.root_cause_zh, state.root_cause_en = detail.get("label_zh"), detail.get("label_en")
    if p.get("cause_analysis"):
        state.cause_analysis = p["cause_analysis"]


def _first_resolution(walk: _Walk, p: dict[str, Any]) -> None:
    state, wo = walk.state, p["work_order_id"]
    walk.resolved = True
    at = as_datetime(p["at"])
    state.first_resolved_at = at
    # A coordinated case is held to its lead's (the routed) deadline, whichever part finished last.
    held_to = state.resolve_by if wo != state.work_order_id and state.resolve_by else None
    walk.held_to = held_to = held_to or as_datetime(walk.deadlines[wo]["resolve_by"])
    state.counters["resolved_in_time"] = int(at <= held_to)
    if state.accepted_at is not None:
        state.handling_hours = max((at - state.accepted_at).total_seconds() / 3600, 0.0)


def _escalated(walk: _Walk, event: TimelineEvent) -> None:
    walk.state.escalation_level = max(walk.state.escalation_level, event.payload["level"])


def _callback_attempted(walk: _Walk, event: TimelineEvent) -> None:
    walk.called = True
    walk.satisfied += event.payload["outcome"] == "satisfied"
    walk.dissatisfied += event.payload["outcome"] == "dissatisfied"


def _reopened(walk: _Walk, event: TimelineEvent) -> None:
    walk.reopened = True
    walk.state.reopen_count += 1
    walk.state.status = "reopened"


def _closed(walk: _Walk, event: TimelineEvent) -> None:
    p = event.payload
    walk.closed = True
    walk.state.closed_at, walk.state.close_outcome = as_datetime(p["closed_at"]), p["outcome"]
    walk.state.status = "closed"


#: What each event of a case does to it (every `workorder.*` event: `_work_order`); other events only feed its parts.
_STEPS: dict[str, Callable[[_Walk, TimelineEvent], None]] = {
    "complaint.received": _received,
    "complaint.routed": _routed,
    "complaint.invalid": _invalid,
    "complaint.resolved_on_contact": _resolved_on_contact,
    "complaint.awaiting_triage": _awaiting_triage,
    "complaint.linked": _linked,
    "complaint.joined": _joined,
    "complaint.eta_changed": _eta_changed,
    "complaint.fault_fixed": _fault_fixed,
    "complaint.escalated": _escalated,
    "callback.attempted": _callback_attempted,
    "complaint.reopened": _reopened,
    "complaint.closed": _closed,
}


def _settle_parts(walk: _Walk) -> None:
    """The parts in an order of their own facts, not of event ids (events at the same instant are ordered by their
    random ids); the owner's display name as any event gave it."""
    state, parts = walk.state, walk.parts
    state.escalations = parts.escalations
    state.owner_name = walk.names.get(state.owner) if state.owner else None
    state.work_orders = sorted(
        parts.work_orders.values(), key=lambda w: (w.assigned_at is None, w.assigned_at, w.work_order_id)
    )
    state.callbacks = sorted(parts.callbacks.values(), key=lambda b: (b.due_at, b.callback_id))
    state.corrective_actions = sorted(parts.corrective_actions.values(), key=lambda a: (a.deadline, a.action_id))
    state.messages = sorted(parts.messages.values(), key=lambda m: (m.requested_at, m.notification_id))


def _judge_due(walk: _Walk, on_contact: bool) -> None:
    """The resolve deadline timeliness holds the case to (`timeliness`), and whether it was met: none for a case
    fixed with its incident or outage, settled at first contact, or invalid."""
    state = walk.state
    if walk.by_group or on_contact or state.invalid:
        state.due_at = None
    else:
        state.due_at = walk.held_to if walk.resolved else state.resolve_by
        state.resolved_in_time = bool(state.counters["resolved_in_time"]) if walk.resolved else None


def _count(walk: _Walk, on_contact: bool) -> None:
    """The case's KPI counters: none until it is received (accepted); an invalid one counts under customer service,
    one not routed yet under `UNROUTED_DEPARTMENT`."""
    state = walk.state
    if state.invalid and state.kpi_department is None:
        state.kpi_department, state.kpi_category = INVALID_DEPARTMENT, state.category
    if state.kpi_department is None and state.accepted_at is not None:
        state.kpi_department, state.kpi_category = UNROUTED_DEPARTMENT, UNROUTED_CATEGORY
    if state.kpi_department is None or state.accepted_at is None:
        state.counters = {}
        return
    to_customer = [m for m in state.messages if m.recipient_kind == "customer"]
    state.counters.update(
        received=1,
        invalid=int(state.invalid),
        resolved_on_contact=int(on_contact),
        routed=int(walk.first_wo is not None),
        acknowledged=int(walk.acked),
        resolved=int(walk.resolved and not walk.by_group),
        fixed_with_group=int(walk.by_group),
        callbacks_done=int(walk.called and (walk.resolved or on_contact)),
        satisfied=walk.satisfied,
        dissatisfied=walk.dissatisfied,
        reopened=int(walk.reopened),
        closed=int(walk.closed),
        messaged=int(any(m.status != "suppressed" for m in to_customer)),
        reached_by_message=int(any(m.status == "delivered" for m in to_customer)),
        on_site=int(walk.on_site),
    )
    state.counters.setdefault("acknowledged_in_time", 0)
    state.counters.setdefault("on_site_in_time", 0)
    state.counters.setdefault("resolved_in_time", 0)


def contribution(state: CaseState, tz: ZoneInfo) -> dict[str, Any] | None:
    """What this case adds to the incremental KPI and hotspot tables (None: nothing yet)."""
    if not state.counters or state.accepted_at is None:
        return None
    local = state.accepted_at.astimezone(tz)
    return {
        "key": [local.date().isoformat(), state.kpi_department, state.kpi_category, state.channel, state.district],
        "counters": {name: state.counters.get(name, 0) for name in COUNTERS},
        "handling_ms": round(state.handling_hours * 3_600_000) if state.handling_hours is not None else 0,
        "bucket": handling_bucket(state.handling_hours) if state.handling_hours is not None else None,
        "hour": state.accepted_at.replace(minute=0, second=0, microsecond=0).isoformat(),
        "asset": [state.asset_type, state.asset_id] if state.asset_type and state.asset_id else None,
    }
