"""What the leadership report needs of a serious or emergency incident, derived from its timeline (pure).

Why: an incident is no customer case (`model.subject_of` files its events under "incident"), so it has no row in
`cases` and the report of serious cases, which reads those, left it out. Yet its work order's resolution at serious
or emergency severity carries a cause analysis and sets corrective actions (dispatch publishes them with the
incident's id and reference number), followup escalates its clock and its actions, exactly as for a case. These
events are in the incident's timeline; `CaseParts` reads them the same way it reads a case's, so a case and an
incident in the report say the same things the same way. Derived at report time from the few serious incidents of
the period, so nothing new is stored and a rebuild has nothing more to reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.reporting.case_parts import CaseParts, CorrectiveActionPart
from services.reporting.case_state import TimelineEvent

#: The events of an incident's timeline that `CaseParts` reads for the report.
_PART_EVENTS = ("workorder.", "corrective_action.", "complaint.escalated")


@dataclass
class IncidentHandling:
    """The cause analysis, root cause, corrective actions and escalations of one incident."""

    owner: str | None = None
    cause_analysis: dict[str, Any] | None = None
    root_cause: str | None = None
    root_cause_zh: str | None = None
    root_cause_en: str | None = None
    root_cause_note: str | None = None
    corrective_actions: list[CorrectiveActionPart] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)


def incident_handling(incident_id: str, work_order_id: str, events: list[TimelineEvent]) -> IncidentHandling:
    """The incident's handling as its events say, in (occurred_at, event_id) order: the root cause and cause
    analysis of its work order's (latest) resolution, who owns its work order (the first to sign for it), its
    corrective actions as they stand and its escalations in the order they happened."""
    parts = CaseParts(incident_id)
    handling = IncidentHandling()
    for event in sorted(events, key=lambda e: e.sort_key):
        t, p = event.event_type, event.payload
        if not t.startswith(_PART_EVENTS):
            continue
        parts.apply(t, p, event.occurred_at)
        if t in ("workorder.assigned", "workorder.acknowledged"):
            handling.owner = handling.owner or p.get("owner")
    resolution = parts.work_orders.get(work_order_id)
    if resolution is not None and resolution.root_cause is not None:
        handling.root_cause, handling.root_cause_note = resolution.root_cause, resolution.root_cause_note
        handling.root_cause_zh, handling.root_cause_en = resolution.root_cause_zh, resolution.root_cause_en
        handling.cause_analysis = resolution.cause_analysis
    handling.corrective_actions = sorted(parts.corrective_actions.values(), key=lambda a: (a.deadline, a.action_id))
    handling.escalations = parts.escalations
    return handling
