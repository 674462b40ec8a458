"""HTTP response models of reporting (`XRead`): what each JSON endpoint answers, field by field.

Fields appear in the order the answers have always had. Contact data (`name`, `phone`) is present only
for roles allowed to see it and only when the case has it, so those routes answer with
`response_model_exclude_unset`: a field nobody set is left out, not sent as null.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.reporting.incident_state import SlaOutcome
from services.reporting.model import GroupBy
from shared.contracts import Category, Channel, Department, Family, Severity, WorkOrderStatus


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MetaRead(Read):
    today: date = Field(description="Today in the utility's time zone: the dashboard's default period ends here.")
    timezone: str = Field(examples=["Asia/Shanghai"])


class CaseFields(Read):
    """A case as the read model holds it; contact data masked."""

    complaint_id: uuid.UUID
    reference_no: str | None
    account_no: str | None
    channel: Channel | None
    district: str | None
    address: str | None
    category: Category | None
    department: Department | None
    severity: Severity | None
    priority: int | None
    status: str = Field(
        description="received, awaiting_triage, assigned, acknowledged, in_progress, resolved, linked, joined, "
        "reopened, closed"
    )
    cycle: int
    work_order_id: uuid.UUID | None
    work_order_status: WorkOrderStatus | None
    acknowledge_by: datetime | None
    resolve_by: datetime | None
    linked_to: uuid.UUID | None = Field(description="The case this duplicate is linked to (same account).")
    incident_id: uuid.UUID | None = Field(description="The incident this case joined (one fault, many callers).")
    outage_id: uuid.UUID | None = Field(description="The outage notice this case joined.")
    eta: datetime | None = Field(description="The latest ETA the customer was told (incident or outage).")
    asset_type: str | None = Field(description="The asset the case is about: the diagnosed one, else the caller's.")
    asset_id: str | None
    reopen_count: int
    escalation_level: int
    accepted_at: datetime | None
    first_resolved_at: datetime | None = Field(
        description="Its own work order's first resolution, or when its incident's or outage's fault was fixed."
    )
    closed_at: datetime | None
    close_outcome: str | None
    name_masked: str | None
    phone_masked: str | None
    text: str | None
    owner: str | None = Field(description="Staff id of who took it first (or the owner its work order names).")
    invalid: bool = Field(description="Closed as invalid (no work order); a supervisor's overturn routes it.")
    invalid_reason: str | None = Field(description="Why it is invalid, as the customer was told.")
    resolved_on_contact: bool = Field(description="Settled at first contact (no work order, still called back).")
    handled_on_contact: str | None = Field(description="What the agent explained or did on the call or counter.")
    customer_agitated: bool
    due_at: datetime | None = Field(description="The resolve deadline timeliness holds the case to.")
    root_cause: str | None = Field(description="Root-cause code of its resolution (the lead work order's).")
    root_cause_zh: str | None
    root_cause_en: str | None
    root_cause_note: str | None
    owner_name: str | None = Field(default=None, description="The owner's display name, when a person owns it.")
    received_at: datetime | None = Field(default=None, description="When the channel received it.")


class CaseSummary(CaseFields):
    name: str | None = Field(default=None, description="Only for roles allowed to see contact data.")
    phone: str | None = Field(default=None, description="Only for roles allowed to see contact data.")


class TimelineEntryRead(Read):
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    topic: str
    actor: str = Field(
        description="Who took the step: a person's staff id, a machine credential's name (e.g. a department "
        "system), or `system` (routing, clocks, escalations, closing)."
    )
    actor_name: str | None = Field(description="Their display name, when known.")
    payload: dict[str, Any] = Field(description="The event's payload as published (contact data masked).")


class CauseAnalysisRead(Read):
    summary: str
    analysed_by: str


class WorkOrderRead(Read):
    """One work order of a case: a coordinated case has a lead and assisting ones, and resolves when all are."""

    work_order_id: uuid.UUID
    department: Department
    role: str = Field(description="lead or assisting")
    lead_work_order_id: uuid.UUID | None
    cycle: int
    status: WorkOrderStatus
    area_class: str | None
    assigned_at: datetime | None
    resolve_by: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    root_cause: str | None
    root_cause_zh: str | None
    root_cause_en: str | None
    root_cause_note: str | None
    cause_analysis: CauseAnalysisRead | None
    case_resolved: bool | None = Field(description="Whether its resolution resolved the whole case.")
    resolved_by: str | None = Field(default=None, description="Who resolved it: a staff id or a credential's name.")
    resolved_by_name: str | None = Field(default=None, description="Their display name, as the event gave it.")


class CallbackRead(Read):
    callback_id: uuid.UUID
    department: Department
    cycle: int
    owner: str | None
    due_at: datetime
    scheduled_at: datetime | None
    attempts: int
    outcome: str | None = Field(description="The latest attempt's: satisfied, dissatisfied, unreachable.")
    final: bool
    agent: str | None = Field(description="Who made the latest attempt: a staff id, or a credential's name.")
    agent_name: str | None = Field(default=None, description="Their display name, when a person made it.")
    method: str | None = Field(default=None, description="How the latest attempt reached out: phone, letter, visit.")
    last_attempt_at: datetime | None
    score_supply: int | None = Field(description="Survey marks 1-5 (5 best), when the customer answered.")
    score_attitude: int | None
    score_speed: int | None
    score_billing: int | None


class MessageRead(Read):
    """One message of the case and its latest delivery status (notify's `notification.delivery`)."""

    notification_id: uuid.UUID
    template_id: str
    recipient_kind: str = Field(description="customer or staff")
    channel: str | None = Field(description="sms, wechat, email or console; null while none could be chosen.")
    provider: str | None
    status: str = Field(description="queued, sent, delivered, failed or suppressed")
    reason: str | None = Field(description="Why it is in this status: daily_cap, quiet_hours, a vendor's error code.")
    attempts: int
    provider_message_id: str | None
    requested_at: datetime
    updated_at: datetime = Field(description="When it entered its latest status.")


class CorrectiveActionRead(Read):
    action_id: uuid.UUID
    work_order_id: uuid.UUID | None
    department: Department
    description: str
    owner: str
    deadline: datetime
    status: str = Field(description="open or done")
    set_by: str | None
    set_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    overdue: bool = Field(description="Past its deadline and not done (now), or done only after it.")


class EscalationRead(Read):
    stage: str
    level: int
    escalated_to: str
    ladder: str | None
    department: Department
    reason: str
    deadline: datetime | None
    escalated_at: datetime
    corrective_action_id: uuid.UUID | None
    answer_status: Literal["acknowledged", "answered", "sent_back"] | None = Field(
        default=None,
        description="Issue 24: where the department's answer stands (None while nobody has reacted); every step is "
        "on the timeline (escalation.acknowledged, escalation.answered, escalation.sent_back).",
    )
    action: str | None = Field(default=None, description="The latest answer: what the department is doing.")
    promised_by: datetime | None = Field(default=None, description="The latest answer: by when.")
    late: bool | None = Field(default=None, description="The latest answer came after its limit.")
    answered_by: str | None = Field(default=None, description="Who answered (staff id or credential).")
    answered_by_name: str | None = None
    answered_at: datetime | None = None
    instruction: str | None = Field(default=None, description="The latest instruction it was sent back with.")
    answer_deadline: datetime | None = Field(default=None, description="By when it was sent back to be answered.")


class CaseRead(CaseSummary):
    cause_analysis: CauseAnalysisRead | None
    work_orders: list[WorkOrderRead]
    callbacks: list[CallbackRead]
    corrective_actions: list[CorrectiveActionRead]
    escalations: list[EscalationRead]
    messages: list[MessageRead] = Field(
        default_factory=list, description="Every message of the case (customer and staff), with its latest status."
    )
    timeline: list[TimelineEntryRead] = Field(
        description="Every step in order; a message is one entry (`notification.delivery`), placed when it was "
        "requested and carrying its latest status."
    )


class HouseholdCasesRead(Read):
    account_no: str
    items: list[CaseSummary]
    page: int
    page_size: int
    total: int


class HouseholdCaseRead(Read):
    """One case of a household an agent looked up: what it is about and where it stands; contact data masked."""

    complaint_id: uuid.UUID
    reference_no: str | None
    account_no: str | None
    received_at: datetime | None = Field(description="When the channel received it (else when intake accepted it).")
    accepted_at: datetime | None
    channel: Channel | None
    category: Category | None
    status: str
    open: bool = Field(description="Still being worked on: not resolved, closed or invalid.")
    department: Department | None
    district: str | None
    address: str | None
    name_masked: str | None
    phone_masked: str | None
    text: str | None = Field(description="The complaint, phone numbers in it masked.")
    owner: str | None
    owner_name: str | None
    incident_id: uuid.UUID | None
    outage_id: uuid.UUID | None
    eta: datetime | None


class HouseholdLookupRead(Read):
    accounts: list[str] = Field(description="The households (accounts) found.")
    items: list[HouseholdCaseRead] = Field(description="Their cases: open ones first, then the newest.")
    total: int = Field(description="How many cases match (items holds at most `limit`).")


class OverdueCase(CaseFields):
    """One open work order past its resolve deadline, with its case: `department`, `work_order_id`,
    `work_order_status`, `resolve_by` are the work order's own (an assisting part of a coordinated case is listed
    in its department's name, also after its lead is resolved). An incident's own work order is listed too
    (`kind` incident): its `complaint_id` and `incident_id` are the incident's, `address` its compound and `text`
    its description; it has no customer."""

    kind: Literal["case", "incident"] = Field(
        default="case", description="case: a customer's complaint; incident: one fault's work order"
    )
    role: str = Field(description="lead or assisting")
    lead_work_order_id: uuid.UUID | None = Field(description="An assisting work order's lead.")
    overdue_minutes: int


class OverduePage(Read):
    items: list[OverdueCase]
    total: int
    page: int
    page_size: int


class DepartmentQueue(Read):
    department: Department
    open: int
    overdue: int


class QueuesRead(Read):
    departments: list[DepartmentQueue]


class KpiRow(Read):
    """KPIs of one group. Rates are shares (0-1), null when there is nothing to divide by."""

    key: str = Field(description="The group's value (a department, a day YYYY-MM-DD, ...), or 'total'.")
    received: int
    invalid: int = Field(description="Closed as invalid: in no other denominator (no work order, no callback).")
    valid: int = Field(description="received - invalid")
    resolved_on_contact: int = Field(description="Settled at first contact.")
    first_contact_rate: float | None = Field(description="resolved_on_contact / valid")
    routed: int
    resolved: int = Field(description="Resolved on their own clock (the cases received in the period).")
    resolved_in_time: int
    due: int = Field(
        description="Cases whose resolve deadline fell in the period and had passed or were resolved by now "
        "(by day: the day it fell due): due_in_time + due_late + due_open_overdue."
    )
    due_in_time: int
    due_late: int
    due_open_overdue: int = Field(description="Still open with their deadline passed: they count against timeliness.")
    timeliness_rate: float | None = Field(description="due_in_time / due")
    acknowledged: int
    acknowledged_in_time: int
    ack_in_time_rate: float | None
    fixed_with_group: int = Field(
        description="Resolved with their incident, outage notice or duplicated case: not in timeliness."
    )
    callbacks_done: int = Field(description="Cases received in the period with a callback attempt.")
    callbacks_due: int = Field(
        description="Callbacks due in the period that were made, closed, or are past their due time: "
        "callbacks_completed + callbacks_unreachable + callbacks_missed."
    )
    callbacks_completed: int = Field(description="Reached the customer (satisfied or dissatisfied).")
    callbacks_unreachable: int = Field(description="Closed as unreachable after the last attempt.")
    callbacks_missed: int = Field(description="Past their due time and not completed or closed.")
    callback_attempts: int = Field(description="Attempts made on the callbacks due in the period.")
    callback_coverage: float | None = Field(description="callbacks_completed / callbacks_due")
    score_supply: float | None = Field(description="Mean survey mark 1-5 of the callbacks due in the period.")
    score_supply_n: int
    score_attitude: float | None
    score_attitude_n: int
    score_speed: float | None
    score_speed_n: int
    score_billing: float | None
    score_billing_n: int
    satisfied: int
    dissatisfied: int
    satisfaction_rate: float | None
    reopened: int
    reopen_rate: float | None
    closed: int
    messaged: int = Field(
        description="Cases with at least one customer message not suppressed by the daily cap (queued, sent, "
        "delivered or failed)."
    )
    reached_by_message: int = Field(description="Of those, the cases with at least one customer message delivered.")
    message_reach_rate: float | None = Field(
        description="Customers actually reached by message: reached_by_message / messaged (null when none was due)."
    )
    on_site: int = Field(
        description="Cases whose crew arrived on site for a work order held to an on-site limit (the first arrival)."
    )
    on_site_in_time: int = Field(description="Of those, arrived by the limit.")
    on_site_rate: float | None = Field(
        description="On-site (repair) timeliness, 维修及时率: on_site_in_time / on_site (null when no crew arrived)."
    )
    handling_mean_hours: float | None
    handling_median_hours: float | None
    handling_p90_hours: float | None
    incidents: int | None = Field(description="Incidents opened (each once); null where incidents have no group.")
    incidents_resolved: int | None
    incidents_resolved_in_time: int | None
    incident_timeliness: float | None = Field(description="Incidents resolved by their deadline, of those resolved.")
    incident_households: int | None = Field(description="Households affected by those incidents.")


class KpiReport(Read):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group_by: GroupBy
    rows: list[KpiRow]
    totals: KpiRow


class HotspotRead(Read):
    district: str
    category: Category
    count: int
    baseline: float = Field(description="Average cases per window over the baseline days.")
    ratio: float
    surge: bool
    since: datetime | None = Field(default=None, description="The first hour of the window with cases.")


class AssetHotspotRead(Read):
    asset_type: str
    asset_id: str
    count: int
    baseline: float = Field(description="Average cases per window over the baseline days.")
    ratio: float
    surge: bool
    since: datetime | None = Field(default=None, description="The first hour of the window with cases.")


class HotspotsRead(Read):
    window_hours: int
    baseline_days: int
    rows: list[HotspotRead]
    assets: list[AssetHotspotRead] = Field(description="The same windows per asset (station, feeder, main ...).")


class SurgeRead(Read):
    """One surge happening now: complaints of one district x category (`kind` area) or about one asset (`kind`
    asset) in the alert window, far above their baseline."""

    kind: Literal["area", "asset"]
    district: str | None = Field(default=None, description="area: the district.")
    category: Category | None = Field(default=None, description="area: the category.")
    asset_type: str | None = Field(default=None, description="asset: its type (building, station, feeder ...).")
    asset_id: str | None = Field(default=None, description="asset: its id.")
    count: int = Field(description="Complaints in the alert window.")
    baseline: float = Field(description="Average complaints per window over the baseline days.")
    ratio: float
    since: datetime | None = Field(description="The first hour of the window with complaints (the surge's start).")


class SurgesRead(Read):
    """The surges now (the same figures as `/metrics`' surge gauges and their alert rules), steepest first."""

    window_hours: int
    baseline_days: int
    checked_at: datetime
    surges: list[SurgeRead]


class IncidentRead(Read):
    """An incident: one fault, one work order, many callers."""

    incident_id: uuid.UUID
    reference_no: str
    family: Family
    asset_type: str | None
    asset_id: str | None
    district: str
    compound: str | None
    department: Department
    category: Category
    severity: Severity
    status: str = Field(description="open or resolved")
    households: int = Field(description="Distinct households affected.")
    complaint_count: int = Field(description="Complaints linked to it.")
    eta: datetime | None
    description: str
    work_order_id: uuid.UUID
    work_order_status: WorkOrderStatus | None
    opened_by: str | None
    opened_at: datetime | None
    resolve_by: datetime | None = Field(description="Its work order's resolve deadline.")
    resolved_at: datetime | None
    duration_minutes: int | None = Field(description="Opened to resolved, or to now while open (its age).")
    sla_outcome: SlaOutcome
    resolution: str | None
    root_cause: str | None
    escalations: int = Field(description="Escalations of its clock (each a rung of the ladder).")
    escalation_level: int
    sla_warnings: int


class IncidentsPage(Read):
    items: list[IncidentRead]
    total: int
    page: int
    page_size: int


class OutageRead(Read):
    """An outage notice (planned or declared): callers in its area are told, no crew is sent for them."""

    outage_id: uuid.UUID
    reference_no: str
    kind: str = Field(description="planned or unplanned")
    family: Family
    asset_type: str | None
    asset_id: str | None
    district: str | None
    compound: str | None
    status: str = Field(description="active or ended")
    starts_at: datetime
    expected_end: datetime | None = Field(description="The ETA customers are told.")
    ended_at: datetime | None
    complaint_count: int = Field(description="Complaints linked to it.")
    description: str
    description_en: str | None
    source: str


class OutagesPage(Read):
    items: list[OutageRead]
    total: int
    page: int
    page_size: int


class RepeatComplainant(Read):
    account_no: str
    cases: int
    last_at: datetime


class RepeatComplainantsRead(Read):
    days: int
    min_cases: int
    rows: list[RepeatComplainant]


class StaffRow(Read):
    """One staff member's figures in a period."""

    staff_id: str = Field(description="A person's staff id (or, before persons signed in, a credential's name).")
    staff_name: str | None = Field(description="Their display name, as the events of the period give it.")
    cases_owned: int = Field(description="Cases accepted in the period that they took (own).")
    first_contact_resolutions: int = Field(description="Of those, settled at first contact.")
    work_orders_resolved: int = Field(description="Work orders they resolved in the period themselves.")
    callbacks_done: int = Field(description="Callbacks they made in the period that reached the customer.")
    satisfied: int = Field(description="Final callbacks of their owned cases: satisfied.")
    dissatisfied: int
    unreachable: int
    satisfaction_rate: float | None = Field(description="satisfied / (satisfied + dissatisfied)")
    score_supply: float | None = Field(description="Mean survey marks of their owned cases' final callbacks.")
    score_supply_n: int
    score_attitude: float | None
    score_attitude_n: int
    score_speed: float | None
    score_speed_n: int
    score_billing: float | None
    score_billing_n: int


class StaffReport(Read):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    rows: list[StaffRow]


#: What a line of the leadership report is about: a customer's case, or an incident (one fault, many callers).
SeriousKind = Literal["case", "incident"]


class SeriousCaseRead(Read):
    """A serious or emergency case or incident as leadership sees it: its cause, corrective actions, escalations.
    For an incident, `complaint_id` is the incident's id, `accepted_at` when it was opened, `first_resolved_at`
    when its work order was resolved, `status` open or resolved."""

    complaint_id: uuid.UUID
    reference_no: str | None
    category: Category | None
    department: Department | None
    severity: Severity | None
    district: str | None
    status: str
    accepted_at: datetime | None
    first_resolved_at: datetime | None
    closed_at: datetime | None
    owner: str | None
    cause_analysis: CauseAnalysisRead | None
    root_cause: str | None
    root_cause_zh: str | None
    root_cause_en: str | None
    root_cause_note: str | None
    corrective_actions: list[CorrectiveActionRead]
    escalations: list[EscalationRead]
    kind: SeriousKind = Field(default="case", description="case, or incident (one fault, many callers)")
    households: int | None = Field(default=None, description="An incident's households affected (a case: null).")


class SeriousReport(Read):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    cases: list[SeriousCaseRead] = Field(description="Cases accepted and incidents opened in the period, oldest first.")


class SeriousCsvRow(Read):
    """A line of the leadership report's CSV: one per corrective action (a case without any still gets one)."""

    reference_no: str | None
    category: str | None
    department: str | None
    severity: str | None
    district: str | None
    status: str
    accepted_at: datetime | None
    cause_analysis: str | None
    analysed_by: str | None
    root_cause: str | None
    root_cause_zh: str | None
    root_cause_en: str | None
    root_cause_note: str | None
    escalations: int
    escalated_to: str | None = Field(description="The highest rung reached (the last escalation's).")
    action_description: str | None
    action_owner: str | None
    action_deadline: datetime | None
    action_status: str | None
    action_completed_at: datetime | None
    action_overdue: bool | None
    kind: SeriousKind = Field(default="case", description="case, or incident (one fault, many callers)")


RootCauseBy = Literal["department", "asset", "district", "month"]


class RootCauseRow(Read):
    key: str | None = Field(description="The group (department, asset type:id, district, month YYYY-MM); null: none.")
    code: str
    label_zh: str | None
    label_en: str | None
    count: int = Field(description="Work orders resolved in the period with this root cause.")


class RootCausesReport(Read):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    by: RootCauseBy
    rows: list[RootCauseRow]


class PersonalDataReadEntry(Read):
    """One read of customers' personal data in reporting (the access log)."""

    at: datetime
    reader: str = Field(description="A person's staff id, or a reader key's name.")
    reader_name: str | None
    reader_kind: Literal["person", "key"]
    role: str | None = Field(description="A key's role.")
    endpoint: str = Field(description="Method and route template, e.g. GET /v1/cases.csv.")
    subject: str = Field(description="Whose: a period, an account number, a reference number, the lookup's keys.")
    what: list[str] = Field(description="The personal fields shown.")


class PersonalDataReads(Read):
    items: list[PersonalDataReadEntry] = Field(description="Newest first.")
