"""Which change of a live page each event is (pure): the table from an event's type to the kinds of change it
makes, and the topics the console reads to hear of them.

A live region of a page names the kinds it shows (`data-live="escalation triage"`); when an event of one of those
kinds is published, the page re-fetches the region as the signed-in person. So a kind is a coarse "something of
this sort changed", never the data itself: the region's own read decides what the person may see.

Why a table here and not in each event: the kinds are the console's words for its pages, which no producer should
have to know. Every event type of a topic the console reads has a row (a unit test holds it), so a new event is
placed here when it is added — `KINDS` fixes the names the pages may use.
"""

from __future__ import annotations

from shared import topics

#: The kinds of change a live region may listen for (fixed names: the pages' `data-live` use them).
KINDS = frozenset(
    {
        "triage",
        "escalation",
        "duty",
        "incident",
        "outage",
        "work_order",
        "serious",
        "corrective_action",
        "complaint",
        "surge",
        "case",
        "inbox",
    }
)

#: The topics the console reads for its live pages: public topics only (no contact data in clear), and only
#: kind, ids and reference ever leave them (`live.notice_of`).
LIVE_TOPICS: tuple[str, ...] = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_ROUTED,
    topics.COMPLAINT_ESCALATED,
    topics.COMPLAINT_REOPENED,
    topics.COMPLAINT_CLOSED,
    topics.COMPLAINT_REPLIES,
    topics.WORKORDERS_REPAIR,
    topics.WORKORDERS_BILLING,
    topics.WORKORDERS_CUSTOMER_SERVICE,
    topics.CALLBACK_EVENTS,
    topics.INCIDENT_EVENTS,
    topics.OUTAGE_EVENTS,
    topics.CORRECTIVE_ACTIONS,
    # What became of each message (public: ids, template, channel, status): a staff notice reaching a person's
    # inbox. Never `notification.requested` (restricted: the text and the addresses).
    topics.NOTIFICATION_DELIVERY,
)

_WORK_ORDER = frozenset({"work_order", "case"})
_ESCALATION = frozenset({"escalation", "case"})

#: event_type → the kinds of change it makes. A type missing here changes no live page.
KINDS_BY_EVENT: dict[str, frozenset[str]] = {
    # Intake: a new complaint (a surge can only start with one; a counter complaint may call the duty manager).
    "complaint.received": frozenset({"complaint", "surge", "duty"}),
    # Dispatch's routing: the triage queue, the case, and a counter complaint's first routing calls the duty manager.
    "complaint.awaiting_triage": frozenset({"triage", "complaint", "case"}),
    "complaint.routed": frozenset({"triage", "complaint", "case", "duty", "work_order"}),
    "complaint.invalid": frozenset({"triage", "complaint", "case"}),
    "complaint.resolved_on_contact": frozenset({"complaint", "case"}),
    "complaint.eta_changed": frozenset({"complaint", "case", "incident", "outage"}),
    "complaint.fault_fixed": frozenset({"complaint", "case", "incident", "outage"}),
    "complaint.joined": frozenset({"complaint", "case", "incident"}),
    "complaint.linked": frozenset({"complaint", "case", "incident", "outage"}),
    # Followup: clocks, escalations and their answers, the duty manager's calls, callbacks, closing.
    "complaint.sla_warning": _ESCALATION,
    "complaint.escalated": frozenset({"escalation", "case", "duty"}),
    "escalation.acknowledged": _ESCALATION,
    "escalation.answered": _ESCALATION,
    "escalation.sent_back": _ESCALATION,
    "duty_manager.called": frozenset({"duty", "case"}),
    "duty_manager.on_the_way": frozenset({"duty", "case"}),
    "duty_manager.arrived": frozenset({"duty", "case"}),
    "callback.scheduled": frozenset({"complaint", "case"}),
    "callback.attempted": frozenset({"complaint", "case"}),
    "complaint.closed": frozenset({"complaint", "case"}),
    "complaint.reopened": frozenset({"complaint", "case", "work_order"}),
    "complaint.customer_replied": frozenset({"case"}),
    # Dispatch's work orders (each department's topic).
    "workorder.assigned": _WORK_ORDER,
    "workorder.acknowledged": _WORK_ORDER,
    "workorder.started": _WORK_ORDER,
    "workorder.note_added": _WORK_ORDER,
    "workorder.resolved": frozenset({"work_order", "case", "serious"}),
    "workorder.returned": _WORK_ORDER,
    "workorder.reassigned": _WORK_ORDER,
    "workorder.crew_assigned": _WORK_ORDER,
    "workorder.appointment_agreed": _WORK_ORDER,
    "workorder.findings_recorded": _WORK_ORDER,
    "workorder.photo_added": _WORK_ORDER,
    "workorder.visit_missed": _WORK_ORDER,
    # Multi-department cases steered by the customer-service centre (seed 002).
    "workorder.coordinated": frozenset({"work_order", "case"}),
    "workorder.lead_changed": frozenset({"work_order", "case"}),
    "workorder.deadline_set": frozenset({"work_order", "case"}),
    "workorder.instructed": frozenset({"work_order", "case"}),
    # Serious cases: the department's proposal and leadership's decision.
    "serious_case.proposed": frozenset({"serious", "case"}),
    "serious_case.approved": frozenset({"serious", "case", "work_order"}),
    "serious_case.sent_back": frozenset({"serious", "case", "work_order"}),
    # Incidents and outage notices.
    "incident.opened": frozenset({"incident", "surge"}),
    "incident.eta_updated": frozenset({"incident"}),
    "incident.resolved": frozenset({"incident", "surge"}),
    "incident.complaint_linked": frozenset({"incident", "case"}),
    "outage.declared": frozenset({"outage"}),
    "outage.updated": frozenset({"outage"}),
    "outage.ended": frozenset({"outage"}),
    "outage.complaint_linked": frozenset({"outage", "case"}),
    # Serious cases' corrective actions.
    "corrective_action.set": frozenset({"corrective_action", "serious", "case"}),
    "corrective_action.completed": frozenset({"corrective_action", "serious", "case"}),
    # Notify: a staff notice queued, sent or delivered is in its person's inbox (a customer's message: see
    # `_STAFF_ONLY`).
    "notification.delivery": frozenset({"inbox"}),
}

#: Events that change a live page only when addressed to staff (`payload.recipient_kind`): a customer's message
#: being delivered is in no one's inbox, and would otherwise make every open inbox re-read notify for nothing.
_STAFF_ONLY = frozenset({"notification.delivery"})


def kinds_of(event_type: str, payload: object = None) -> frozenset[str]:
    """The kinds of change an event makes; none for a type the table does not know (an event added later, which
    its row will place), nor for a delivery to a customer (`_STAFF_ONLY`)."""
    if event_type in _STAFF_ONLY and not (isinstance(payload, dict) and payload.get("recipient_kind") == "staff"):
        return frozenset()
    return KINDS_BY_EVENT.get(event_type, frozenset())
