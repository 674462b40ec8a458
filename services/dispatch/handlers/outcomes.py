"""The outcome of one received complaint, in the order it is decided (`route_one`):

1. invalid: closed as invalid with its reason, no work order (`complaint.invalid`);
2. settled by the agent on contact: resolved there, no work order (`complaint.resolved_on_contact`);
3. doubtful: waits in the supervisors' triage queue with the model's suggestions (`complaint.awaiting_triage`);
4. about a fault: joins the outage notice in force or the open incident, or opens an incident at the threshold
   (`handlers/outages.py`, `handlers/incidents.py`);
5. the account has this category's work order open: linked to that case (`complaint.linked`);
6. otherwise a work order in its category's department (`complaint.routed`, `workorder.assigned`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from services.dispatch import events
from services.dispatch.classification import Classification
from services.dispatch.first_contact import SETTLED_BY, FirstContact
from services.dispatch.handlers import incidents, outages
from services.dispatch.handlers.classifications import record_decision
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.handlers.opening import derived_id
from services.dispatch.handlers.received_batch import ReceivedBatch
from services.dispatch.incidents.faults import Fault
from services.dispatch.incidents.placement import Placement
from services.dispatch.model import Case, WorkOrder
from services.dispatch.routing import Route, department_for, duplicate_reason, route_new
from shared.contracts import ComplaintReceived
from shared.logging import bind_case, get_logger

log = get_logger(__name__)


async def route_one(
    work: DispatchWork,
    batch: ReceivedBatch,
    event: ComplaintReceived,
    decision: Classification,
    contact: FirstContact | None,
    fault: Fault | None,
) -> None:
    """Store the case and carry out its outcome (the order is the module's); the rows go with the `batch`'s, except
    for a complaint about a fault, whose incident or notice is read and changed at once."""
    bind_case(complaint_id=str(event.payload.complaint_id), correlation_id=event.correlation_id)
    route = route_new(decision, work.context.rules)
    case = _case_of(event, decision, route, batch.households.get(event.complaint_id))
    if not decision.valid:
        return _close_invalid(work, batch, case, event.event_id)
    if contact is not None:
        case = replace(case, reasons=[*case.reasons, contact.reason])
        if contact.settled:
            return _resolve_on_contact(work, batch, case, event.event_id)
    if decision.triage:
        return _to_triage(work, batch, case, decision, event.event_id)
    if fault is not None:
        return await _about_fault(work, batch, _about(case, fault), fault, route, event)
    case, duplicate_of = await _placed(work, batch, case, Placement())
    batch.keep_case(case, work.now)
    batch.stored_case(case)
    if duplicate_of is not None:
        log.info("complaint linked to an open case", linked_to=str(duplicate_of.complaint_id))
        work.emit(events.linked(case, duplicate_of, case.reasons, event.event_id, work.now))
        return None
    return _new_work_order(work, batch, case, route, event)


async def _about_fault(
    work: DispatchWork, batch: ReceivedBatch, case: Case, fault: Fault, route: Route, event: ComplaintReceived
) -> None:
    """A complaint about a fault: it reads the fault's incident, notice and earlier callers, so the batch's rows
    so far are written first; it joins a group, opens an incident, or goes on as any complaint."""
    await batch.before_fault(work.repo)
    placement = await incidents.placement(work, case, fault)
    case, duplicate_of = await _placed(work, batch, case, placement)
    await work.repo.insert_case(case)
    await record_decision(work, case)
    batch.stored_case(case)
    if placement.outage is not None or placement.incident is not None or placement.opens:
        await _join(work, case, placement, fault, event.event_id)
        batch.after_fault()
        return None
    if duplicate_of is not None:
        log.info("complaint linked to an open case", linked_to=str(duplicate_of.complaint_id))
        work.emit(events.linked(case, duplicate_of, case.reasons, event.event_id, work.now))
        return None
    return _new_work_order(work, batch, case, route, event)


def _case_of(event: ComplaintReceived, decision: Classification, route: Route, household: str | None) -> Case:
    """Dispatch's record of a received complaint, as classified, in its household (`route._households`)."""
    p = event.payload
    return Case(
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        account_no=p.customer.account_no,
        channel=p.channel.value,
        district=p.location.district,
        text=p.text,
        location=p.location.model_dump(mode="json"),
        customer=p.customer.model_dump(mode="json"),
        category_hint=p.category_hint.value if p.category_hint else None,
        accepted_at=p.accepted_at,
        category=route.category.value,
        severity=route.severity.value,
        valid=decision.valid,
        invalid_reason=decision.invalid_reason,
        reasons=list(route.reasons),
        scores={k: float(v) for k, v in decision.scores.items()},
        linked_to=None,
        cycle=1,
        correlation_id=event.correlation_id,
        model_version=decision.model_version,
        owner=p.agent_id,
        agent_id=p.agent_id,
        agent_name=p.agent_name,
        owner_name=p.agent_name,
        handled_on_contact=p.handled_on_contact,
        customer_agitated=p.customer_agitated,
        household=household,
    )


def _about(case: Case, fault: Fault) -> Case:
    """The case marked with the fault it is about."""
    return replace(
        case,
        reasons=[*case.reasons, fault.reason],
        family=fault.family.value,
        scope=fault.scope,
        asset=fault.asset.model_dump(mode="json") if fault.asset else None,
    )


async def _placed(
    work: DispatchWork, batch: ReceivedBatch, case: Case, placement: Placement
) -> tuple[Case, WorkOrder | None]:
    """The case with the group it joins, or linked to its household's open work order of its category (a duplicate,
    unless it opens an incident)."""
    if placement.outage is not None:
        reason = f"outage notice {placement.outage.reference_no} covers it"
        return replace(case, outage_id=placement.outage.outage_id, reasons=[*case.reasons, reason]), None
    if placement.incident is not None:
        reason = f"joined incident {placement.incident.reference_no}"
        return replace(case, incident_id=placement.incident.incident_id, reasons=[*case.reasons, reason]), None
    if placement.opens or not case.household:
        return case, None
    duplicate_of = await batch.open_order_for(work.repo, case.household, case.category)
    if duplicate_of is None:
        return case, None
    linked = replace(case, linked_to=duplicate_of.complaint_id, reasons=[*case.reasons, duplicate_reason(duplicate_of)])
    return linked, duplicate_of


async def _join(work: DispatchWork, case: Case, placement: Placement, fault: Fault, cause: uuid.UUID) -> None:
    """A complaint about a fault: into the outage notice or the open incident, or the incident it opens."""
    if placement.outage is not None:
        log.info("complaint joined an outage notice", outage=placement.outage.reference_no)
        await outages.join(work, placement.outage, case, case.reasons, cause)
    elif placement.incident is not None:
        log.info("complaint joined an incident", incident=placement.incident.reference_no)
        await incidents.join(work, placement.incident, case, case.reasons, cause)
    else:
        log.warning("incident opened", scope=fault.scope, family=fault.family.value, callers=len(placement.opens))
        members = (*placement.opens[:-1], case)
        opening = incidents.Opening(fault, members, "threshold", "dispatch", case.channel, causation_id=cause)
        await incidents.open_incident(work, opening)


def _new_work_order(
    work: DispatchWork, batch: ReceivedBatch, case: Case, route: Route, event: ComplaintReceived
) -> None:
    """A work order in the category's department, its clocks from acceptance (written with the batch)."""
    orders, now = work.context.orders, work.now
    order = orders.work_order(
        case,
        route,
        cycle=1,
        start=case.accepted_at,
        previous=None,
        at=now,
        incident_id=None,
        work_order_id=derived_id("work-order", event.event_id),
        lead=None,
    )
    batch.keep_order(order, orders.assignment(order, actor="dispatch", actor_name=None, at=now), case.household)
    log.info("complaint routed", department=order.department, category=order.category, severity=order.severity)
    work.emit(events.routed(case, order, case.reasons, "new", event.event_id, work.now))


def _close_invalid(work: DispatchWork, batch: ReceivedBatch, case: Case, cause: uuid.UUID) -> None:
    """Not a complaint we act on: recorded with its reason, no work order; the customer is told why."""
    case = replace(case, invalid_at=work.now, invalid_by="dispatch")
    _keep(work, batch, case)
    log.info("complaint closed as invalid", reason=case.invalid_reason)
    work.emit(events.invalid(case, cause, work.now))


def _resolve_on_contact(work: DispatchWork, batch: ReceivedBatch, case: Case, cause: uuid.UUID) -> None:
    """Settled by the agent on contact: no work order; the callback limit its category would have had."""
    case = replace(case, resolution_id=uuid.uuid4(), resolved_on_contact_at=work.now)
    _keep(work, batch, case)
    log.info("complaint resolved on contact", owner=case.owner)
    work.emit(
        events.resolved_on_contact(
            case,
            department=SETTLED_BY.value,
            callback_limit=work.context.orders.callback_limit(case, case.accepted_at),
            causation_id=cause,
            at=work.now,
        )
    )


def _to_triage(
    work: DispatchWork, batch: ReceivedBatch, case: Case, decision: Classification, cause: uuid.UUID
) -> None:
    """A doubtful complaint waits for a supervisor, with the model's suggestions; its clocks will run from
    acceptance, so the wait counts."""
    rules = work.context.rules
    suggestions = [
        {"category": c.value, "department": department_for(c, rules).value, "probability": round(p, 4)}
        for c, p in decision.suggestions
    ]
    case = replace(case, triage_since=work.now, suggestions=suggestions)
    _keep(work, batch, case)
    log.info("complaint awaits triage", suggestions=[s["category"] for s in suggestions[:3]])
    work.emit(events.awaiting_triage(case, cause, work.now))


def _keep(work: DispatchWork, batch: ReceivedBatch, case: Case) -> None:
    """The case and dispatch's classification, written with the batch."""
    batch.keep_case(case, work.now)
    batch.stored_case(case)
