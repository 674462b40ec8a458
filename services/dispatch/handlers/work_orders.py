"""A work order's lifecycle with its department: a step (acknowledge, start, note, resolve, return, and the field
steps) from HTTP or a department system's update, checked, applied and announced in one unit of work.

Who may take it is `Actor.may_act_on` (model.py); which step is allowed when, `workorders/lifecycle.py`; what it
writes, `steps.py`, `field_work.py` and `resolution.py`. A return re-routes the case (`route.returned`), or hands an
assisting work order back to its lead (`coordination.py`); a resolution sets the corrective actions it carries and,
once the whole case is resolved, tells everyone waiting on it (an incident's callers, the case's duplicates).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from services.dispatch import events
from services.dispatch.department_ingress import DepartmentUpdate, to_command
from services.dispatch.errors import Forbidden, NotFound
from services.dispatch.field_work import FIELD_ACTIONS, FieldEffects, acceptance_of, field_effects, field_event
from services.dispatch.handlers import corrective_actions, incidents, route, serious_cases
from services.dispatch.handlers.callers import tell_fixed
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.handlers.coordination import check_hand_back, lead_of, others_open
from services.dispatch.model import Actor, Case, CorrectiveAction, Incident, Step, WorkOrder, WorkOrderView
from services.dispatch.repository import DispatchRepository
from services.dispatch.resolution import AcceptedResolution, accept_resolution
from services.dispatch.steps import not_theirs, step_effects, step_event
from services.dispatch.workorders.lifecycle import Action, next_status
from shared.contracts import WorkOrderStatus


@dataclass(frozen=True)
class Act:
    """A step on a work order by an actor (a department's staff or system, a crew member, a supervisor)."""

    work_order_id: uuid.UUID
    step: Step
    actor: Actor


@dataclass(frozen=True)
class Effects:
    """What a step writes on the work order and records in its history, and what it was checked to be: an accepted
    resolution, a field step's effects, or an assisting work order's lead it goes back to."""

    written: dict[str, Any]
    details: dict[str, Any]
    accepted: AcceptedResolution | None = None
    fieldwork: FieldEffects | None = None
    lead: WorkOrder | None = None


async def department_update(update: DepartmentUpdate, work: DispatchWork) -> None:
    """A department system's step (`ingress.department-updates`), with the same effects as over HTTP."""
    step, actor = to_command(update)
    await act(Act(update.work_order_id, step, actor), work)


async def act(command: Act, work: DispatchWork) -> WorkOrderView:
    """Apply a step; raises NotFound, Forbidden, IllegalTransition, Conflict or a refusal naming the field."""
    repo, step, actor, now = work.repo, command.step, command.actor, work.now
    incident = await _incident_of(repo, command.work_order_id)
    order = await repo.get_work_order(command.work_order_id, lock=True)
    if order is None:
        raise NotFound(f"no work order {command.work_order_id}")
    if not actor.may_act_on(order):
        raise Forbidden(not_theirs(order, actor))
    case = incident.as_case() if incident else await repo.get_case(order.complaint_id, lock=True)
    assert case is not None
    target = next_status(step.action, WorkOrderStatus(order.status))
    effects = await _effects(work, step, order, actor)
    changes: dict[str, Any] = {"status": target.value, "updated_at": now, **effects.written}
    await repo.update_work_order(order.work_order_id, **changes)
    await repo.add_history(
        work_order_id=order.work_order_id,
        action=step.action.value,
        from_status=order.status,
        to_status=target.value,
        actor=actor.name,
        actor_name=actor.label,
        details=effects.details,
        at=now,
    )
    updated = replace(order, **changes)
    if step.action is Action.ACKNOWLEDGE and incident is None and case.owner is None:
        # Nobody took it before: the department that signs for its work order owns the case.
        await repo.update_case(case.complaint_id, owner=actor.name, owner_name=actor.label)
        case = replace(case, owner=actor.name, owner_name=actor.label)
    await _announce(work, command, order, updated, case, effects)
    actions: tuple[CorrectiveAction, ...] = ()
    if effects.accepted is not None:
        actions = tuple(await repo.corrective_actions(complaint_id=updated.complaint_id))
    return WorkOrderView(updated, await repo.history(updated.work_order_id), actions, case=case)


async def _incident_of(repo: DispatchRepository, work_order_id: uuid.UUID) -> Incident | None:
    """The incident whose work order this is, locked before the work order (the order routing locks them in, so a
    resolution and a joining caller never wait on each other in a cycle)."""
    peek = await repo.get_work_order(work_order_id)
    if peek is None or peek.incident_id is None:
        return None
    return await repo.get_incident(peek.incident_id, lock=True)


async def _effects(work: DispatchWork, step: Step, order: WorkOrder, actor: Actor) -> Effects:
    """The step checked against the work order, and what it writes (refusals name the field)."""
    if step.action is Action.RESOLVE:
        step = await serious_cases.approved_step(work, order, step)
        accepted = accept_resolution(
            step,
            department=order.department,
            severity=order.severity,
            role=order.role,
            catalogue=work.context.root_causes,
            now=work.now,
        )
        written, details = accepted.effects(actor.name, work.now)
        acceptance = acceptance_of(step)
        if acceptance is not None:
            written, details = {**written, "acceptance": acceptance}, {**details, "acceptance": acceptance}
        return Effects(written, details, accepted=accepted)
    if step.action is Action.RETURN and order.role == "assisting":
        lead = await check_hand_back(work.repo, order)
        return Effects(*step_effects(step, order, work.now), lead=lead)
    if step.action in FIELD_ACTIONS:
        fieldwork = field_effects(step, order, work.context.crews, actor, work.now)
        return Effects(fieldwork.written, fieldwork.details, fieldwork=fieldwork)
    return Effects(*step_effects(step, order, work.now))


async def _announce(
    work: DispatchWork, command: Act, before: WorkOrder, order: WorkOrder, case: Case, effects: Effects
) -> None:
    """What follows from the step: its event, and for a return or a resolution what they set in motion."""
    step, actor, now = command.step, command.actor, work.now
    if step.action is Action.RETURN and effects.lead is not None:
        # An assisting work order handed back: the case stays with its lead (no re-routing).
        work.emit(events.returned(order, case, actor, now, step.reason or "", effects.lead))
    elif step.action is Action.RETURN:
        await route.returned(work, case, order, step, actor)
    elif effects.accepted is not None:
        await _resolved(work, case, order, effects.accepted, actor)
    elif effects.fieldwork is not None:
        if effects.fieldwork.finding is not None:
            await work.repo.insert_finding(effects.fieldwork.finding)
        if effects.fieldwork.photo is not None:
            await work.repo.insert_photo(effects.fieldwork.photo)
        work.emit(field_event(step, before, order, case, actor, now, effects.fieldwork))
    else:
        work.emit(step_event(step, order, case, actor, now))


async def _resolved(
    work: DispatchWork, case: Case, resolved: WorkOrder, accepted: AcceptedResolution, actor: Actor
) -> None:
    """`workorder.resolved` (the case resolved only when no other work order of it is open), the corrective actions
    the resolution set, and — once the whole case is resolved — everyone waiting on it told."""
    case_resolved = not await others_open(work.repo, resolved)
    cause = accepted.cause.as_contract()
    work.emit(events.resolved(resolved, case, actor, work.now, cause=cause, case_resolved=case_resolved))
    await corrective_actions.record(
        work,
        accepted.corrective_actions,
        case=case,
        work_order=resolved,
        department=resolved.department,
        severity=resolved.severity,
        actor=actor.name,
    )
    if not case_resolved:
        return
    lead = resolved if resolved.role == "lead" else await lead_of(work.repo, resolved)
    told = lead if lead.status == WorkOrderStatus.RESOLVED.value else resolved
    if told.incident_id is not None:
        # A resolution fixes the fault for everyone waiting on it: an incident's callers...
        await incidents.resolved(work, told, actor.name)
        return
    # ...or the same-account duplicates linked to this case.
    duplicates = await work.repo.unfixed_duplicates_of(case.complaint_id)
    await tell_fixed(work, duplicates, work_order=told, department=told.department, resolution=told.resolution or "")
