"""HTTP models of the console's JSON API: the staff directory and who is on duty."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class StaffRead(BaseModel):
    staff_id: str
    display_name: str
    display_name_en: str | None
    roles: list[str]
    department: str | None
    crew: str | None
    contact: str | None = Field(description="Where staff notices go (e-mail, phone or pager).")
    active: bool
    phone: str | None = Field(
        default=None, description="Where an urgent staff notice's SMS goes (digits, optional leading +); or none."
    )


class StaffList(BaseModel):
    items: list[StaffRead]


class OnDutyRead(BaseModel):
    duty: str
    department: str | None
    starts_at: datetime
    ends_at: datetime | None
    staff: StaffRead


class OnDutyList(BaseModel):
    duty: str
    department: str | None
    at: datetime
    items: list[OnDutyRead] = Field(description="Who holds the duty now, latest start first (empty: nobody).")
