"""Serious and emergency cases: the lead department proposes, leadership approves (seed 001).

The handling rules send a serious case to the department manager and company leadership, "who have the cause
analysed and set corrective action with a deadline; the case is not done until that is done". So the department
that resolves the case does not decide its own analysis: its lead work order's department (or a supervisor)
**proposes** the cause analysis and the corrective actions, leadership or HR/administration (`APPROVER_ROLES`)
**approves** them or **sends them back** with a reason (the department then proposes again, a new round), and the
lead work order **resolves only once they are approved** — the resolution then carries the approved analysis and
sets the approved actions (`approved_step`). Each step is a `serious_case.*` event on `corrective-actions` (the
case's timeline in reporting; followup tells the project manager and the technical department) and a line of the
work order's history. With `DispatchContext.serious_approval` off, none of this is required (the older rule).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.dispatch import events
from services.dispatch.errors import Conflict, Forbidden, Invalid, NotFound
from services.dispatch.handlers.context import DispatchWork
from services.dispatch.model import Actor, Case, CorrectiveActionPlan, SeriousProposal, Step, WorkOrder
from services.dispatch.resolution import LEAD, NEEDS_CORRECTIVE_ACTION
from services.dispatch.steps import not_theirs
from services.dispatch.workorders.lifecycle import OPEN
from shared.contracts import Severity


@dataclass(frozen=True)
class Propose:
    """The lead department's cause analysis and corrective actions for leadership to approve."""

    work_order_id: uuid.UUID
    cause_analysis: str
    corrective_actions: tuple[CorrectiveActionPlan, ...]
    actor: Actor


@dataclass(frozen=True)
class Decide:
    """Leadership's decision on the proposal: approve (an optional note) or send back (a reason, required)."""

    work_order_id: uuid.UUID
    decision: Literal["approve", "send_back"]
    note: str | None
    actor: Actor


@dataclass(frozen=True)
class SeriousCase:
    """A serious or emergency case's open lead work order, its case and where its proposal stands."""

    order: WorkOrder
    case: Case | None
    proposal: SeriousProposal | None


def needs_approval(order: WorkOrder) -> bool:
    return order.role == LEAD and Severity(order.severity) in NEEDS_CORRECTIVE_ACTION


async def propose(command: Propose, work: DispatchWork) -> SeriousProposal:
    """A new proposal (the first, or the next round after one was sent back). Raises NotFound, Forbidden (another
    department's work order), Invalid (an empty analysis, no action, a deadline passed), Conflict (not a
    serious lead, closed, waiting for a decision, already approved)."""
    order, case = await _serious_lead(work, command.work_order_id)
    if command.actor.crew is not None:
        raise Forbidden("the department (its dispatcher or manager) proposes a serious case's analysis, not a crew")
    if not command.actor.may_act_on(order):
        raise Forbidden(not_theirs(order, command.actor))
    earlier = await work.repo.get_serious_proposal(order.work_order_id, lock=True)
    if earlier is not None and earlier.status != "sent_back":
        raise Conflict(_standing(earlier), proposal_status=earlier.status)
    analysis = command.cause_analysis.strip()
    if not analysis:
        raise Invalid("a cause analysis is required", field="cause_analysis")
    if not command.corrective_actions:
        raise Invalid("at least one corrective action (what, owner, deadline) is required", field="corrective_actions")
    for n, plan in enumerate(command.corrective_actions):
        if plan.deadline <= work.now:
            raise Invalid(
                f"corrective action {n + 1}: its deadline {plan.deadline.isoformat()} is not in the future",
                field=f"corrective_actions.{n}.deadline",
            )
    proposal = SeriousProposal(
        work_order_id=order.work_order_id,
        complaint_id=order.complaint_id,
        reference_no=case.reference_no,
        department=order.department,
        severity=order.severity,
        round=earlier.round + 1 if earlier else 1,
        cause_analysis=analysis,
        corrective_actions=[
            {"description": p.description, "owner": p.owner, "deadline": p.deadline.isoformat()}
            for p in command.corrective_actions
        ],
        status="proposed",
        proposed_by=command.actor.name,
        proposed_by_name=command.actor.label,
        proposed_at=work.now,
    )
    await _record(work, order, case, proposal, command.actor, "propose")
    return proposal


async def decide(command: Decide, work: DispatchWork) -> SeriousProposal:
    """Approve the waiting proposal or send it back with a reason. Raises Forbidden (not leadership or
    HR/administration), NotFound, Invalid (no reason to send back), Conflict (nothing waits for a decision)."""
    actor = command.actor
    if not actor.approves_serious:
        raise Forbidden("only leadership or HR/administration approve or send back a serious case's analysis")
    order, case = await _serious_lead(work, command.work_order_id)
    proposal = await work.repo.get_serious_proposal(order.work_order_id, lock=True)
    if proposal is None or proposal.status != "proposed":
        detail = _standing(proposal) if proposal else "the department has proposed nothing yet"
        raise Conflict(detail, proposal_status=proposal.status if proposal else None)
    note = (command.note or "").strip() or None
    if command.decision == "send_back" and note is None:
        raise Invalid("sending back needs a reason the department can act on", field="reason")
    decided = replace(
        proposal,
        status="approved" if command.decision == "approve" else "sent_back",
        decided_by=actor.name,
        decided_by_name=actor.label,
        decided_at=work.now,
        decision_note=note,
    )
    await _record(work, order, case, decided, actor, command.decision)
    return decided


async def approved_step(work: DispatchWork, order: WorkOrder, step: Step) -> Step:
    """The resolve step of a serious case's lead work order, with the approved analysis and actions in place of
    whatever it carried; Conflict naming why when nothing is approved yet. Other work orders' steps as given."""
    if not (work.context.serious_approval and needs_approval(order)):
        return step
    proposal = await work.repo.get_serious_proposal(order.work_order_id)
    if proposal is None or proposal.status != "approved":
        standing = _standing(proposal) if proposal else "the department has proposed nothing yet"
        raise Conflict(
            f"a {order.severity} case's lead work order resolves only once leadership has approved its cause "
            f"analysis and corrective actions; {standing}",
            proposal_status=proposal.status if proposal else None,
        )
    return replace(step, cause_analysis=proposal.cause_analysis, corrective_actions=proposal.plans())


@dataclass(frozen=True)
class Find:
    limit: int = 200


async def find(query: Find, work: DispatchWork) -> list[SeriousCase]:
    """Open lead work orders of serious and emergency cases, most urgent first, each with its case and proposal."""
    orders = await work.repo.serious_work_orders(limit=query.limit)
    proposals = await work.repo.serious_proposals([o.work_order_id for o in orders])
    cases = await work.repo.cases(o.complaint_id for o in orders if o.incident_id is None)
    found = []
    for order in orders:
        case = cases.get(order.complaint_id)
        if order.incident_id is not None:
            incident = await work.repo.get_incident(order.incident_id)
            case = incident.as_case() if incident else None
        found.append(SeriousCase(order, case, proposals.get(order.work_order_id)))
    return found


@dataclass(frozen=True)
class One:
    work_order_id: uuid.UUID
    actor: Actor


async def one(query: One, work: DispatchWork) -> SeriousCase:
    """One work order as a serious case, for whoever may read it. Raises NotFound (also for a work order that is not
    a serious case's lead: it has nothing to approve), Forbidden."""
    order = await work.repo.get_work_order(query.work_order_id)
    if order is None or not needs_approval(order):
        raise NotFound(f"no serious or emergency case's lead work order {query.work_order_id}")
    if not query.actor.may_read(order):
        raise Forbidden(not_theirs(order, query.actor))
    if order.incident_id is not None:
        incident = await work.repo.get_incident(order.incident_id)
        case = incident.as_case() if incident else None
    else:
        case = await work.repo.get_case(order.complaint_id)
    return SeriousCase(order, case, await work.repo.get_serious_proposal(order.work_order_id))


def _standing(proposal: SeriousProposal) -> str:
    """Where a proposal stands, in words a refusal gives."""
    when = _at(proposal.decided_at or proposal.proposed_at)
    if proposal.status == "proposed":
        return f"its proposal (round {proposal.round}) waits for leadership's decision since {when}"
    if proposal.status == "sent_back":
        return f"its proposal was sent back by {proposal.decided_by} at {when}: {proposal.decision_note}"
    return f"its proposal was approved by {proposal.decided_by} at {when}"


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


async def _serious_lead(work: DispatchWork, work_order_id: uuid.UUID) -> tuple[WorkOrder, Case]:
    """The open lead work order of a serious or emergency case, locked (its incident first, the order a resolution
    locks them in), with its case."""
    repo = work.repo
    peek = await repo.get_work_order(work_order_id)
    incident = await repo.get_incident(peek.incident_id, lock=True) if peek and peek.incident_id else None
    order = await repo.get_work_order(work_order_id, lock=True)
    if order is None:
        raise NotFound(f"no work order {work_order_id}")
    if not needs_approval(order):  # the work order's state, not the request, rules it out: 409, like a closed one
        raise Conflict(
            f"work order {work_order_id} is a {order.severity} case's {order.role} work order: only a serious or "
            "emergency case's lead work order has its analysis approved",
            work_order_status=order.status,
        )
    if order.status not in {s.value for s in OPEN}:
        raise Conflict(f"work order {work_order_id} is {order.status}", work_order_status=order.status)
    case = incident.as_case() if incident else await repo.get_case(order.complaint_id)
    if case is None:
        raise NotFound(f"no case for work order {work_order_id}")
    return order, case


async def _record(
    work: DispatchWork, order: WorkOrder, case: Case, proposal: SeriousProposal, actor: Actor, action: str
) -> None:
    """Write the proposal, its line in the work order's history and its event."""
    await work.repo.save_serious_proposal(proposal)
    details: dict[str, object] = {"round": proposal.round, "proposal": proposal.status}
    if action == "propose":
        details |= {"cause_analysis": proposal.cause_analysis, "corrective_actions": len(proposal.corrective_actions)}
    elif proposal.decision_note:
        details["note" if action == "approve" else "reason"] = proposal.decision_note
    await work.repo.add_history(
        work_order_id=order.work_order_id,
        action=f"serious_{action}",
        from_status=order.status,
        to_status=order.status,
        actor=actor.name,
        actor_name=actor.label,
        details=details,
        at=work.now,
    )
    work.emit(events.serious_case_step(proposal, case, actor, work.now))
