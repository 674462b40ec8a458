"""Department systems drive work orders through `ingress.department-updates`, with the same effects
as the HTTP API. Producers are authenticated by the topic's ACL; a message may act only on its own
department's work orders (`Actor.may_handle`), and anything that cannot apply is dead-lettered with the reason."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.dispatch.model import Actor, Step
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department

DEPARTMENT_UPDATE_VERSION = 1
_REQUIRED = {"note": ("note",), "resolve": ("resolution", "root_cause"), "return": ("reason",)}


class DepartmentUpdate(BaseModel):
    """One step on a work order, sent by a department's own system (version 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    update_id: uuid.UUID = Field(description="Unique per update; a redelivered update changes nothing.")
    work_order_id: uuid.UUID
    department: Department
    actor: str = Field(min_length=1, max_length=64, description="The department's user or system.")
    action: Literal["acknowledge", "start", "note", "resolve", "return"]
    note: str | None = Field(default=None, max_length=2000)
    resolution: str | None = Field(default=None, max_length=2000)
    root_cause: str | None = Field(default=None, max_length=500)
    reason: str | None = Field(default=None, max_length=1000)
    suggested_department: Department | None = None

    @model_validator(mode="after")
    def _fields_for_action(self) -> DepartmentUpdate:
        missing = [f for f in _REQUIRED.get(self.action, ()) if not getattr(self, f)]
        if missing:
            raise ValueError(f"action {self.action!r} needs {', '.join(missing)}")
        return self


def to_command(update: DepartmentUpdate) -> tuple[Step, Actor]:
    """The step, and who takes it: the department's system, named after its department in the audit trail."""
    step = Step(
        Action(update.action),
        note=update.note,
        resolution=update.resolution,
        root_cause=update.root_cause,
        reason=update.reason,
        suggested_department=update.suggested_department,
    )
    return step, Actor(name=f"{update.department.value}:{update.actor}", department=update.department)
