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

from services.reporting.model import GroupBy
from shared.contracts import Category, Channel, Department, Severity, WorkOrderStatus


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
    status: str = Field(description="received, assigned, acknowledged, in_progress, resolved, linked, reopened, closed")
    cycle: int
    work_order_id: uuid.UUID | None
    work_order_status: WorkOrderStatus | None
    acknowledge_by: datetime | None
    resolve_by: datetime | None
    linked_to: uuid.UUID | None = Field(description="The incident's case this one is linked to.")
    reopen_count: int
    escalation_level: int
    accepted_at: datetime | None
    first_resolved_at: datetime | None
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


class HotspotsRead(Read):
    window_hours: int
    baseline_days: int
    rows: list[HotspotRead]


class RepeatComplainant(Read):
    account_no: str
    cases: int
    last_at: datetime


class RepeatComplainantsRead(Read):
    days: int
    min_cases: int
    rows: list[RepeatComplainant]
