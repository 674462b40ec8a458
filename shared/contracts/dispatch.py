"""Contracts of routing and the work-order lifecycle (published by dispatch) and of the reopening
of a case (published by followup, consumed by dispatch)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.complaint import Category, Channel, CustomerPublic, ReceivedLocation
from shared.contracts.envelope import Contract, Event
from shared.privacy import MaskedText


# How grave a complaint is, and the one place severity is ranked and raised: dispatch raises it when a
# customer was dissatisfied, followup asks for the raised one, the classifier takes the gravest finding.
# (A comment, not a docstring: the docstring would become the contract's JSON Schema description.)
class Severity(StrEnum):
    EMERGENCY = "emergency"
    SERIOUS = "serious"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """0 for normal, 2 for emergency: sort by it for "the gravest decides"."""
        return _SEVERITY_ORDER.index(self)

    def raised(self) -> Severity:
        """One step graver: normal → serious → emergency (which stays emergency)."""
        return _SEVERITY_ORDER[min(self.rank + 1, len(_SEVERITY_ORDER) - 1)]

    @staticmethod
    def gravest(*severities: Severity) -> Severity:
        return max(severities, key=lambda s: s.rank)


_SEVERITY_ORDER = (Severity.NORMAL, Severity.SERIOUS, Severity.EMERGENCY)


class Department(StrEnum):
    REPAIR = "repair"
    BILLING = "billing"
    CUSTOMER_SERVICE = "customer_service"


DEPARTMENT_TOPICS: dict[Department, str] = {
    Department.REPAIR: topics.WORKORDERS_REPAIR,
    Department.BILLING: topics.WORKORDERS_BILLING,
    Department.CUSTOMER_SERVICE: topics.WORKORDERS_CUSTOMER_SERVICE,
}


class WorkOrderStatus(StrEnum):
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    RETURNED = "returned"
    REASSIGNED = "reassigned"


class DeadlinesPayload(Contract):
    starts_at: AwareDatetime = Field(description="When the clocks started (warnings fire at a share of each limit).")
    acknowledge_by: AwareDatetime
    on_site_by: AwareDatetime | None
    resolve_by: AwareDatetime
    interim_reply_by: AwareDatetime | None
    callback_limit: str = Field(description="Limit for the callback after resolution, e.g. 24h or 1wd.")
    policy_id: str = Field(description="The SLA rule that applied.")


class ComplaintRoutedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    cycle: int = Field(ge=1, description="1 for the first handling; +1 each time the case is reopened.")
    department: Department
    category: Category
    severity: Severity
    priority: int = Field(ge=1, le=3, description="1 = emergency, handled first.")
    valid: bool
    invalid_reason: MaskedText | None
    reasons: list[str] = Field(description="Why this category and severity: matched terms and rules.")
    deadlines: DeadlinesPayload
    channel: Channel
    district: str
    account_no: str | None
    routed_at: AwareDatetime
    reason: Literal["new", "returned", "reclassified", "reopened"]
    previous_work_order_id: uuid.UUID | None


class ComplaintRouted(Event):
    """A complaint has a department, severity and deadlines (first routing, re-route, reopening)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.routed"] = "complaint.routed"
    schema_version: Literal[1] = 1
    payload: ComplaintRoutedPayload


class ComplaintLinkedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    linked_to_complaint_id: uuid.UUID
    work_order_id: uuid.UUID
    department: Department
    category: Category
    reasons: list[str]
    linked_at: AwareDatetime


class ComplaintLinked(Event):
    """A duplicate: same account and category while a work order is open — joined to that case."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.linked"] = "complaint.linked"
    schema_version: Literal[1] = 1
    payload: ComplaintLinkedPayload


class TriageSuggestion(Contract):
    category: Category
    department: Department
    probability: float = Field(ge=0, le=1)


class ComplaintAwaitingTriagePayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    channel: Channel
    district: str
    account_no: str | None
    severity: Severity = Field(description="As the rules assess it; a supervisor may change it.")
    suggestions: list[TriageSuggestion] = Field(description="The model's best categories, best first.")
    reasons: list[str] = Field(
        description="Why it is doubtful: the model's confidence, or rules and model disagreeing."
    )
    model_version: str | None
    accepted_at: AwareDatetime = Field(description="Its SLA clocks run from here, triage time included.")
    queued_at: AwareDatetime


class ComplaintAwaitingTriage(Event):
    """Doubtful: a supervisor decides its category in the triage queue; then it is routed (`complaint.routed`)."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_ROUTED
    event_type: Literal["complaint.awaiting_triage"] = "complaint.awaiting_triage"
    schema_version: Literal[1] = 1
    payload: ComplaintAwaitingTriagePayload


class WorkOrderFacts(Contract):
    """Common to every work-order event."""

    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    department: Department
    cycle: int
    status: WorkOrderStatus
    actor: str = Field(
        description="Who acted: a signed-in person's staff id, a department or supervisor credential's name, "
        "'dispatch'."
    )
    actor_name: str | None = Field(
        default=None,
        description="Since workorder.assigned v3, acknowledged v3, started v2, note_added v2, resolved v3, returned "
        "v2, reassigned v2 (and every field-work event): the display name of who acted (a person's name; a "
        "credential's or 'dispatch' otherwise). Absent in older versions: show `actor`.",
    )
    at: AwareDatetime


class WorkOrderEvent(Event):
    """Published on the department's own topic (workorders.<department>)."""

    payload: WorkOrderFacts

    @property
    def topic(self) -> str:
        return DEPARTMENT_TOPICS[self.payload.department]


class WorkOrderAssignedPayload(WorkOrderFacts):
    category: Category
    severity: Severity
    priority: int
    deadlines: DeadlinesPayload
    text: MaskedText = Field(description="Complaint text, phone numbers masked.")
    location: ReceivedLocation = Field(
        description="v4: a customer's exact address and coordinates sealed with their key, as complaint.received v5 "
        "brought them (`location.sealed`; null `address`); an incident's place, and a case from before v5, in clear."
    )
    customer: CustomerPublic
    channel: Channel
    reasons: list[str]
    reopened: bool
    owner: str | None = Field(
        default=None, description="v2: staff id responsible for the case (who took it first); null until someone does."
    )
    role: Literal["lead", "assisting"] = Field(
        default="lead",
        description="v2: a coordinated case has one lead work order and assisting ones for other departments.",
    )
    lead_work_order_id: uuid.UUID | None = Field(default=None, description="v2: an assisting work order's lead.")
    area_class: str | None = Field(default=None, description="v2: city, rural or remote: the limits that applied.")


class WorkOrderAssigned(WorkOrderEvent):
    """v2 adds the case's owner, the work order's role in a coordinated case and the district's area class; v3 the
    actor's display name (`actor_name`); v4 seals a customer's exact address and coordinates (`location.sealed`)."""

    event_type: Literal["workorder.assigned"] = "workorder.assigned"
    schema_version: Literal[1, 2, 3, 4] = 4
    payload: WorkOrderAssignedPayload


class WorkOrderAcknowledgedPayload(WorkOrderFacts):
    owner: str | None = Field(
        default=None,
        description="v2: the case's owner after this step: whoever signs first for a case nobody took owns it.",
    )


class WorkOrderAcknowledged(WorkOrderEvent):
    """The department signed for the work order. v2: the case's owner; v3: who signed, by name (`actor_name`)."""

    event_type: Literal["workorder.acknowledged"] = "workorder.acknowledged"
    schema_version: Literal[1, 2, 3] = 3
    payload: WorkOrderAcknowledgedPayload


class WorkOrderStartedPayload(WorkOrderFacts):
    crew: str | None = Field(default=None, description="v2: the crew on site, when one was assigned.")


class WorkOrderStarted(WorkOrderEvent):
    """The crew is on site / work is in progress (the on-site clock stops). v2: who arrived (`actor`,
    `actor_name`) and their crew."""

    event_type: Literal["workorder.started"] = "workorder.started"
    schema_version: Literal[1, 2] = 2
    payload: WorkOrderStartedPayload


class WorkOrderNotePayload(WorkOrderFacts):
    note: MaskedText


class WorkOrderNoteAdded(WorkOrderEvent):
    """A note on the work order. v2: `actor_name`."""

    event_type: Literal["workorder.note_added"] = "workorder.note_added"
    schema_version: Literal[1, 2] = 2
    payload: WorkOrderNotePayload


class RootCause(Contract):
    code: str = Field(description="From the root-cause catalogue of the department, e.g. repair.valve_failure.")
    label_zh: str
    label_en: str


class CauseAnalysis(Contract):
    """Why a serious or emergency complaint happened, as leadership had it analysed."""

    summary: MaskedText
    analysed_by: str


class CustomerAcceptance(Contract):
    """The customer's word on the work done, taken on site (no phone or account)."""

    customer_name: str = Field(description="Masked on the topics (王**), as every customer's name there.")
    confirmed: bool = Field(description="The customer confirmed the fault is fixed.")
    note: MaskedText | None = None


class WorkOrderResolvedPayload(WorkOrderFacts):
    resolution: MaskedText
    root_cause: str = Field(description="v2: the catalogue code (as root_cause_detail.code); v1: free text.")
    root_cause_detail: RootCause | None = Field(default=None, description="v2: the catalogue entry picked.")
    root_cause_note: MaskedText | None = Field(
        default=None, description="v2: the department's own words beside the code."
    )
    cause_analysis: CauseAnalysis | None = Field(
        default=None, description="v2: required on serious and emergency cases (with corrective actions)."
    )
    case_resolved: bool = Field(
        default=True,
        description="v2: false while other work orders of a coordinated case are still open.",
    )
    acceptance: CustomerAcceptance | None = Field(
        default=None, description="v3: the customer's acceptance of the work on site, when the crew took it."
    )


class WorkOrderResolved(WorkOrderEvent):
    """v2: the root cause comes from the catalogue; serious cases carry their cause analysis; a coordinated
    case's work order says whether the whole case is now resolved. v3: `actor_name` and the customer's acceptance."""

    event_type: Literal["workorder.resolved"] = "workorder.resolved"
    schema_version: Literal[1, 2, 3] = 3
    payload: WorkOrderResolvedPayload


class WorkOrderReturnedPayload(WorkOrderFacts):
    reason: MaskedText
    rerouted_to: Department
    new_work_order_id: uuid.UUID


class WorkOrderReturned(WorkOrderEvent):
    """The department says "not ours"; the case was re-routed to `rerouted_to`. v2: `actor_name`."""

    event_type: Literal["workorder.returned"] = "workorder.returned"
    schema_version: Literal[1, 2] = 2
    payload: WorkOrderReturnedPayload


class WorkOrderReassignedPayload(WorkOrderFacts):
    reason: MaskedText
    new_category: Category
    new_severity: Severity
    new_department: Department
    new_work_order_id: uuid.UUID


class WorkOrderReassigned(WorkOrderEvent):
    """A supervisor reclassified the case; this work order is closed in favour of a new one. v2: `actor_name`."""

    event_type: Literal["workorder.reassigned"] = "workorder.reassigned"
    schema_version: Literal[1, 2] = 2
    payload: WorkOrderReassignedPayload


# --- field work: crews, appointments, on site (new facts, new events on the department's topic) ----------------


class WorkOrderCrewAssignedPayload(WorkOrderFacts):
    crew: str = Field(description="The crew sent, e.g. repair-crew-1 (GET /v1/crews).")
    crew_name_zh: str
    crew_name_en: str
    previous_crew: str | None = Field(description="The crew it had before, when it is handed over.")
    note: MaskedText | None = None


class WorkOrderCrewAssigned(WorkOrderEvent):
    """The department sent a crew (or handed the work order over to another one)."""

    event_type: Literal["workorder.crew_assigned"] = "workorder.crew_assigned"
    schema_version: Literal[1] = 1
    payload: WorkOrderCrewAssignedPayload


class WorkOrderAppointmentPayload(WorkOrderFacts):
    window_start: AwareDatetime
    window_end: AwareDatetime = Field(description="After window_start.")
    note: MaskedText | None = None


class WorkOrderAppointmentAgreed(WorkOrderEvent):
    """A visit window agreed with the customer (the customer is told it)."""

    event_type: Literal["workorder.appointment_agreed"] = "workorder.appointment_agreed"
    schema_version: Literal[1] = 1
    payload: WorkOrderAppointmentPayload


class WorkOrderFindingsPayload(WorkOrderFacts):
    finding_id: uuid.UUID
    indoor_temperature_c: float | None = Field(
        ge=-40, le=60, description="Indoor temperature measured on site, in °C (heating complaints)."
    )
    note: MaskedText | None = None


class WorkOrderFindingsRecorded(WorkOrderEvent):
    """What the crew found on site: a measured indoor temperature, a note."""

    event_type: Literal["workorder.findings_recorded"] = "workorder.findings_recorded"
    schema_version: Literal[1] = 1
    payload: WorkOrderFindingsPayload


class WorkOrderPhotoPayload(WorkOrderFacts):
    photo_id: uuid.UUID = Field(description="GET /v1/work-orders/{work_order_id}/photos/{photo_id} (staff only).")
    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size_bytes: int = Field(ge=1)


class WorkOrderPhotoAdded(WorkOrderEvent):
    """A photo taken on site was attached (the image itself stays in dispatch's photo storage)."""

    event_type: Literal["workorder.photo_added"] = "workorder.photo_added"
    schema_version: Literal[1] = 1
    payload: WorkOrderPhotoPayload


class WorkOrderVisitMissedPayload(WorkOrderFacts):
    crew: str | None
    missed_window_start: AwareDatetime | None = Field(description="The appointment that was missed, if one was agreed.")
    missed_window_end: AwareDatetime | None
    next_window_start: AwareDatetime = Field(description="The next visit: the work order's appointment now.")
    next_window_end: AwareDatetime
    note: MaskedText | None = None


class WorkOrderVisitMissed(WorkOrderEvent):
    """The crew came and the customer was not at home: the next visit is agreed (status back to acknowledged, so
    the next arrival is a new `workorder.started`)."""

    event_type: Literal["workorder.visit_missed"] = "workorder.visit_missed"
    schema_version: Literal[1] = 1
    payload: WorkOrderVisitMissedPayload


# --- coordination by the customer-service centre (seed 002; issue 24): steering a multi-department case -------


class CoordinatedPart(Contract):
    work_order_id: uuid.UUID
    department: Department
    role: Literal["lead", "assisting"]
    status: WorkOrderStatus
    resolve_by: AwareDatetime


class WorkOrderCoordinatedPayload(WorkOrderFacts):
    """On the lead work order: who coordinates the case from now on, and every part as it stands."""

    note: MaskedText
    parts: list[CoordinatedPart] = Field(description="The case's open work orders (lead first) after the step.")


class WorkOrderCoordinated(WorkOrderEvent):
    """The customer-service centre took over coordinating this multi-department case (its supervisor opened it)."""

    event_type: Literal["workorder.coordinated"] = "workorder.coordinated"
    schema_version: Literal[1] = 1
    payload: WorkOrderCoordinatedPayload


class WorkOrderLeadChangedPayload(WorkOrderFacts):
    """On the new lead work order (role lead now); the previous lead assists it from now on."""

    previous_lead_work_order_id: uuid.UUID
    previous_lead_department: Department
    note: MaskedText
    parts: list[CoordinatedPart] = Field(description="The case's open work orders (lead first) after the step.")


class WorkOrderLeadChanged(WorkOrderEvent):
    """The coordinating centre made this work order the case's lead (the previous lead and the other parts now
    assist it)."""

    event_type: Literal["workorder.lead_changed"] = "workorder.lead_changed"
    schema_version: Literal[1] = 1
    payload: WorkOrderLeadChangedPayload


class WorkOrderDeadlineSetPayload(WorkOrderFacts):
    resolve_by: AwareDatetime = Field(description="The part's new deadline to resolve.")
    previous_resolve_by: AwareDatetime
    note: MaskedText


class WorkOrderDeadlineSet(WorkOrderEvent):
    """The coordinating centre set this part's deadline to resolve."""

    event_type: Literal["workorder.deadline_set"] = "workorder.deadline_set"
    schema_version: Literal[1] = 1
    payload: WorkOrderDeadlineSetPayload


class WorkOrderInstructedPayload(WorkOrderFacts):
    instruction: MaskedText


class WorkOrderInstructed(WorkOrderEvent):
    """The coordinating centre gave this part's department an instruction."""

    event_type: Literal["workorder.instructed"] = "workorder.instructed"
    schema_version: Literal[1] = 1
    payload: WorkOrderInstructedPayload


AnyWorkOrderEvent = Annotated[
    WorkOrderAssigned
    | WorkOrderAcknowledged
    | WorkOrderStarted
    | WorkOrderNoteAdded
    | WorkOrderResolved
    | WorkOrderReturned
    | WorkOrderReassigned
    | WorkOrderCrewAssigned
    | WorkOrderAppointmentAgreed
    | WorkOrderFindingsRecorded
    | WorkOrderPhotoAdded
    | WorkOrderVisitMissed
    | WorkOrderCoordinated
    | WorkOrderLeadChanged
    | WorkOrderDeadlineSet
    | WorkOrderInstructed,
    Field(discriminator="event_type"),
]


class ComplaintReopenedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    reason: MaskedText
    previous_work_order_id: uuid.UUID | None
    severity: Severity = Field(description="Raised severity for the new cycle.")
    reopen_count: int = Field(ge=1)
    reopened_at: AwareDatetime


class ComplaintReopened(Event):
    """The customer was not satisfied: dispatch opens a new work-order cycle with raised severity."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_REOPENED
    event_type: Literal["complaint.reopened"] = "complaint.reopened"
    schema_version: Literal[1] = 1
    payload: ComplaintReopenedPayload
