"""Multi-department cases steered by the customer-service centre (seed 002: "a complaint that needs several
departments has one lead department coordinating the others"; the centre coordinates).

A customer-service supervisor (role `supervisor`, department `customer_service`: `auth.Coordinator`) opens a case
for coordination — a lead part and assisting parts, each a work order of its department (the assisting ones open
through `coordination.assist`, as when a department asks for help) — and steers it:

- change the lead: the new lead's department gets a part if it has none; the previous lead and every other part then
  assist the new lead (the case is resolved when every part is, as before);
- add an assisting part; set a part's deadline to resolve (later than now); give a part (or every open part) an
  instruction.

Each step is a history entry of the part it touches and a work-order event on that department's topic
(`workorder.coordinated`, `workorder.lead_changed`, `workorder.deadline_set`, `workorder.instructed`; an added part is
the `workorder.assigned` of role `assisting`), so the department's queue, the case timeline (reporting) and the live
pages see it. Departments keep asking each other for help (`assist`) as before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.errors import Conflict, Invalid, NotFound
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.handlers.coordination import Assist, assist
from services.dispatch.model import Actor, Case, WorkOrder
from services.dispatch.repository import DispatchRepository
from services.dispatch.repository.coordination import CoordinatedCase
from shared.contracts import Department, Event, new_event
from shared.contracts.dispatch import (
    CoordinatedPart,
    WorkOrderCoordinated,
    WorkOrderCoordinatedPayload,
    WorkOrderDeadlineSet,
    WorkOrderDeadlineSetPayload,
    WorkOrderInstructed,
    WorkOrderInstructedPayload,
    WorkOrderLeadChanged,
    WorkOrderLeadChangedPayload,
)
from shared.logging import bind_case, get_logger

log = get_logger(__name__)
#: The history actions of steering, as a part's audit trail and the coordination page show them.
STEERING_ACTIONS = frozenset({"coordinated", "lead_changed", "deadline_set", "instructed", "assist"})


@dataclass(frozen=True)
class Coordination:
    """A coordinated case as the centre reads it: the case, its parts (lead first, then by age) and the steps."""

    coordinated: CoordinatedCase
    case: Case
    parts: list[WorkOrder]
    steps: list[dict[str, Any]]


# --- reads ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Show:
    key: uuid.UUID | str


@dataclass(frozen=True)
class Find:
    limit: int


async def show(query: Show, work: DispatchWork) -> Coordination:
    """One coordinated case by complaint id or reference number; NotFound when the centre does not coordinate it."""
    case = await _case(work.repo, query.key, lock=False)
    coordinated = await work.repo.coordinated_case(case.complaint_id)
    if coordinated is None:
        raise NotFound(f"the customer-service centre does not coordinate {case.reference_no}")
    return await _read(work.repo, coordinated, case, steps=True)


async def find(query: Find, work: DispatchWork) -> list[Coordination]:
    """The coordinated cases, newest first, each with its parts."""
    found = await work.repo.coordinated_cases(limit=query.limit)
    cases = await work.repo.cases(c.complaint_id for c in found)
    return [await _read(work.repo, c, cases[c.complaint_id], steps=False) for c in found if c.complaint_id in cases]


async def _read(repo: DispatchRepository, coordinated: CoordinatedCase, case: Case, *, steps: bool) -> Coordination:
    parts = _current(case, await repo.work_orders_of_case(case.complaint_id))
    taken: list[dict[str, Any]] = []
    for part in parts if steps else ():
        for entry in await repo.history(part.work_order_id):
            if entry["action"] in STEERING_ACTIONS:
                taken.append({**entry, "work_order_id": part.work_order_id, "department": part.department})
    taken.sort(key=lambda e: e["at"])
    return Coordination(coordinated, case, parts, taken)


def _current(case: Case, orders: list[WorkOrder]) -> list[WorkOrder]:
    """The parts of the case's current cycle, lead first (replaced leads, returned parts included: closed)."""
    current = [o for o in orders if o.cycle == case.cycle and o.incident_id is None]
    return sorted(current, key=lambda o: (o.role != "lead" or o.status in _CLOSED, o.created_at))


_CLOSED = frozenset({"returned", "reassigned", "merged"})


# --- opening -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    """Open a case for coordination: `lead` (None: the department leading it now) and assisting departments."""

    key: uuid.UUID | str
    lead: Department | None
    assisting: tuple[Department, ...]
    note: str
    actor: Actor


async def open_case(command: Open, work: DispatchWork) -> Coordination:
    """Raises NotFound (no such case), Conflict (already coordinated; no open lead work order: in triage, settled,
    closed or part of an incident), Invalid naming `assisting` (the lead's own department among them)."""
    repo, actor = work.repo, command.actor
    case = await _case(repo, command.key, lock=True)
    existing = await repo.coordinated_case(case.complaint_id)
    if existing is not None:
        raise Conflict(f"{case.reference_no} is coordinated since {existing.opened_at.isoformat()}")
    lead = await _open_lead(repo, case)
    wanted = command.lead or Department(lead.department)
    if wanted in command.assisting:
        raise Invalid(f"{wanted.value} leads this case: it cannot also assist", field="assisting")
    for department in dict.fromkeys((*command.assisting, wanted)):
        await _part_of(work, case, lead, department, command.note, actor)
    if wanted.value != lead.department:
        lead = await _swap_lead(work, case, lead, wanted, command.note, actor)
    coordinated = CoordinatedCase(case.complaint_id, case.reference_no, actor.name, actor.label, work.now, command.note)
    await repo.insert_coordinated_case(coordinated)
    await _history(work, lead, "coordinated", actor, {"note": command.note})
    parts = await _parts(repo, case)
    payload = WorkOrderCoordinatedPayload(**_facts(lead, case, actor, work.now), note=command.note, parts=parts)
    work.emit(_event(WorkOrderCoordinated, payload, case, work.now))
    log.info("case coordinated by the customer-service centre", lead=lead.department, parts=len(parts))
    return await _read(repo, coordinated, case, steps=True)


# --- steering ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeLead:
    complaint_id: uuid.UUID
    department: Department
    note: str
    actor: Actor


async def change_lead(command: ChangeLead, work: DispatchWork) -> Coordination:
    """Make `department`'s part the lead (opening one for it when it has none). Invalid when it leads already."""
    coordinated, case = await _coordinated(work.repo, command.complaint_id)
    lead = await _open_lead(work.repo, case)
    if command.department.value == lead.department:
        raise Invalid(f"{command.department.value} leads this case already", field="department")
    await _part_of(work, case, lead, command.department, command.note, command.actor)
    await _swap_lead(work, case, lead, command.department, command.note, command.actor)
    return await _read(work.repo, coordinated, case, steps=True)


@dataclass(frozen=True)
class AddPart:
    complaint_id: uuid.UUID
    department: Department
    note: str
    actor: Actor


async def add_part(command: AddPart, work: DispatchWork) -> Coordination:
    """An assisting part for `department` (Invalid when it leads or assists already: `coordination.assist`)."""
    coordinated, case = await _coordinated(work.repo, command.complaint_id)
    lead = await _open_lead(work.repo, case)
    await assist(Assist(lead.work_order_id, command.department, command.note, command.actor), work)
    return await _read(work.repo, coordinated, case, steps=True)


@dataclass(frozen=True)
class SetDeadline:
    complaint_id: uuid.UUID
    work_order_id: uuid.UUID
    resolve_by: datetime
    note: str
    actor: Actor


async def set_deadline(command: SetDeadline, work: DispatchWork) -> Coordination:
    """The part's deadline to resolve, later than now (Invalid naming `resolve_by` otherwise)."""
    coordinated, case = await _coordinated(work.repo, command.complaint_id)
    part = await _open_part(work.repo, case, command.work_order_id)
    if command.resolve_by <= work.now:
        raise Invalid("a part's deadline must be later than now", field="resolve_by")
    previous = part.resolve_by
    await work.repo.update_work_order(part.work_order_id, resolve_by=command.resolve_by, updated_at=work.now)
    details = {"resolve_by": command.resolve_by.isoformat(), "previous": previous.isoformat(), "note": command.note}
    await _history(work, part, "deadline_set", command.actor, details)
    payload = WorkOrderDeadlineSetPayload(
        **_facts(part, case, command.actor, work.now),
        resolve_by=command.resolve_by,
        previous_resolve_by=previous,
        note=command.note,
    )
    work.emit(_event(WorkOrderDeadlineSet, payload, case, work.now))
    return await _read(work.repo, coordinated, case, steps=True)


@dataclass(frozen=True)
class Instruct:
    """An instruction to one part, or to every open part when `work_order_id` is None."""

    complaint_id: uuid.UUID
    work_order_id: uuid.UUID | None
    instruction: str
    actor: Actor


async def instruct(command: Instruct, work: DispatchWork) -> Coordination:
    coordinated, case = await _coordinated(work.repo, command.complaint_id)
    if command.work_order_id is not None:
        parts = [await _open_part(work.repo, case, command.work_order_id)]
    else:
        parts = await work.repo.open_work_orders_of_case(case.complaint_id)
    if not parts:
        raise Conflict(f"{case.reference_no} has no open part to instruct")
    for part in parts:
        await _history(work, part, "instructed", command.actor, {"instruction": command.instruction})
        facts = _facts(part, case, command.actor, work.now)
        payload = WorkOrderInstructedPayload(**facts, instruction=command.instruction)
        work.emit(_event(WorkOrderInstructed, payload, case, work.now))
    return await _read(work.repo, coordinated, case, steps=True)


# --- what the steps share ------------------------------------------------------------------------------------


async def _case(repo: DispatchRepository, key: uuid.UUID | str, *, lock: bool) -> Case:
    case = await (repo.get_case(key, lock=lock) if isinstance(key, uuid.UUID) else repo.get_case_by_reference(key))
    if case is None:
        raise NotFound(f"no case {key}")
    if lock and not isinstance(key, uuid.UUID):
        case = await repo.get_case(case.complaint_id, lock=True)
        assert case is not None
    bind_case(complaint_id=str(case.complaint_id), correlation_id=case.correlation_id)
    return case


async def _coordinated(repo: DispatchRepository, complaint_id: uuid.UUID) -> tuple[CoordinatedCase, Case]:
    case = await _case(repo, complaint_id, lock=True)
    coordinated = await repo.coordinated_case(complaint_id)
    if coordinated is None:
        raise NotFound(f"the customer-service centre does not coordinate {case.reference_no}: open it first")
    return coordinated, case


async def _open_lead(repo: DispatchRepository, case: Case) -> WorkOrder:
    if case.incident_id is not None or case.outage_id is not None:
        raise Conflict(f"{case.reference_no} belongs to an incident or outage notice: its work order is the fault's")
    lead = await repo.open_work_order_of_case(case.complaint_id, lock=True)
    if lead is None:
        raise Conflict(f"{case.reference_no} has no open work order (in triage, settled, invalid or closed)")
    return lead


async def _open_part(repo: DispatchRepository, case: Case, work_order_id: uuid.UUID) -> WorkOrder:
    part = await repo.get_work_order(work_order_id, lock=True)
    if part is None or part.complaint_id != case.complaint_id:
        raise NotFound(f"work order {work_order_id} is no part of {case.reference_no}")
    if part.work_order_id not in {o.work_order_id for o in await repo.open_work_orders_of_case(case.complaint_id)}:
        raise Conflict(f"work order {work_order_id} is {part.status}: only an open part is steered")
    return part


async def _part_of(
    work: DispatchWork, case: Case, lead: WorkOrder, department: Department, note: str, actor: Actor
) -> WorkOrder:
    """The case's open part of `department`, opened as an assisting part when it has none."""
    for order in await work.repo.open_work_orders_of_case(case.complaint_id):
        if order.department == department.value:
            return order
    return (await assist(Assist(lead.work_order_id, department, note, actor), work)).order


async def _swap_lead(
    work: DispatchWork, case: Case, lead: WorkOrder, department: Department, note: str, actor: Actor
) -> WorkOrder:
    """`department`'s open part leads; the previous lead and every other open part assist it."""
    repo = work.repo
    part = await _part_of(work, case, lead, department, note, actor)
    # One open lead per case (a unique index): the previous lead steps down before the new one steps up.
    await repo.move_assisting(lead.work_order_id, part.work_order_id)
    await repo.update_work_order(
        lead.work_order_id, role="assisting", lead_work_order_id=part.work_order_id, updated_at=work.now
    )
    await repo.update_work_order(part.work_order_id, role="lead", lead_work_order_id=None, updated_at=work.now)
    new_lead = await repo.get_work_order(part.work_order_id)
    assert new_lead is not None
    details = {"previous_lead_work_order_id": str(lead.work_order_id), "previous_lead": lead.department, "note": note}
    await _history(work, new_lead, "lead_changed", actor, details)
    payload = WorkOrderLeadChangedPayload(
        **_facts(new_lead, case, actor, work.now),
        previous_lead_work_order_id=lead.work_order_id,
        previous_lead_department=Department(lead.department),
        note=note,
        parts=await _parts(repo, case),
    )
    work.emit(_event(WorkOrderLeadChanged, payload, case, work.now))
    log.info("lead changed", lead=new_lead.department, previous=lead.department)
    return new_lead


async def _parts(repo: DispatchRepository, case: Case) -> list[CoordinatedPart]:
    orders = sorted(await repo.open_work_orders_of_case(case.complaint_id), key=lambda o: o.role != "lead")
    return [
        CoordinatedPart(
            work_order_id=o.work_order_id,
            department=Department(o.department),
            role=o.role,
            status=o.status,  # type: ignore[arg-type]
            resolve_by=o.resolve_by,
        )
        for o in orders
    ]


async def _history(work: DispatchWork, order: WorkOrder, action: str, actor: Actor, details: dict[str, Any]) -> None:
    await work.repo.add_history(
        work_order_id=order.work_order_id,
        action=action,
        from_status=order.status,
        to_status=order.status,
        actor=actor.name,
        actor_name=actor.label,
        details=details,
        at=work.now,
    )


def _facts(order: WorkOrder, case: Case, actor: Actor, at: datetime) -> dict[str, Any]:
    return {
        "work_order_id": order.work_order_id,
        "complaint_id": order.complaint_id,
        "reference_no": case.reference_no,
        "department": order.department,
        "cycle": order.cycle,
        "status": order.status,
        "actor": actor.name,
        "actor_name": actor.label,
        "at": at,
    }


def _event(cls: type[Event], payload: Any, case: Case, at: datetime) -> Event:
    return new_event(
        cls,
        complaint_id=case.complaint_id,
        payload=payload,
        producer="dispatch",
        correlation_id=case.correlation_id,
        occurred_at=at,
    )
