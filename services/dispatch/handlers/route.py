"""Where a complaint goes: a received complaint classified and routed (`received`), a reopened one given a new
cycle (`reopened`), a supervisor's reclassification (`reclassified`) and a department's return (`returned`).

Every decision is made by the pure rules — classification (`classification/`), first contact (`first_contact.py`),
the fault it is about (`incidents/faults.py`), where it goes (`routing.py`) — and the outcome of a received
complaint is one of `handlers/outcomes.py`'s: closed as invalid, resolved on contact, waiting in triage, joined to
an outage notice or incident, linked to the account's open case, or a work order.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.dispatch import events
from services.dispatch.assets import AssetIndex
from services.dispatch.classification import Classification, ComplaintFacts
from services.dispatch.errors import Conflict
from services.dispatch.first_contact import FirstContact, first_contact
from services.dispatch.handlers import outcomes
from services.dispatch.handlers.assets import asset_index
from services.dispatch.handlers.classifications import learn, record_classification
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.handlers.opening import derived_id
from services.dispatch.handlers.received_batch import ReceivedBatch
from services.dispatch.handlers.triage import locked_case
from services.dispatch.incidents.faults import Fault, identify
from services.dispatch.model import Actor, Case, Step, WorkOrder, WorkOrderView
from services.dispatch.repository import DispatchRepository
from services.dispatch.routing import (
    doubt_within_one_fault,
    reopen_needed,
    route_reclassified,
    route_reopened,
    route_returned,
)
from services.dispatch.workorders.lifecycle import Action, next_status
from shared.contracts import Category, ComplaintReceived, ComplaintReopened, Severity, WorkOrderStatus
from shared.subject_keys import opened_location, sealed_customers


@dataclass(frozen=True)
class Decided:
    """A received complaint with what the rules decided: its classification, the agent's handling on contact, and
    the fault it is about (None: none, or not one that matters), knowing `history` (the account's complaints)."""

    event: ComplaintReceived
    decision: Classification
    contact: FirstContact | None
    fault: Fault | None
    history: Mapping[str, int]


async def received(batch: Sequence[ComplaintReceived], work: DispatchWork) -> None:
    """Classify and route a batch of received complaints (the door hands over each first delivery once).

    Locks first the households (repeat and duplicate checks), then the faults the batch is about (incidents), each
    set in sorted order, so two replicas' batches never wait on each other in a cycle. What it reads, it reads once
    for the whole batch, and the rows it decides are written once per table (`received_batch.ReceivedBatch`)."""
    repo = work.repo
    await work.context.keys.preload(sealed_customers(batch))
    households = await _households(repo, batch)
    await repo.lock_accounts([h for h in households.values() if h])
    assets = await asset_index(work)
    fresh = [await _with_place(event, work) for event in await _not_yet_routed(repo, batch)]
    histories = await _histories(work, fresh, households)
    decided = [_decide(work, event, assets, history) for event, history in zip(fresh, histories, strict=True)]
    locked = {f"{d.fault.scope}|{d.fault.family.value}" for d in decided if d.fault is not None}
    await repo.lock_faults(locked)
    rows = ReceivedBatch.of({e.complaint_id: households[e.complaint_id] for e in fresh})
    for one in decided:
        one = await _with_batch_history(work, rows, one, assets, locked)
        await outcomes.route_one(work, rows, one.event, one.decision, one.contact, one.fault)
    await rows.flush(repo)


async def _not_yet_routed(repo: DispatchRepository, batch: Sequence[ComplaintReceived]) -> list[ComplaintReceived]:
    """The batch without complaints already routed (republished under a new event id), each complaint once."""
    routed = await repo.cases(e.complaint_id for e in batch)
    fresh: dict[uuid.UUID, ComplaintReceived] = {}
    for event in batch:
        if event.complaint_id not in routed:
            fresh.setdefault(event.complaint_id, event)
    return list(fresh.values())


async def _with_place(event: ComplaintReceived, work: DispatchWork) -> ComplaintReceived:
    """The complaint with its exact address and coordinates in clear for the rules and the case (v5 seals them:
    opened with the customer's key; erased, there are none), the sealed copy kept beside them: the work order's
    topic carries that one (`events.assigned`), never the clear address."""
    sealed = event.payload.location.sealed
    if sealed is None:
        return event
    opened = await opened_location(event.payload.location, work.context.keys)
    location = opened.model_copy(update={"sealed": sealed if opened.address is not None else None})
    return event.model_copy(update={"payload": event.payload.model_copy(update={"location": location})})


async def _households(repo: DispatchRepository, batch: Sequence[ComplaintReceived]) -> dict[uuid.UUID, str | None]:
    """Each complaint's household, the key its repeats and duplicates are counted under (issue 23): its customer's
    (complaint.received v4: matched by account, phone or address) — the household the customer was first given
    here, proposed as its account, else its customer id —, or for an event before v4 its account. A ticket with no
    account, from the phone of a customer who complained with one, so counts with that account's complaints."""
    payloads = [e.payload for e in batch]
    proposed = [(p.customer_id, p.customer.account_no or str(p.customer_id)) for p in payloads if p.customer_id]
    given = await repo.households(proposed) if proposed else {}
    return {
        p.complaint_id: given.get(p.customer_id, p.customer.account_no or str(p.customer_id))
        if p.customer_id
        else p.customer.account_no
        for p in payloads
    }


def _since(work: DispatchWork, event: ComplaintReceived) -> datetime:
    """Where the household's history of repeats starts for this complaint."""
    return event.payload.accepted_at - timedelta(days=work.context.rules.repeat.window_days)


async def _histories(
    work: DispatchWork, batch: Sequence[ComplaintReceived], households: Mapping[uuid.UUID, str | None]
) -> list[dict[str, int]]:
    """Each complaint's household history as stored before the batch (`category_counts`), read in one statement."""
    asked = [(h, _since(work, e)) for e in batch if (h := households[e.complaint_id])]
    counts = iter(await work.repo.category_counts_since(asked))
    return [next(counts) if households[e.complaint_id] else {} for e in batch]


async def _with_batch_history(
    work: DispatchWork, rows: ReceivedBatch, one: Decided, assets: AssetIndex, locked: set[str]
) -> Decided:
    """The decision again when earlier complaints of the same household in this batch change its history (a repeat
    counts them, as if each complaint had been routed alone). Only the severity can move with the history under
    the shipped rules; should a rule make the fault move too, its lock is taken here."""
    account = rows.households.get(one.event.complaint_id)
    if not account:
        return one
    earlier = rows.stored_counts(account, _since(work, one.event))
    if not earlier:
        return one
    history = dict(Counter(one.history) + earlier)
    again = _decide(work, one.event, assets, history)
    if again.fault is not None and (key := f"{again.fault.scope}|{again.fault.family.value}") not in locked:
        await work.repo.lock_faults([key])
        locked.add(key)
    return again


def _decide(work: DispatchWork, event: ComplaintReceived, assets: AssetIndex, history: Mapping[str, int]) -> Decided:
    """What the rules say of one complaint. A fault matters only for a valid complaint not settled on contact; a
    doubtful one keeps its fault only when the doubt is within that one fault (`routing.doubt_within_one_fault`)."""
    decision = _classify(work, event, history)
    p = event.payload
    contact = first_contact(p.handled_on_contact, p.agent_id, decision)
    if not decision.valid or (contact and contact.settled):
        return Decided(event, decision, contact, None, history)
    location = p.location.model_dump(mode="json")
    rules = work.context.incident_rules
    fault = identify(decision.category, p.text, location, rules, assets)
    if decision.triage:
        other = None
        if fault is not None and len(decision.suggestions) >= 2:
            other = identify(decision.suggestions[1][0], p.text, location, rules, assets)
        undoubted = doubt_within_one_fault(decision, fault, other, work.context.rules)
        decision, fault = (decision, None) if undoubted is None else (undoubted, fault)
    return Decided(event, decision, contact, fault, history)


def _classify(work: DispatchWork, event: ComplaintReceived, history: Mapping[str, int]) -> Classification:
    """The classifier's decision, knowing the account's recent complaints by category (repeats)."""
    p, rules = event.payload, work.context.rules
    facts = ComplaintFacts(
        text=p.text,
        channel=p.channel.value,
        category_hint=p.category_hint.value if p.category_hint else None,
        history=history,
    )
    return work.context.classifier(facts, rules)


async def reopened(event: ComplaintReopened, work: DispatchWork) -> None:
    """A dissatisfied customer: a new work-order cycle with raised severity, in the last work order's department.
    Nothing while the case still has an open work order; a LookupError (retried, then dead-lettered) for a
    complaint never routed here."""
    repo = work.repo
    case = await repo.get_case(event.complaint_id, lock=True)
    if case is None:
        raise LookupError(f"reopened complaint {event.complaint_id} was never routed here")
    if not reopen_needed(await repo.open_work_order_of_case(case.complaint_id)):
        return
    # None for a complaint settled at first contact: its first work order opens now.
    previous = await repo.latest_work_order_of_case(case.complaint_id)
    route = route_reopened(
        case,
        previous,
        requested=Severity(event.payload.severity),
        reason=event.payload.reason,
        rules=work.context.rules,
    )
    cycle = case.cycle + 1
    await repo.update_case(case.complaint_id, cycle=cycle, severity=route.severity.value)
    case = replace(case, cycle=cycle, severity=route.severity.value)
    order = await work.context.orders.open(
        repo,
        case,
        route,
        cycle=cycle,
        start=work.now,
        previous=previous,
        actor="followup",
        at=work.now,
        work_order_id=derived_id("work-order", event.event_id),
    )
    work.emit(events.routed(case, order, list(route.reasons), "reopened", event.event_id, work.now))


async def returned(work: DispatchWork, case: Case, order: WorkOrder, step: Step, actor: Actor) -> None:
    """A returned work order: a new one where `routing.route_returned` says, in the same cycle; its open assisting
    work orders follow the new one. A case's return is a person's correction the next model learns from; an
    incident's work order just moves to the new department."""
    repo, now = work.repo, work.now
    route = route_returned(
        case, order, reason=step.reason, suggested=step.suggested_department, rules=work.context.rules
    )
    new_order = await work.context.orders.open(
        repo,
        case,
        route,
        cycle=order.cycle,
        start=now,
        previous=order,
        actor=actor.name,
        actor_name=actor.label,
        at=now,
        incident_id=order.incident_id,
    )
    await repo.move_assisting(order.work_order_id, new_order.work_order_id)
    if order.incident_id is not None:
        await repo.update_incident(
            order.incident_id,
            work_order_id=new_order.work_order_id,
            department=new_order.department,
            category=new_order.category,
        )
    else:
        await learn(work, replace(case, category=order.category), route, source="return", actor=actor.name)
        await repo.update_case(case.complaint_id, category=route.category.value)
        await record_classification(work, case, route, actor=actor.name, reason=step.reason)
    work.emit(events.returned(order, case, actor, now, step.reason or "", new_order))
    work.emit(events.routed(case, new_order, list(route.reasons), "returned", None, now))


@dataclass(frozen=True)
class Reclassify:
    complaint_id: uuid.UUID
    category: Category
    severity: Severity | None
    reason: str
    actor: Actor


async def reclassified(command: Reclassify, work: DispatchWork) -> WorkOrderView:
    """A supervisor's correction: the open work order is closed as reassigned, a new one opened where the new
    category goes. Raises NotFound, Conflict (no open work order)."""
    repo, actor, reason, now = work.repo, command.actor, command.reason, work.now
    case = await locked_case(repo, command.complaint_id)
    order = await repo.open_work_order_of_case(command.complaint_id, lock=True)
    if order is None:
        raise Conflict("the case has no open work order to reclassify")
    route = route_reclassified(
        order,
        category=command.category,
        severity=command.severity,
        by=actor.name,
        reason=reason,
        rules=work.context.rules,
    )
    closed = await _close_reassigned(work, order, command, route.severity)
    await learn(
        work,
        replace(case, category=order.category, severity=order.severity),
        route,
        source="reclassify",
        actor=actor.name,
    )
    await repo.update_case(command.complaint_id, category=command.category.value, severity=route.severity.value)
    await record_classification(work, case, route, actor=actor.name, reason=reason)
    new_order = await work.context.orders.open(
        repo,
        case,
        route,
        cycle=order.cycle,
        start=now,
        previous=order,
        actor=actor.name,
        actor_name=actor.label,
        at=now,
    )
    await repo.move_assisting(order.work_order_id, new_order.work_order_id)
    work.emit(events.reassigned(closed, case, actor, now, reason, new_order))
    work.emit(events.routed(case, new_order, list(route.reasons), "reclassified", None, now))
    return WorkOrderView(new_order, await repo.history(new_order.work_order_id))


async def _close_reassigned(work: DispatchWork, order: WorkOrder, command: Reclassify, severity: Severity) -> WorkOrder:
    """The open work order closed as reassigned, with its history entry."""
    now, actor, reason = work.now, command.actor, command.reason
    target = next_status(Action.REASSIGN, WorkOrderStatus(order.status))
    await work.repo.update_work_order(order.work_order_id, status=target.value, updated_at=now, closing_reason=reason)
    await work.repo.add_history(
        work_order_id=order.work_order_id,
        action=Action.REASSIGN.value,
        from_status=order.status,
        to_status=target.value,
        actor=actor.name,
        actor_name=actor.label,
        details={"reason": reason, "category": command.category.value, "severity": severity.value},
        at=now,
    )
    return replace(order, status=target.value, updated_at=now, closing_reason=reason)
