"""Incidents — one fault, many callers, one work order: a complaint joining one, an incident opening at the
threshold or by an operator's declaration, its ETA, and its resolution told to every caller.

Callers hold the fault's advisory lock (`lock_faults`) while they look an incident up and change it, and the
database refuses a second open incident for one fault, so two dispatch replicas never open two. Which group a
complaint joins, and what an incident is called, is `incidents/placement.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from services.dispatch import events
from services.dispatch.errors import Conflict, NotFound
from services.dispatch.handlers.assets import asset_index, asset_names
from services.dispatch.handlers.callers import tell_fixed
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.handlers.opening import derived_id
from services.dispatch.incidents.declared import declared_fault, district_of, family_named
from services.dispatch.incidents.faults import Fault
from services.dispatch.incidents.placement import (
    Placement,
    describe,
    household,
    incident_category,
    outage_covers,
    reference,
)
from services.dispatch.model import SYSTEM, Actor, Case, Incident, IncidentDeclaration, IncidentOpener, WorkOrder
from services.dispatch.routing import Route, department_for, priority_of
from services.dispatch.workorders.lifecycle import Action, next_status
from shared.contracts import Category, Severity, WorkOrderStatus
from shared.logging import get_logger

log = get_logger(__name__)

# --- a complaint about a fault ---------------------------------------------------------------------------------


async def placement(work: DispatchWork, case: Case, fault: Fault) -> Placement:
    """Where `case` (not yet stored) goes: an outage notice in force, the open incident, or a new one at the
    threshold; the caller holds the fault's lock."""
    repo, rules = work.repo, work.context.incident_rules
    for outage in await repo.active_outages(fault.family.value, case.accepted_at):
        if outage_covers(outage, fault):
            return Placement(outage=outage)
    incident = await repo.open_incident(fault.scope, fault.family.value, lock=True)
    if incident is not None:
        return Placement(incident=incident)
    earlier = await repo.unsettled_fault_cases(fault.scope, fault.family.value, case.accepted_at - rules.window)
    if len({household(c) for c in [*earlier, case]}) >= rules.threshold_households:
        return Placement(opens=(*earlier, case))
    return Placement()


async def join(
    work: DispatchWork,
    incident: Incident,
    case: Case,
    reasons: list[str],
    cause: uuid.UUID | None,
    *,
    merged: WorkOrder | None = None,
) -> Incident:
    """Link one more caller (already stored with `incident_id`); the incident's severity follows its households, and
    its work order's priority with it."""
    repo = work.repo
    households = await repo.incident_households(incident.incident_id)
    severity = work.context.incident_rules.severity_for(
        households, Severity(incident.severity), Severity(case.severity)
    )
    incident = replace(
        incident, complaint_count=incident.complaint_count + 1, households=households, severity=severity.value
    )
    await repo.update_incident(
        incident.incident_id,
        complaint_count=incident.complaint_count,
        households=households,
        severity=incident.severity,
    )
    await _raise_work_order(work, incident)
    work.emit(
        [
            events.incident_linked(incident, case, merged, work.now),
            events.joined(
                case, incident=incident, outage=None, merged=merged, reasons=reasons, causation_id=cause, at=work.now
            ),
        ]
    )
    return incident


@dataclass(frozen=True)
class Opening:
    """A new incident: its fault, who opened it, its first callers (stored already), and what they are told."""

    fault: Fault
    members: tuple[Case, ...]
    opened_by: IncidentOpener
    actor: str
    channel: str
    eta: datetime | None = None
    description: tuple[str, str] | None = None
    causation_id: uuid.UUID | None = None


async def open_incident(work: DispatchWork, opening: Opening) -> None:
    """A new incident with its one work order; its `members` join it, their open work orders merged into its."""
    incident = _new_incident(work, opening)
    await work.repo.insert_incident(incident)
    category = Category(incident.category)
    route = Route(
        category=category,
        department=department_for(category, work.context.rules),
        severity=Severity(incident.severity),
        reasons=(f"incident {incident.reference_no} ({opening.opened_by}): {incident.description}",),
    )
    order = await work.context.orders.open(
        work.repo,
        incident.as_case(),
        route,
        cycle=1,
        start=work.now,
        previous=None,
        actor=opening.actor,
        at=work.now,
        incident_id=incident.incident_id,
        work_order_id=incident.work_order_id,
    )
    work.emit(
        [
            events.incident_opened(incident, work.now),
            events.assigned(incident.as_case(), order, list(route.reasons), "new", opening.causation_id, work.now),
        ]
    )
    for position, member in enumerate(opening.members, start=1):
        merged = await _merge(work, member, incident, order)
        await work.repo.update_case(member.complaint_id, incident_id=incident.incident_id)
        # The complaint that made the threshold is the cause of its own joining.
        cause = opening.causation_id if position == len(opening.members) else None
        member = replace(member, incident_id=incident.incident_id)
        reasons = [f"joined incident {incident.reference_no}"]
        incident = await join(work, incident, member, reasons, cause, merged=merged)


def _new_incident(work: DispatchWork, opening: Opening) -> Incident:
    fault, at = opening.fault, work.now
    rules = work.context.incident_rules
    cause = opening.causation_id or uuid.uuid4()  # a person's opening (no event) is not handled again
    incident_id, work_order_id = derived_id("incident", cause), derived_id("incident-work-order", cause)
    rule = rules.family(fault.family)
    category = incident_category(opening.members, rule.categories)
    names = asset_names(work, fault.asset)
    zh, en = opening.description or describe(
        rule.label_zh, rule.label_en, fault.asset, names, fault.compound, fault.district
    )
    return Incident(
        incident_id=incident_id,
        reference_no=reference("INC", incident_id, at),
        family=fault.family.value,
        scope=fault.scope,
        asset=fault.asset.model_dump(mode="json") if fault.asset else None,
        district=fault.district,
        compound=fault.compound,
        department=department_for(category, work.context.rules).value,
        category=category.value,
        severity=rules.severity_for(0, *(Severity(c.severity) for c in opening.members)).value,
        status="open",
        work_order_id=work_order_id,
        complaint_count=0,
        households=0,
        eta=opening.eta,
        description=zh,
        description_en=en,
        opened_by=opening.opened_by,
        actor=opening.actor,
        channel=opening.channel,
        correlation_id=f"incident-{incident_id}",
        opened_at=at,
        resolved_at=None,
    )


async def _merge(work: DispatchWork, case: Case, incident: Incident, into: WorkOrder) -> WorkOrder | None:
    """Close an earlier caller's open work order as merged into the incident's (the `reassigned` transition, so
    every consumer stops its clocks as for any reassignment)."""
    repo, at = work.repo, work.now
    order = await repo.open_work_order_of_case(case.complaint_id, lock=True)
    if order is None:
        return None
    reason = f"merged into incident {incident.reference_no}"
    target = next_status(Action.REASSIGN, WorkOrderStatus(order.status))
    await repo.update_work_order(order.work_order_id, status=target.value, updated_at=at, closing_reason=reason)
    await repo.add_history(
        work_order_id=order.work_order_id,
        action="merge",
        from_status=order.status,
        to_status=target.value,
        actor="dispatch",
        details={"incident_id": str(incident.incident_id), "into_work_order_id": str(into.work_order_id)},
        at=at,
    )
    closed = replace(order, status=target.value, updated_at=at, closing_reason=reason)
    work.emit(events.reassigned(closed, case, SYSTEM, at, reason, into))
    return closed


async def _raise_work_order(work: DispatchWork, incident: Incident) -> None:
    """The incident's work order takes the incident's severity when it rose (and the priority that goes with it)."""
    repo, at = work.repo, work.now
    order = await repo.get_work_order(incident.work_order_id, lock=True)
    if order is None or Severity(order.severity).rank >= Severity(incident.severity).rank:
        return
    severity = Severity(incident.severity)
    await repo.update_work_order(
        order.work_order_id, severity=severity.value, priority=priority_of(severity), updated_at=at
    )
    await repo.add_history(
        work_order_id=order.work_order_id,
        action="severity",
        from_status=order.status,
        to_status=order.status,
        actor="dispatch",
        details={"severity": severity.value, "households": incident.households},
        at=at,
    )


# --- operators -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclareIncident:
    declaration: IncidentDeclaration
    actor: Actor


async def declare(command: DeclareIncident, work: DispatchWork) -> Incident:
    """An operator declares a fault: an incident opens at once (earlier callers in the window join it). Raises
    Unprocessable (no place), Conflict (one is open for this fault already)."""
    cmd, repo = command.declaration, work.repo
    family = family_named(cmd.family)
    fault = declared_fault(family, cmd.asset, cmd.district, cmd.compound)
    await repo.lock_faults([f"{fault.scope}|{family.value}"])
    index = await asset_index(work)  # the registry's names, for what callers are told
    existing = await repo.open_incident(fault.scope, family.value)
    if existing is not None:
        raise Conflict(f"incident {existing.reference_no} ({existing.incident_id}) is open for this fault")
    window_start = work.now - work.context.incident_rules.window
    members = tuple(await repo.unsettled_fault_cases(fault.scope, family.value, window_start))
    if not fault.district:
        fault = replace(fault, district=district_of(index, fault, members))
    description = (cmd.description, cmd.description_en or cmd.description) if cmd.description else None
    opening = Opening(fault, members, "operator", command.actor.name, "phone", eta=cmd.eta, description=description)
    await open_incident(work, opening)
    incident = await repo.open_incident(fault.scope, family.value)
    assert incident is not None
    log.warning("incident declared", incident=incident.reference_no, by=command.actor.name)
    return incident


@dataclass(frozen=True)
class SetEta:
    incident_id: uuid.UUID
    eta: datetime
    note: str | None
    actor: Actor


async def set_eta(command: SetEta, work: DispatchWork) -> Incident:
    """A new ETA for an open incident: every caller not yet told it is fixed is told. Raises NotFound (none, or
    not the actor's department's), Conflict (resolved)."""
    repo, incident_id, actor = work.repo, command.incident_id, command.actor
    incident = await repo.get_incident(incident_id, lock=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if not actor.may_handle(incident.department):
        raise NotFound(f"no incident {incident_id} for {actor.name}")
    if incident.status != "open":
        raise Conflict(f"incident {incident.reference_no} is {incident.status}")
    previous = incident.eta
    incident = replace(incident, eta=command.eta)
    await repo.update_incident(incident_id, eta=command.eta)
    work.emit(events.incident_eta_updated(incident, previous, command.note, actor.name, work.now))
    for case in await repo.cases_joined(incident_id=incident_id, unfixed=True):
        work.emit(events.eta_changed(case, eta=command.eta, previous=previous, note=command.note, at=work.now))
    return incident


async def resolved(work: DispatchWork, order: WorkOrder, actor: str) -> None:
    """The incident's work order was resolved: the incident too, and every caller is told."""
    assert order.incident_id is not None
    incident = await work.repo.get_incident(order.incident_id, lock=True)
    assert incident is not None
    incident = replace(incident, status="resolved", resolved_at=work.now)
    await work.repo.update_incident(incident.incident_id, status="resolved", resolved_at=work.now)
    callers = await work.repo.cases_joined(incident_id=incident.incident_id, unfixed=True)
    work.emit(events.incident_resolved(incident, order, actor, work.now))
    await tell_fixed(work, callers, work_order=order, department=order.department, resolution=order.resolution or "")
