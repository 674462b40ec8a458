"""Dispatch's domain types: a case, its work orders, who acts on them, and the one department access rule.

Plain frozen values with no I/O, so handlers, routing and tests share them. The rows of `dispatch.cases` and
`dispatch.work_orders` map one to one onto `Case` and `WorkOrder` (the repository builds them by column name).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department

#: A work order's part in a coordinated case (coordination.py): one lead, the other departments assisting.
WorkOrderRole = Literal["lead", "assisting"]
#: Who approves a serious case's cause analysis and corrective actions (seed 001: leadership or HR/administration).
APPROVER_ROLES = frozenset({"leadership", "hr_admin"})
#: Who opened an incident: the callers' count crossing a threshold, or an operator.
IncidentOpener = Literal["threshold", "operator"]
#: The image types a photo may have (photos/images.py reads them from the bytes).
ImageType = Literal["image/jpeg", "image/png", "image/webp"]


@dataclass(frozen=True)
class Case:
    """Dispatch's own record of a complaint: what it needs to classify, detect repeats and re-route."""

    complaint_id: uuid.UUID
    reference_no: str
    account_no: str | None
    channel: str
    district: str
    text: str
    location: dict[str, Any]
    customer: dict[str, Any]
    category_hint: str | None
    accepted_at: datetime
    category: str
    severity: str
    valid: bool
    invalid_reason: str | None
    reasons: list[str]
    #: The classifier's score per category: the ranking a returned work order is re-routed by.
    scores: dict[str, float]
    linked_to: uuid.UUID | None
    cycle: int
    correlation_id: str
    #: The fault it is about (incidents/faults.py): family and scope, and the asset when known.
    family: str | None = None
    scope: str | None = None
    asset: dict[str, Any] | None = None
    #: The incident or outage notice it joined (no work order of its own while it belongs there).
    incident_id: uuid.UUID | None = None
    outage_id: uuid.UUID | None = None
    #: When its group (incident, outage, or the case it duplicates) was fixed and its callback became due.
    fixed_at: datetime | None = None
    #: Doubtful: waiting in the triage queue since, until a supervisor routed it (when, who).
    triage_since: datetime | None = None
    triaged_at: datetime | None = None
    triaged_by: str | None = None
    #: The model's suggestions [{category, department, probability}] and version, for the supervisor and the audit.
    suggestions: list[dict[str, Any]] | None = None
    model_version: str | None = None
    #: Who is responsible until it is closed: the agent who took it, else the first staff member who acted on it
    #: (the supervisor who triaged it or decided its validity, the department that acknowledged its work order).
    owner: str | None = None
    #: What the agent said about it (agent channels): who took it, what was settled at once, an agitated customer.
    agent_id: str | None = None
    handled_on_contact: str | None = None
    customer_agitated: bool = False
    #: Closed as invalid (no work order): when, and by 'dispatch' or a supervisor.
    invalid_at: datetime | None = None
    invalid_by: str | None = None
    #: Settled at first contact: the resolution that stands where a work order would.
    resolution_id: uuid.UUID | None = None
    resolved_on_contact_at: datetime | None = None
    #: The display names beside the staff ids: the agent who took it (complaint.received v3), the owner.
    agent_name: str | None = None
    owner_name: str | None = None
    #: The key its repeats and duplicates are counted under: its customer's household (migrations/011), else the
    #: account of an event before customers were matched; None when there is neither.
    household: str | None = None

    def __post_init__(self) -> None:
        if self.household is None and self.account_no:
            object.__setattr__(self, "household", self.account_no)

    @property
    def awaiting_triage(self) -> bool:
        return self.triage_since is not None and self.triaged_at is None

    @property
    def closed_invalid(self) -> bool:
        return not self.valid and self.invalid_at is not None


@dataclass(frozen=True)
class WorkOrder:
    """One department's assignment for one cycle of a case, with its deadlines and outcome."""

    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    cycle: int
    department: str
    status: str
    category: str
    severity: str
    priority: int
    starts_at: datetime
    acknowledge_by: datetime
    on_site_by: datetime | None
    resolve_by: datetime
    interim_reply_by: datetime | None
    callback_limit: str
    policy_id: str
    previous_work_order_id: uuid.UUID | None
    resolution: str | None
    root_cause: str | None
    closing_reason: str | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    #: Set on an incident's work order; its `complaint_id` is then the incident id.
    incident_id: uuid.UUID | None = None
    #: A coordinated case has one lead work order and assisting ones for other departments (coordination.py).
    role: WorkOrderRole = "lead"
    lead_work_order_id: uuid.UUID | None = None
    #: The resolution beside its catalogue code (`root_cause`): the department's words, and for serious and
    #: emergency cases the cause analysis and who gave it (resolution.py).
    root_cause_note: str | None = None
    cause_analysis: str | None = None
    cause_analysed_by: str | None = None
    #: city, rural or remote: whose limits the SLA policy gave it (the district's area class).
    area_class: str | None = None
    #: Field work: the crew sent (crews.csv), the visit window agreed with the customer, and the customer's
    #: acceptance taken on site at resolution ({customer_name, confirmed, note}).
    crew: str | None = None
    appointment_start: datetime | None = None
    appointment_end: datetime | None = None
    appointment_note: str | None = None
    acceptance: dict[str, Any] | None = None


@dataclass(frozen=True)
class ClassificationEntry:
    """One row of a case's classification history: dispatch's decision or a person's correction."""

    complaint_id: uuid.UUID
    category: str
    severity: str
    actor: str
    reason: str | None
    reasons: list[str]
    at: datetime
    model_version: str | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a work order's audit trail (`actor_name`: a person's display name, else the actor)."""

    work_order_id: uuid.UUID
    action: str
    from_status: str | None
    to_status: str
    actor: str
    actor_name: str
    details: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class Incident:
    """One fault, many callers: one work order for the fault, every caller linked to it."""

    incident_id: uuid.UUID
    reference_no: str
    family: str
    scope: str
    asset: dict[str, Any] | None
    district: str
    compound: str | None
    department: str
    category: str
    severity: str
    status: str
    work_order_id: uuid.UUID
    complaint_count: int
    households: int
    eta: datetime | None
    description: str
    description_en: str
    opened_by: IncidentOpener
    actor: str
    channel: str
    correlation_id: str
    opened_at: datetime
    resolved_at: datetime | None

    def as_case(self) -> Case:
        """The incident as the subject of its work order: what the work-order events say about "the case"."""
        asset = self.asset if self.asset and self.asset.get("type") in _LOCATION_ASSET_TYPES else None
        return Case(
            complaint_id=self.incident_id,
            reference_no=self.reference_no,
            account_no=None,
            channel=self.channel,
            district=self.district,
            text=f"{self.description} / {self.description_en}",
            location={"address": self.place, "district": self.district, "coordinates": None, "asset": asset},
            customer={"account_no": None, "name_masked": None, "phone_masked": None, "preferred_contact": "phone"},
            category_hint=None,
            accepted_at=self.opened_at,
            category=self.category,
            severity=self.severity,
            valid=True,
            invalid_reason=None,
            reasons=[f"incident {self.reference_no}: {self.households} households"],
            scores={},
            linked_to=None,
            cycle=1,
            correlation_id=self.correlation_id,
        )

    @property
    def place(self) -> str:
        if self.asset:
            return f"{self.asset['type']} {self.asset['id']}"
        return f"{self.compound} ({self.district})"


#: Asset types a complaint's `location.asset` can carry (the work-order contract's Location).
_LOCATION_ASSET_TYPES = frozenset({"building", "heat_exchange_station", "feeder"})


@dataclass(frozen=True)
class Outage:
    """A planned or unplanned outage the utility announced: callers in its area are told, no crew is sent."""

    outage_id: uuid.UUID
    reference_no: str
    kind: str
    family: str
    asset: dict[str, Any] | None
    district: str | None
    compound: str | None
    starts_at: datetime
    expected_end: datetime | None
    description: str
    description_en: str | None
    status: str
    complaint_count: int
    source: str
    source_ref: str | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class CaseView:
    """A case as staff read it: where it stands and its work orders, oldest first."""

    case: Case
    status: str
    work_orders: list[WorkOrder]


@dataclass(frozen=True)
class WorkOrderView:
    """A work order with its audit trail, as a department or supervisor reads it."""

    order: WorkOrder
    history: list[dict[str, Any]]
    #: The case's corrective actions (on a single work order's read and a resolution's answer).
    corrective_actions: tuple[CorrectiveAction, ...] = ()
    #: What the crew found and photographed on site, oldest first (a single work order's read).
    findings: tuple[Finding, ...] = ()
    photos: tuple[Photo, ...] = ()
    #: The case it belongs to (an incident's as a case): its text, address and masked customer.
    case: Case | None = None


@dataclass(frozen=True)
class Finding:
    """What a crew found on site (`dispatch.findings`): a measured indoor temperature, a note."""

    finding_id: uuid.UUID
    work_order_id: uuid.UUID
    indoor_temperature_c: float | None
    note: str | None
    actor: str
    actor_name: str
    at: datetime


@dataclass(frozen=True)
class Photo:
    """A photo attached to a work order (`dispatch.photos`); its bytes are in the photo storage under `storage_key`."""

    photo_id: uuid.UUID
    work_order_id: uuid.UUID
    content_type: ImageType
    size_bytes: int
    sha256: str
    storage_key: str
    actor: str
    actor_name: str
    at: datetime


@dataclass(frozen=True)
class Contact:
    """The customer's real contact data (the restricted `complaint.contact` event), kept by complaint id: only
    persons allowed to see it read it, and each read is logged (`ContactRead`)."""

    complaint_id: uuid.UUID
    reference_no: str
    name: str | None
    phone: str | None
    email: str | None
    wechat_openid: str | None
    preferred_contact: str
    received_at: datetime


@dataclass(frozen=True)
class CustomerDetails:
    """The customer as one caller is shown them: real contact for a person (logged), masked for a machine key."""

    name: str | None
    phone: str | None
    email: str | None
    account_no: str | None
    preferred_contact: str
    #: True when name and phone are the masked ones (a machine key, or the contact has not arrived yet).
    masked: bool


@dataclass(frozen=True)
class ContactRead:
    """One person's read of one customer's contact details (`dispatch.contact_access_log`): who, whose, what, where."""

    staff_id: str
    staff_name: str
    complaint_id: uuid.UUID
    reference_no: str
    #: What was shown: name, phone, email, account_no, address.
    what: list[str]
    #: Which request: method and route, e.g. "GET /v1/queues/{department}".
    endpoint: str
    at: datetime


#: Roles whose holders read every department's work (supervisor-level reads); of them only `supervisor` also acts
#: as a supervisor (reclassify, triage, validity, corrective actions, incidents).
OVERSIGHT_ROLES = frozenset({"supervisor", "duty_manager", "leadership"})
#: Roles of a department's own staff: its queue and every one of its work orders.
DEPARTMENT_ROLES = frozenset({"dispatcher", "department_manager"})


@dataclass(frozen=True)
class Actor:
    """Who acts: a department's staff or system, a crew member, an agent, a supervisor.

    A machine credential's `name` is what the audit trail records, as it always was. A signed-in person's `name` is
    their staff id (what `actor`, `owner`, `decided_by` record), `display_name` what people read beside it."""

    name: str
    department: Department | None = None
    supervisor: bool = False
    #: The utility's outage system: declares and updates outage notices, nothing else.
    outage_system: bool = False
    #: A signed-in person: their staff id (the same as `name`), display name and roles. None for machine keys.
    staff_id: str | None = None
    display_name: str | None = None
    roles: frozenset[str] = frozenset()
    #: A crew member: works only on the work orders assigned to this crew (of `department`).
    crew: str | None = None
    #: Reads every department's work without acting as a supervisor (duty manager, leadership, HR/administration).
    oversees: bool = False

    @property
    def is_person(self) -> bool:
        return self.staff_id is not None

    @property
    def label(self) -> str:
        """The name people read in histories and events (`actor_name`)."""
        return self.display_name or self.name

    @property
    def agent(self) -> bool:
        return "agent" in self.roles

    @property
    def reads_everything(self) -> bool:
        """Supervisor-level reads: every queue, work order, case and the contact-access log."""
        return self.supervisor or self.oversees

    @property
    def approves_serious(self) -> bool:
        """Leadership and HR/administration approve (or send back) serious cases' analyses and corrective actions."""
        return bool(self.roles & APPROVER_ROLES)

    @property
    def department_staff(self) -> bool:
        return self.department is not None and self.crew is None

    def may_handle(self, department: str) -> bool:
        """The department rule, for HTTP and the ingress topic alike: a department's staff (and its system) see and
        act on its own queue and work orders only; a supervisor on every department's. Not a crew member: a crew
        works on its own jobs only (`may_act_on`)."""
        return self.supervisor or (self.department_staff and self.department == department)

    def may_read_queue(self, department: str) -> bool:
        return self.reads_everything or self.may_handle(department)

    def may_act_on(self, order: WorkOrder) -> bool:
        """Steps on one work order: its department's staff, a supervisor, or a member of the crew it is assigned to."""
        if self.may_handle(order.department):
            return True
        return self.crew is not None and self.department == order.department and order.crew == self.crew

    def may_read(self, order: WorkOrder) -> bool:
        return self.reads_everything or self.may_act_on(order)

    def may_read_crew(self, crew: Crew) -> bool:
        """A crew's jobs: its own members, its department's staff, supervisor-level readers."""
        return self.reads_everything or self.may_handle(crew.department) or self.crew == crew.crew


#: Dispatch itself, as the actor of what no person or department did (routing, merging into an incident).
SYSTEM = Actor(name="dispatch")


@dataclass(frozen=True)
class Crew:
    """A field crew of a department (deploy/demo-city/crews.csv): jobs are assigned to it, its members see them."""

    crew: str
    department: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Step:
    """A department's action on a work order, from HTTP or the ingress topic."""

    action: Action
    note: str | None = None
    resolution: str | None = None
    root_cause: str | None = None
    reason: str | None = None
    suggested_department: Department | None = None
    #: A resolution's catalogue context (resolution.py): the note beside the code, the cause analysis and the
    #: corrective actions serious cases need; `free_text_root_cause` files an unknown root cause under the
    #: department's `other` with the text as the note (department systems send free text).
    root_cause_note: str | None = None
    cause_analysis: str | None = None
    corrective_actions: tuple[CorrectiveActionPlan, ...] = ()
    free_text_root_cause: bool = False
    #: Field work (crews.py, field_work.py): the crew sent, a visit window (agreed, or the next one after a missed
    #: visit), a measured indoor temperature, a stored photo, the customer's acceptance at resolution.
    crew: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    indoor_temperature_c: float | None = None
    photo: Photo | None = None
    acceptance: dict[str, Any] | None = None


@dataclass(frozen=True)
class CorrectiveActionPlan:
    """A corrective action as leadership sets it: what, who carries it out, by when."""

    description: str
    owner: str
    deadline: datetime


@dataclass(frozen=True)
class SeriousProposal:
    """A serious or emergency case's cause analysis and corrective actions as its lead department proposed them, and
    where they stand: proposed (waiting for leadership), sent back (with leadership's reason), approved. One per
    lead work order (its latest round); `serious_cases.py` holds the rules."""

    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    department: str
    severity: str
    round: int
    cause_analysis: str
    #: [{"description", "owner", "deadline" (ISO 8601)}], as proposed.
    corrective_actions: list[dict[str, Any]]
    status: Literal["proposed", "sent_back", "approved"]
    proposed_by: str
    proposed_by_name: str | None
    proposed_at: datetime
    decided_by: str | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None

    def plans(self) -> tuple[CorrectiveActionPlan, ...]:
        return tuple(
            CorrectiveActionPlan(a["description"], a["owner"], datetime.fromisoformat(a["deadline"]))
            for a in self.corrective_actions
        )


@dataclass(frozen=True)
class CorrectiveAction:
    """A corrective action of a serious case, as `dispatch.corrective_actions` holds it."""

    action_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID | None
    department: str
    severity: str
    description: str
    owner: str
    deadline: datetime
    status: str
    set_by: str
    set_at: datetime
    outcome: str | None = None
    completed_by: str | None = None
    completed_at: datetime | None = None

    def overdue(self, at: datetime) -> bool:
        return self.status == "open" and self.deadline < at


@dataclass(frozen=True)
class IncidentDeclaration:
    """An operator declares a fault before (or without) the threshold: its family and its asset or area."""

    family: str
    asset: dict[str, Any] | None
    district: str | None
    compound: str | None
    description: str | None = None
    description_en: str | None = None
    eta: datetime | None = None


@dataclass(frozen=True)
class OutageNotice:
    """A planned or unplanned outage, from a supervisor or the utility's outage system."""

    kind: str
    family: str | None
    asset: dict[str, Any] | None
    district: str | None
    compound: str | None
    starts_at: datetime
    expected_end: datetime | None
    description: str
    description_en: str | None = None
    #: The outage system's own id, so its later ETA and "restored" messages find the notice.
    source_ref: str | None = None


@dataclass(frozen=True)
class LabelledExample:
    """A person's decision where the classifier decided (or could not): training data for the next model."""

    complaint_id: uuid.UUID
    text: str
    channel: str
    predicted_category: str
    predicted_severity: str
    category: str
    severity: str
    department: str
    source: str
    actor: str
    model_version: str | None
    at: datetime


def complaint_key(value: str) -> uuid.UUID | str:
    """A complaint id, or the reference number the customer reads out (TS-20261123-000042)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return value


__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound"]
