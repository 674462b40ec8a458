"""HTTP request and response models of the coordination by the customer-service centre (seed 002)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import Department


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CoordinationCreate(_Strict):
    complaint: str = Field(
        min_length=1, max_length=64, description="The case: its complaint id or reference number (TS-…)."
    )
    lead: Department | None = Field(default=None, description="The lead department; absent: the one leading now.")
    assisting: list[Department] = Field(default_factory=list, max_length=3, description="Departments assisting.")
    note: str = Field(min_length=1, max_length=1000, description="Why the centre coordinates it.")


class LeadChange(_Strict):
    department: Department = Field(description="The department that leads from now on.")
    note: str = Field(min_length=1, max_length=1000)


class PartCreate(_Strict):
    department: Department = Field(description="The department asked to assist.")
    note: str = Field(min_length=1, max_length=1000, description="What it is asked to do.")


class DeadlineSet(_Strict):
    resolve_by: AwareDatetime = Field(description="The part's new deadline to resolve; later than now.")
    note: str = Field(default="", max_length=1000)


class InstructionCreate(_Strict):
    work_order_id: uuid.UUID | None = Field(default=None, description="The part instructed; absent: every open part.")
    instruction: str = Field(min_length=1, max_length=2000)


class PartRead(BaseModel):
    work_order_id: uuid.UUID
    department: Department
    role: str
    status: str
    category: str
    severity: str
    acknowledge_by: datetime
    resolve_by: datetime
    overdue: bool = Field(description="Open and past its deadline to resolve.")


class SteeringStep(BaseModel):
    action: str = Field(description="coordinated, assist, lead_changed, deadline_set or instructed.")
    work_order_id: uuid.UUID
    department: Department
    actor: str
    actor_name: str
    details: dict[str, Any]
    at: datetime


class CoordinationRead(BaseModel):
    complaint_id: uuid.UUID
    reference_no: str
    text: str
    category: str
    severity: str
    opened_by: str
    opened_by_name: str
    opened_at: datetime
    note: str
    lead_department: Department | None = Field(description="The department of the open lead part (null: none open).")
    parts: list[PartRead]
    steps: list[SteeringStep] = Field(default_factory=list, description="Oldest first (one case's read only).")


class CoordinationList(BaseModel):
    items: list[CoordinationRead]
