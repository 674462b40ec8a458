"""HTTP response models of reporting (`XRead`): what each JSON endpoint answers, field by field.

Fields appear in the order the answers have always had. Contact data (`name`, `phone`) is present only
for roles allowed to see it and only when the case has it, so those routes answer with
`response_model_exclude_unset`: a field nobody set is left out, not sent as null.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

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


class CaseSummary(CaseFields):
    name: str | None = Field(default=None, description="Only for roles allowed to see contact data.")
    phone: str | None = Field(default=None, description="Only for roles allowed to see contact data.")


class TimelineEntryRead(Read):
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    topic: str
    payload: dict[str, Any] = Field(description="The event's payload as published (contact data masked).")


class CaseRead(CaseSummary):
    timeline: list[TimelineEntryRead]


class HouseholdCasesRead(Read):
    account_no: str
    items: list[CaseSummary]
    page: int
    page_size: int
    total: int


class OverdueCase(CaseFields):
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
    routed: int
    resolved: int
    resolved_in_time: int
    timeliness_rate: float | None
    acknowledged: int
    acknowledged_in_time: int
    ack_in_time_rate: float | None
    fixed_with_group: int = Field(
        description="Resolved with their incident, outage notice or duplicated case: not in timeliness."
    )
    callbacks_done: int
    callback_coverage: float | None
    satisfied: int
    dissatisfied: int
    satisfaction_rate: float | None
    reopened: int
    reopen_rate: float | None
    closed: int
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


class AssetHotspotRead(Read):
    asset_type: str
    asset_id: str
    count: int
    baseline: float = Field(description="Average cases per window over the baseline days.")
    ratio: float
    surge: bool


class HotspotsRead(Read):
    window_hours: int
    baseline_days: int
    rows: list[HotspotRead]
    assets: list[AssetHotspotRead] = Field(description="The same windows per asset (station, feeder, main ...).")


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
