"""HTTP request and response models of dispatch."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import Category, Department, Severity, WorkOrderStatus


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoteCreate(Strict):
    note: str = Field(min_length=1, max_length=2000)


class ResolutionCreate(Strict):
    resolution: str = Field(min_length=1, max_length=2000, description="What was done.")
    root_cause: str = Field(min_length=1, max_length=500, description="Why it happened.")


class ReturnCreate(Strict):
    reason: str = Field(min_length=1, max_length=1000, description="Why this is not our department's.")
    suggested_department: Department | None = None


class ReclassifyCreate(Strict):
    category: Category
    severity: Severity | None = None
    reason: str = Field(min_length=1, max_length=1000)


class HistoryEntry(BaseModel):
    action: str
    from_status: str | None
    to_status: str
    actor: str
    details: dict[str, Any]
    at: datetime


class WorkOrderRead(BaseModel):
    work_order_id: uuid.UUID
    complaint_id: uuid.UUID
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
    root_cause: str | None
    closing_reason: str | None
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry] = []


class QueuePage(BaseModel):
    department: Department
    items: list[WorkOrderRead]
    page: int
    page_size: int
    total: int
