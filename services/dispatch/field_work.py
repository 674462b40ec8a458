"""Field work on a work order: sending a crew, agreeing a visit window with the customer, what the crew records on
site (findings, photos), and a visit the customer was not at home for.

Pure rules, like `resolution.py`: each step checked against the work order (422 `Invalid` naming the field, 403 when a
crew member would send a crew), then what it writes on the work order, what its history entry records, the row it
adds (a finding, a photo) and the event it publishes on the department's topic. The work-order use case
(`handlers/work_orders.py` `act`) applies them in its one unit of work, after the state machine
(`workorders/lifecycle.py`) allowed the step in the work order's status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.dispatch import events
from services.dispatch.crews import Crews
from services.dispatch.model import Actor, Case, Finding, Forbidden, Invalid, Photo, Step, WorkOrder
from services.dispatch.workorders.lifecycle import Action
from shared.contracts import Event

FIELD_ACTIONS = frozenset(
    {Action.ASSIGN_CREW, Action.AGREE_APPOINTMENT, Action.RECORD_FINDINGS, Action.ADD_PHOTO, Action.NOT_AT_HOME}
)
#: What a thermometer in a flat can plausibly read; anything else is a typing slip.
MIN_INDOOR_C, MAX_INDOOR_C = -40.0, 60.0


class FieldStepRefused(Invalid):
    """A field step that cannot be taken as given: `field` names the request's field (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


@dataclass(frozen=True)
class FieldEffects:
    written: dict[str, Any]
    details: dict[str, Any]
    finding: Finding | None = None
    photo: Photo | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _window(step: Step, start_field: str, end_field: str) -> tuple[datetime, datetime]:
    if step.window_start is None or step.window_end is None:
        raise FieldStepRefused(start_field, f"{start_field} and {end_field} are required")
    if step.window_end <= step.window_start:
        raise FieldStepRefused(end_field, f"{end_field} must be after {start_field}")
    return step.window_start, step.window_end


def field_effects(step: Step, order: WorkOrder, crews: Crews, actor: Actor, now: datetime) -> FieldEffects:
    """What a field step does to `order`, or FieldStepRefused / Forbidden."""
    if step.action is Action.ASSIGN_CREW:
        if not actor.may_handle(order.department):
            raise Forbidden("only the department's dispatchers (or a supervisor) send a crew")
        crew = crews.get(step.crew or "")
        if crew is None or crew.department != order.department:
            known = ", ".join(c.crew for c in crews.of(order.department)) or "none"
            raise FieldStepRefused("crew", f"{step.crew!r} is not a crew of {order.department} (crews: {known})")
        details: dict[str, Any] = {"crew": crew.crew, "previous_crew": order.crew, "note": step.note}
        return FieldEffects({"crew": crew.crew}, details, extra={"crew": crew, "previous": order.crew})
    if step.action is Action.AGREE_APPOINTMENT:
        start, end = _window(step, "window_start", "window_end")
        written = {"appointment_start": start, "appointment_end": end, "appointment_note": step.note}
        details = {"window_start": start.isoformat(), "window_end": end.isoformat(), "note": step.note}
        return FieldEffects(written, details)
    if step.action is Action.NOT_AT_HOME:
        start, end = _window(step, "next_visit_start", "next_visit_end")
        written = {"appointment_start": start, "appointment_end": end, "appointment_note": step.note}
        details = {
            "missed_window_start": order.appointment_start.isoformat() if order.appointment_start else None,
            "next_window_start": start.isoformat(),
            "next_window_end": end.isoformat(),
            "note": step.note,
        }
        return FieldEffects(written, details)
    if step.action is Action.RECORD_FINDINGS:
        temperature = step.indoor_temperature_c
        if temperature is not None and not MIN_INDOOR_C <= temperature <= MAX_INDOOR_C:
            raise FieldStepRefused("indoor_temperature_c", "an indoor temperature is between -40 and 60 °C")
        if temperature is None and not step.note:
            raise FieldStepRefused("indoor_temperature_c", "record a measured temperature or a note")
        finding = Finding(
            finding_id=uuid.uuid4(),
            work_order_id=order.work_order_id,
            indoor_temperature_c=round(temperature, 1) if temperature is not None else None,
            note=step.note,
            actor=actor.name,
            actor_name=actor.label,
            at=now,
        )
        details = {
            "finding_id": str(finding.finding_id),
            "indoor_temperature_c": finding.indoor_temperature_c,
            "note": step.note,
        }
        return FieldEffects({}, details, finding=finding)
    if step.action is Action.ADD_PHOTO:
        assert step.photo is not None, "the photo is stored before its step is taken"
        photo = step.photo
        details = {"photo_id": str(photo.photo_id), "content_type": photo.content_type, "size_bytes": photo.size_bytes}
        return FieldEffects({}, details, photo=photo)
    raise ValueError(f"{step.action.value} is not a field step")


def field_event(
    step: Step, before: WorkOrder, after: WorkOrder, case: Case, actor: Actor, at: datetime, effects: FieldEffects
) -> Event:
    """The event a field step publishes on the department's topic."""
    if step.action is Action.ASSIGN_CREW:
        return events.crew_assigned(after, case, actor, at, effects.extra["crew"], effects.extra["previous"], step.note)
    if step.action is Action.AGREE_APPOINTMENT:
        return events.appointment_agreed(after, case, actor, at, step.note)
    if step.action is Action.NOT_AT_HOME:
        return events.visit_missed(after, case, actor, at, before, step.note)
    if step.action is Action.RECORD_FINDINGS:
        assert effects.finding is not None
        return events.findings_recorded(after, case, actor, effects.finding)
    assert effects.photo is not None
    return events.photo_added(after, case, actor, effects.photo)


def acceptance_of(step: Step) -> dict[str, Any] | None:
    """A resolution's customer acceptance as stored and published ({customer_name, confirmed, note})."""
    if step.acceptance is None:
        return None
    name = str(step.acceptance.get("customer_name") or "").strip()
    if not name:
        raise FieldStepRefused("acceptance.customer_name", "the customer's acceptance names the customer")
    return {
        "customer_name": name,
        "confirmed": bool(step.acceptance.get("confirmed")),
        "note": step.acceptance.get("note"),
    }
