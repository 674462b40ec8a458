"""Department systems drive work orders through `ingress.department-updates`, with the same effects
as the HTTP API. Producers are authenticated by the topic's ACL; a message may act only on its own
department's work orders (`Actor.may_handle`), and anything that cannot apply is dead-lettered with the reason.

Version 2 adds what a resolution carries over HTTP: `root_cause_note`, `cause_analysis` and `corrective_actions`
(required on a serious or emergency case's lead work order: without them the update is dead-lettered with the
reason; an assisting work order needs only its root cause). A v1
message still applies: department systems send free text as the root cause, so a root cause that is not a code of
the department's catalogue is filed under `<department>.other` with the text kept as the note (resolution.py)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.dispatch.model import Actor, CorrectiveActionPlan, Step
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Department

DEPARTMENT_UPDATE_VERSION = 2
_REQUIRED = {"note": ("note",), "resolve": ("resolution", "root_cause"), "return": ("reason",)}


class CorrectiveActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=120, description="Who carries it out (a person or a unit).")
    deadline: AwareDatetime = Field(description="In the future.")


class DepartmentUpdate(BaseModel):
    """One step on a work order, sent by a department's own system (version 2; a version 1 message is valid)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    update_id: uuid.UUID = Field(description="Unique per update; a redelivered update changes nothing.")
    work_order_id: uuid.UUID
    department: Department
    actor: str = Field(min_length=1, max_length=64, description="The department's user or system.")
    action: Literal["acknowledge", "start", "note", "resolve", "return"]
    note: str | None = Field(default=None, max_length=2000)
    resolution: str | None = Field(default=None, max_length=2000)
    root_cause: str | None = Field(
        default=None,
        max_length=500,
        description="A code of the department's root-cause catalogue; free text is filed under <department>.other.",
    )
    root_cause_note: str | None = Field(default=None, max_length=2000, description="v2")
    cause_analysis: str | None = Field(
        default=None, max_length=4000, description="v2: required on serious and emergency work orders."
    )
    corrective_actions: list[CorrectiveActionIn] = Field(
        default_factory=list,
        max_length=20,
        description="v2: at least one on serious and emergency work orders.",
    )
    reason: str | None = Field(default=None, max_length=1000)
    suggested_department: Department | None = None

    @property
    def event_id(self) -> uuid.UUID:
        """The key of the update's processed mark (the door deduplicates by it): its `update_id`."""
        return self.update_id

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
        root_cause_note=update.root_cause_note,
        cause_analysis=update.cause_analysis,
        corrective_actions=tuple(
            CorrectiveActionPlan(a.description, a.owner, a.deadline) for a in update.corrective_actions
        ),
        free_text_root_cause=True,
    )
    return step, Actor(name=f"{update.department.value}:{update.actor}", department=update.department)
