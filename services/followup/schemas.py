"""HTTP models of followup."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import CallbackOutcome


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: CallbackOutcome
    note: str | None = Field(default=None, max_length=2000)


class ContactRead(BaseModel):
    name: str | None
    phone: str | None
    email: str | None
    wechat_openid: str | None
    preferred_contact: str


class CallbackRead(BaseModel):
    callback_id: uuid.UUID
    complaint_id: uuid.UUID
    reference_no: str
    work_order_id: uuid.UUID
    department: str
    cycle: int
    resolution: str | None
    due_at: datetime
    overdue: bool
    status: str
    attempts: int
    next_attempt_at: datetime
    last_note: str | None
    contact: ContactRead | None = Field(description="Who to call; only agents and supervisors see it.")


class Worklist(BaseModel):
    items: list[CallbackRead]
    page: int
    page_size: int
    total: int


class TimerRead(BaseModel):
    kind: str
    stage: str
    level: int
    due_at: datetime
    deadline: datetime | None
    fired_at: datetime | None
    cancelled_at: datetime | None


class EscalationRead(BaseModel):
    stage: str
    level: int
    escalated_to: str
    reason: str
    at: datetime


class SlaRead(BaseModel):
    complaint_id: uuid.UUID
    timers: list[TimerRead]
    escalations: list[EscalationRead]
