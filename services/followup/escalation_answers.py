"""The answer step of an escalation (督办, issue 24): the case's department acknowledges it and answers what it is
doing and by when, within the SLA policy's limit (`[escalation_answer] within`); the escalated person may send the
answer back with an instruction and a new deadline. An answered rung climbs no further; an unanswered one (or one
sent back and not answered again by its deadline) climbs as before.

Pure: who may take which step, and what the step does to the escalation. `handlers/escalation_answers.py` loads,
saves, moves the next rung's timer, publishes and notifies.

Who answers is the case's department — a person of that department holding its `department_manager` or
`supervisor` role, or the escalated role itself. Who sends back is whoever the escalation reached: a holder of the
escalated role (in the case's department, for a department manager); the general and project managers' rungs are
held by `leadership` (persons carry no such roles). A supervisor credential (machine key) may take every step, as it
may acknowledge the duty manager's call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.followup.model import DEPARTMENT_RUNGS, Escalation
from shared.errors import Conflict, Forbidden, Invalid

#: Roles of the case's department that answer for it.
ANSWERING_ROLES = frozenset({"department_manager", "supervisor"})
#: Rungs no person's role names: who holds them (persons' roles are `shared.http.person.STAFF_ROLES`).
HELD_BY: dict[str, frozenset[str]] = {
    "general_manager": frozenset({"leadership"}),
    "project_manager": frozenset({"leadership"}),
}
#: The furthest a promise or a deadline may lie ahead: a year (a typo of the year is refused, not kept for ever).
FURTHEST = timedelta(days=366)


@dataclass(frozen=True)
class EscalationActor:
    """Who takes a step: a person (staff id, display name, roles, department) or a credential (`person` False,
    `roles` its one role)."""

    id: str
    name: str | None
    roles: frozenset[str]
    department: str | None
    person: bool

    @property
    def credential_supervisor(self) -> bool:
        return not self.person and "supervisor" in self.roles


class EscalationClosed(Conflict):
    """The step does not fit where the answer stands (already answered, acknowledged twice, a rung climbed past)."""


class BadDeadline(Invalid):
    """A promised date or a deadline that is not in the future (or more than a year ahead)."""


def holders(escalated_to: str) -> frozenset[str]:
    """The person roles that hold a rung."""
    return HELD_BY.get(escalated_to, frozenset({escalated_to}))


def may_answer(actor: EscalationActor, escalation: Escalation) -> bool:
    """The case's department (its manager, supervisor, or the escalated role's holder there) answers."""
    if actor.credential_supervisor:
        return True
    record = escalation.record
    if not actor.person or actor.department is None or actor.department != record.department:
        return False
    return bool(actor.roles & (ANSWERING_ROLES | holders(record.escalated_to)))


def may_send_back(actor: EscalationActor, escalation: Escalation) -> bool:
    """The person the escalation reached sends the department's answer back."""
    if actor.credential_supervisor:
        return True
    record = escalation.record
    if not actor.person or not actor.roles & holders(record.escalated_to):
        return False
    return record.escalated_to not in DEPARTMENT_RUNGS or actor.department == record.department


def reached(actor: EscalationActor, escalation: Escalation) -> bool:
    """Whether the escalation is the actor's to act on (answer or send back): what their list shows."""
    return may_answer(actor, escalation) or may_send_back(actor, escalation)


def acknowledge(escalation: Escalation, actor: EscalationActor, now: datetime) -> Escalation:
    """The department has seen it: recorded, nothing stops (an acknowledged rung still climbs unanswered)."""
    _require(may_answer(actor, escalation), "only the case's department acknowledges an escalation")
    status = escalation.answer.status
    if status not in ("open", "sent_back"):
        raise EscalationClosed(f"escalation {escalation.escalation_id} is already {status}")
    answer = replace(
        escalation.answer,
        status="acknowledged",
        acknowledged_at=now,
        acknowledged_by=actor.id,
        acknowledged_by_name=actor.name,
    )
    return replace(escalation, answer=answer)


def answer(
    escalation: Escalation, actor: EscalationActor, *, action: str, promised_by: datetime, now: datetime
) -> Escalation:
    """What the department is doing and by when: the rung climbs no further."""
    _require(may_answer(actor, escalation), "only the case's department answers an escalation")
    if escalation.answer.status == "answered":
        raise EscalationClosed(f"escalation {escalation.escalation_id} is already answered")
    _ahead(promised_by, now, "by", "the date the department promises")
    answer = replace(
        escalation.answer,
        status="answered",
        action=action,
        promised_by=promised_by,
        answered_at=now,
        answered_by=actor.id,
        answered_by_name=actor.name,
    )
    return replace(escalation, answer=answer)


def send_back(
    escalation: Escalation, actor: EscalationActor, *, instruction: str, deadline: datetime, now: datetime
) -> Escalation:
    """Back to the department with an instruction: it must answer (again) by `deadline`, or the next rung hears."""
    _require(may_send_back(actor, escalation), "only whom the escalation reached sends it back")
    # Whoever answered does not review their own answer (a department's supervisor may hold both sides of a rung).
    _require(actor.id != escalation.answer.answered_by, "the person who answered does not send their own answer back")
    _ahead(deadline, now, "deadline", "the date to answer again by")
    answer = replace(
        escalation.answer,
        status="sent_back",
        instruction=instruction,
        sent_back_at=now,
        sent_back_by=actor.id,
        sent_back_by_name=actor.name,
    )
    return replace(escalation, record=replace(escalation.record, answer_by=deadline), answer=answer)


def late(escalation: Escalation) -> bool:
    """Answered after its limit (the next rung may already have heard of it)."""
    answered_at, answer_by = escalation.answer.answered_at, escalation.record.answer_by
    return answered_at is not None and answer_by is not None and answered_at > answer_by


def _ahead(at: datetime, now: datetime, field: str, what: str) -> None:
    if at <= now:
        raise BadDeadline(f"{field}: {what} must be in the future", field=field)
    if at > now + FURTHEST:
        raise BadDeadline(f"{field}: {what} must be within a year", field=field)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)
