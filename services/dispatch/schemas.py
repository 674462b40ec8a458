"""HTTP request and response models of dispatch."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shared.contracts import AssetKind, Category, Department, Family, Printable, Severity, WorkOrderStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoteCreate(Strict):
    note: str = Field(min_length=1, max_length=2000)


class CorrectiveActionCreate(Strict):
    description: str = Field(min_length=1, max_length=2000, description="What is to be done so it does not recur.")
    owner: str = Field(min_length=1, max_length=120, description="Who carries it out (a person or a unit).")
    deadline: AwareDatetime = Field(description="By when; in the future.")


class AcceptanceCreate(Strict):
    """The customer's word on the work done, taken on site."""

    customer_name: str = Field(min_length=1, max_length=120, description="The customer's name as they gave it.")
    confirmed: bool = Field(description="The customer confirms the fault is fixed.")
    note: str | None = Field(default=None, max_length=1000)


class ResolutionCreate(Strict):
    resolution: str = Field(min_length=1, max_length=2000, description="What was done.")
    root_cause: str = Field(
        min_length=1,
        max_length=120,
        description="Why it happened: a code of the department's root-cause catalogue (GET /v1/root-causes), "
        "e.g. repair.valve_failure; `<department>.other` with a note when none fits.",
    )
    root_cause_note: str | None = Field(default=None, max_length=2000, description="The cause in your own words.")
    cause_analysis: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="Why it happened, as analysed: required (with corrective actions) on the lead work order of a "
        "serious or emergency case; an assisting work order needs only its root cause.",
    )
    corrective_actions: list[CorrectiveActionCreate] = Field(
        default_factory=list,
        max_length=20,
        description="At least one on the lead work order of a serious or emergency case: what, who, by when.",
    )
    acceptance: AcceptanceCreate | None = Field(
        default=None, description="The customer's acceptance, when the crew resolves it on site."
    )


class ReturnCreate(Strict):
    reason: str = Field(min_length=1, max_length=1000, description="Why this is not our department's.")
    suggested_department: Department | None = None


class ReclassifyCreate(Strict):
    category: Category
    severity: Severity | None = None
    reason: str = Field(min_length=1, max_length=1000)


class TriageDecision(Strict):
    category: Category
    severity: Severity | None = Field(default=None, description="Keeps the rules' severity when omitted.")
    note: str = Field(min_length=1, max_length=1000, description="Why this category (kept with the example).")


class ValidityDecision(Strict):
    """A supervisor's word on validity: `{"valid": true, "note", "category"?, "severity"?}` overturns an invalid
    complaint (it is routed); `{"valid": false, "reason"}` closes one waiting in triage as invalid."""

    valid: bool
    note: str | None = Field(
        default=None, min_length=1, max_length=1000, validate_default=True, description="valid: why it is ours."
    )
    category: Category | None = Field(default=None, description="valid: keeps the classifier's when omitted.")
    severity: Severity | None = Field(default=None, description="valid: keeps the rules' severity when omitted.")
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        validate_default=True,
        description="invalid: why not, as the customer is told.",
    )

    @field_validator("note", "category", "severity", "reason")
    @classmethod
    def _fits_the_decision(cls, value: object, info: ValidationInfo) -> object:
        valid = info.data.get("valid")
        if valid is None:
            return value  # `valid` itself is missing or wrong: that is the error to report
        needed, allowed = ({"note"}, {"note", "category", "severity"}) if valid else ({"reason"}, {"reason"})
        name = info.field_name
        if value is None and name in needed:
            raise ValueError(f"required when valid is {str(valid).lower()}")
        if value is not None and name not in allowed:
            raise ValueError(f"not allowed when valid is {str(valid).lower()}")
        return value


class StaffWorkOrderRead(BaseModel):
    work_order_id: uuid.UUID
    cycle: int
    department: Department
    status: WorkOrderStatus
    category: Category
    severity: Severity
    area_class: str | None
    created_at: datetime
    resolved_at: datetime | None
    role: Literal["lead", "assisting"] = "lead"
    crew: str | None = None
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None


class CaseRead(BaseModel):
    """A complaint as dispatch holds it: where it stands, who owns it, its work orders."""

    complaint_id: uuid.UUID
    reference_no: str
    status: Literal[
        "awaiting_triage", "invalid", "routed", "resolved", "joined", "linked", "resolved_on_contact", "received"
    ]
    channel: str
    district: str
    category: Category
    severity: Severity
    valid: bool
    invalid_reason: str | None
    invalid_by: str | None
    owner: str | None = Field(description="The agent who took it, else the first staff member who acted on it.")
    agent_id: str | None
    handled_on_contact: str | None
    customer_agitated: bool
    resolution_id: uuid.UUID | None = Field(description="Settled at first contact: its resolution.")
    cycle: int
    linked_to: uuid.UUID | None
    incident_id: uuid.UUID | None
    outage_id: uuid.UUID | None
    reasons: list[str]
    model_version: str | None
    accepted_at: datetime
    triage_since: datetime | None
    triaged_at: datetime | None
    triaged_by: str | None
    invalid_at: datetime | None
    resolved_on_contact_at: datetime | None
    owner_name: str | None = None
    agent_name: str | None = None
    text: str | None = None
    location: LocationRead | None = None
    customer: CustomerRead | None = Field(default=None, description="Real contact for persons (each read logged).")
    work_orders: list[StaffWorkOrderRead]


class TriageSuggestionRead(BaseModel):
    category: Category
    department: Department
    probability: float


class TriageItem(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    district: str
    text: str = Field(description="Phone numbers in it masked.")
    severity: Severity
    suggestions: list[TriageSuggestionRead]
    reasons: list[str]
    model_version: str | None
    accepted_at: datetime = Field(description="Its SLA clocks run from here: the wait in triage counts.")
    triage_since: datetime


class TriagePage(BaseModel):
    items: list[TriageItem]
    page: int
    page_size: int
    total: int


class HistoryEntry(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor: str = Field(description="A person's staff id, a credential's name, or 'dispatch'.")
    actor_name: str = Field(description="Who, as people read it: a person's display name (else as `actor`).")
    details: dict[str, Any]
    note: str | None = Field(default=None, description="The step's note (notes, crew, appointment, findings).")
    reason: str | None = Field(default=None, description="A return's or reassignment's reason.")
    at: datetime


class LocationRead(BaseModel):
    address: str | None = Field(description="The exact address; null once its customer was erased (issue 25).")
    district: str
    coordinates: dict[str, float] | None = None
    asset: dict[str, str] | None = None


class CustomerRead(BaseModel):
    """The customer as this caller may see them. A signed-in person sees the real name and phone (and the read is
    logged); a department system sees them masked, as on the work-order topics."""

    name: str | None
    phone: str | None
    email: str | None = None
    account_no: str | None
    preferred_contact: str
    masked: bool = Field(description="name and phone are masked (a machine key, or the contact has not arrived).")


class AppointmentRead(BaseModel):
    window_start: datetime
    window_end: datetime
    note: str | None


class FindingRead(BaseModel):
    finding_id: uuid.UUID
    indoor_temperature_c: float | None
    note: str | None
    actor: str
    actor_name: str
    at: datetime


class PhotoRead(BaseModel):
    photo_id: uuid.UUID
    content_type: str
    size_bytes: int
    actor: str
    actor_name: str
    at: datetime


class AcceptanceRead(BaseModel):
    customer_name: str
    confirmed: bool
    note: str | None = None


class WorkOrderRead(BaseModel):
    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str | None = Field(default=None, description="The case's reference number (an incident's).")
    cycle: int
    department: Department
    status: WorkOrderStatus
    category: Category
    severity: Severity
    priority: int = Field(description="1 = emergency (handled first), 2 = serious, 3 = normal.")
    acknowledge_by: datetime
    on_site_by: datetime | None
    resolve_by: datetime
    interim_reply_by: datetime | None
    callback_limit: str
    previous_work_order_id: uuid.UUID | None
    resolution: str | None
    root_cause: str | None = Field(description="The root-cause catalogue code the resolution named.")
    closing_reason: str | None
    created_at: datetime
    updated_at: datetime
    role: Literal["lead", "assisting"] = Field(
        default="lead", description="A coordinated case has one lead work order and assisting ones."
    )
    lead_work_order_id: uuid.UUID | None = Field(default=None, description="An assisting work order's lead.")
    incident_id: uuid.UUID | None = None
    root_cause_note: str | None = None
    cause_analysis: str | None = None
    cause_analysed_by: str | None = None
    overdue: bool = Field(default=False, description="Open past its resolve deadline.")
    text: str | None = Field(default=None, description="What the customer said, phone numbers masked.")
    location: LocationRead | None = None
    customer: CustomerRead | None = Field(
        default=None, description="None for an incident's work order (its callers are listed on the incident)."
    )
    crew: str | None = Field(default=None, description="The crew sent (GET /v1/crews).")
    crew_name_zh: str | None = None
    crew_name_en: str | None = None
    appointment: AppointmentRead | None = None
    acceptance: AcceptanceRead | None = None
    findings: list[FindingRead] = Field(default=[], description="On a single work order's read.")
    photos: list[PhotoRead] = Field(default=[], description="On a single work order's read.")
    history: list[HistoryEntry] = []
    corrective_actions: list[CorrectiveActionRead] = Field(
        default=[], description="The case's corrective actions (on a single work order's read and a resolution)."
    )


class QueuePage(BaseModel):
    department: Department
    items: list[WorkOrderRead] = Field(description="Each with its text, location, customer, crew and appointment.")
    page: int
    page_size: int
    total: int


# --- incidents, outage notices, the asset registry ---------------------------------------------------------


class AssetIn(Strict):
    """The same shape as a complaint's `location.asset`."""

    type: AssetKind
    id: Printable = Field(min_length=1, max_length=64)


class IncidentCreate(Strict):
    """Declare a fault: its family and its asset, or its district and compound."""

    family: Family
    asset: AssetIn | None = None
    district: Printable | None = Field(default=None, min_length=1, max_length=64)
    compound: Printable | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, min_length=1, max_length=500, description="Told to callers (zh).")
    description_en: str | None = Field(default=None, min_length=1, max_length=500)
    eta: AwareDatetime | None = None

    @model_validator(mode="after")
    def _place(self) -> IncidentCreate:
        if self.asset is None and not (self.district and self.compound):
            raise ValueError("name the asset, or the district and the compound")
        return self


class EtaUpdate(Strict):
    eta: AwareDatetime
    note: str | None = Field(default=None, max_length=500)


class LinkedComplaintRead(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str
    account_no: str | None
    channel: str
    category: Category
    severity: Severity
    accepted_at: datetime
    fixed_at: datetime | None


class IncidentRead(BaseModel):
    incident_id: uuid.UUID
    reference_no: str
    asset: AssetIn | None
    family: Family
    district: str
    compound: str | None
    department: Department
    category: Category
    severity: Severity
    status: Literal["open", "resolved"]
    complaint_count: int
    households: int
    work_order_id: uuid.UUID
    eta: datetime | None
    description: str
    description_en: str
    opened_by: str
    opened_at: datetime
    resolved_at: datetime | None


class IncidentDetail(IncidentRead):
    complaints: list[LinkedComplaintRead]


class IncidentList(BaseModel):
    items: list[IncidentRead]


class OutageCreate(Strict):
    """An outage notice: its asset (or district, optionally a compound), kind, times and what customers are told."""

    asset: AssetIn | None = None
    district: Printable | None = Field(default=None, min_length=1, max_length=64)
    compound: Printable | None = Field(default=None, min_length=1, max_length=120)
    family: Family | None = Field(default=None, description="What stopped; implied by the asset's type if omitted.")
    kind: Literal["planned", "unplanned"]
    starts_at: AwareDatetime
    expected_end: AwareDatetime | None = Field(description="The ETA customers are told.")
    description: str = Field(min_length=1, max_length=500, description="The cause, as customers are told it (zh).")
    description_en: str | None = Field(default=None, min_length=1, max_length=500)
    source_ref: str | None = Field(default=None, min_length=1, max_length=120, description="Your system's id for it.")

    @model_validator(mode="after")
    def _place(self) -> OutageCreate:
        if self.asset is None and not self.district:
            raise ValueError("name the asset or the district")
        if self.asset is None and self.family is None:
            raise ValueError("an area notice (no asset) names its family")
        if self.expected_end is not None and self.expected_end <= self.starts_at:
            raise ValueError("expected_end must be after starts_at")
        return self


class OutageEta(Strict):
    expected_end: AwareDatetime
    note: str | None = Field(default=None, max_length=500)


class OutageRestored(Strict):
    note: str | None = Field(default=None, max_length=500)


class OutageRead(BaseModel):
    outage_id: uuid.UUID
    reference_no: str
    kind: Literal["planned", "unplanned"]
    family: Family
    asset: AssetIn | None
    district: str | None
    compound: str | None
    starts_at: datetime
    expected_end: datetime | None
    description: str
    description_en: str | None
    status: Literal["active", "ended"]
    complaint_count: int
    source: str
    source_ref: str | None
    ended_at: datetime | None


class OutageDetail(OutageRead):
    """An outage notice with the complaints that joined it (its callers), in the order they joined."""

    complaints: list[LinkedComplaintRead]


class OutageList(BaseModel):
    items: list[OutageRead]


class AssetImported(BaseModel):
    imported: int


# --- root causes, corrective actions, coordinated cases --------------------------------------------------------


class RootCauseRead(BaseModel):
    code: str
    department: Department
    label_zh: str
    label_en: str


class RootCauseList(BaseModel):
    items: list[RootCauseRead] = Field(description="Every department's root causes, in the catalogue's order.")


class CorrectiveActionRead(BaseModel):
    action_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None
    department: Department
    severity: Severity
    description: str
    owner: str
    deadline: datetime
    status: Literal["open", "done"]
    overdue: bool = Field(description="Open past its deadline.")
    set_by: str
    set_at: datetime
    outcome: str | None
    completed_by: str | None
    completed_at: datetime | None


class CorrectiveActionList(BaseModel):
    items: list[CorrectiveActionRead]


class CorrectiveActionDone(Strict):
    outcome: str = Field(min_length=1, max_length=2000, description="What was done.")


class AssistCreate(Strict):
    department: Department = Field(description="The department asked to assist (not the lead's own).")
    note: str = Field(min_length=1, max_length=1000, description="What it is asked to do.")


WorkOrderRead.model_rebuild()  # its corrective actions are declared after it


# --- contact access -------------------------------------------------------------------------------------------


class ContactReadEntry(BaseModel):
    staff_id: str
    staff_name: str
    complaint_id: uuid.UUID
    reference_no: str
    what: list[str] = Field(description="What was shown: name, phone, email, account_no, address.")
    endpoint: str = Field(description="The request, e.g. GET /v1/queues/{department}.")
    at: datetime


class ContactAccessList(BaseModel):
    items: list[ContactReadEntry] = Field(description="Newest first.")


# --- field work: crews, appointments, on site ------------------------------------------------------------------


class CrewRead(BaseModel):
    crew: str
    department: Department
    name_zh: str
    name_en: str


class CrewList(BaseModel):
    items: list[CrewRead]


class CrewJobsPage(BaseModel):
    crew: str
    items: list[WorkOrderRead] = Field(description="The crew's open work orders, as queue items.")
    page: int
    page_size: int
    total: int


def _after(start_field: str) -> Any:
    def check(value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get(start_field)
        if start is not None and value <= start:
            raise ValueError(f"must be after {start_field}")
        return value

    return check


class CrewAssign(Strict):
    crew: str = Field(min_length=1, max_length=64, description="A crew of the work order's department (GET /v1/crews).")
    note: str | None = Field(default=None, max_length=1000)


class AppointmentCreate(Strict):
    window_start: AwareDatetime
    window_end: AwareDatetime = Field(description="After window_start.")
    note: str | None = Field(default=None, max_length=1000, description="What was agreed with the customer.")

    _end_after_start = field_validator("window_end")(_after("window_start"))


class ArrivalCreate(Strict):
    """The crew is on site: nothing to say beyond who (the token) and when (now)."""


class FindingsCreate(Strict):
    indoor_temperature_c: float | None = Field(
        default=None, ge=-40, le=60, description="Measured indoor temperature in °C (heating complaints)."
    )
    note: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _something(self) -> FindingsCreate:
        if self.indoor_temperature_c is None and self.note is None:
            raise ValueError("record indoor_temperature_c or a note")
        return self


class NotAtHomeCreate(Strict):
    next_visit_start: AwareDatetime
    next_visit_end: AwareDatetime = Field(description="After next_visit_start.")
    note: str | None = Field(default=None, max_length=1000)

    _end_after_start = field_validator("next_visit_end")(_after("next_visit_start"))


class PhotoAdded(BaseModel):
    photo_id: uuid.UUID
    work_order_id: uuid.UUID
    content_type: str = Field(description="As the image's own bytes say (not the upload's header).")
    size_bytes: int
    actor: str
    actor_name: str
    at: datetime


# --- serious cases: the department proposes, leadership approves (issue 24) ------------------------------------


class SeriousProposalCreate(Strict):
    """The lead department's cause analysis and corrective actions of a serious or emergency case."""

    cause_analysis: str = Field(min_length=1, max_length=4000, description="Why it happened, as the department found.")
    corrective_actions: list[CorrectiveActionCreate] = Field(
        min_length=1, max_length=20, description="What will change so it does not recur: what, who, by when."
    )


class SeriousApproval(Strict):
    note: str | None = Field(default=None, max_length=2000, description="Leadership's words with the approval.")


class SeriousSendBack(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="What the department must do again, and why.")


class ProposedActionRead(BaseModel):
    description: str
    owner: str
    deadline: datetime


class SeriousProposalRead(BaseModel):
    round: int = Field(description="1 for the first proposal, one more after each sending back.")
    status: Literal["proposed", "sent_back", "approved"]
    cause_analysis: str
    corrective_actions: list[ProposedActionRead]
    proposed_by: str
    proposed_by_name: str | None
    proposed_at: datetime
    decided_by: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    decision_note: str | None = Field(description="The reason it was sent back, or the note with the approval.")


class SeriousCaseRead(BaseModel):
    """A serious or emergency case's lead work order and where its proposal stands (null: nothing proposed)."""

    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str | None
    text: str | None = Field(description="The complaint's text, phone numbers masked.")
    department: Department
    category: str
    severity: Severity
    status: WorkOrderStatus
    resolve_by: datetime
    incident_id: uuid.UUID | None
    proposal: SeriousProposalRead | None
    approval_required: bool = Field(
        description="Whether the lead resolves only once the proposal is approved (DISPATCH_SERIOUS_APPROVAL)."
    )


class SeriousCaseList(BaseModel):
    items: list[SeriousCaseRead]
