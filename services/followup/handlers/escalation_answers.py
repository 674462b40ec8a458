"""An escalation's answer step (issue 24), as use cases the routes run through the door: the case's department
acknowledges and answers it (what it is doing, by when), whom it reached sends the answer back with an instruction
and a new deadline (`escalation_answers.py` says who may and what each step does).

An answer stops the climb: the clock's pending breach timers are cancelled, so the next rung never hears of it. A
send-back re-arms the next rung's timer at the new deadline (an answer stopped it, or it is moved), so the climb
resumes there unless the department answers again. Each step is published on the escalations topic (reporting puts
it on the case's timeline) and the answer and the send-back are told, as a staff notice, to the other side.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.followup import escalation_answers as rules
from services.followup import events
from services.followup.escalation_answers import EscalationActor, EscalationClosed
from services.followup.handlers.context import FollowupWork
from services.followup.model import Escalation, EscalationNotFound
from shared.contracts import Department, Recipient
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class AcknowledgeEscalation:
    escalation_id: uuid.UUID
    actor: EscalationActor
    note: str | None = None


@dataclass(frozen=True)
class AnswerEscalation:
    escalation_id: uuid.UUID
    actor: EscalationActor
    action: str
    promised_by: datetime


@dataclass(frozen=True)
class SendBackEscalation:
    escalation_id: uuid.UUID
    actor: EscalationActor
    instruction: str
    deadline: datetime


async def acknowledge(cmd: AcknowledgeEscalation, work: FollowupWork) -> Escalation:
    """Seen by the department: recorded and published; the rung still climbs unless answered in time."""
    escalation = rules.acknowledge(await _latest(cmd.escalation_id, work), cmd.actor, work.now)
    await work.repo.save_escalation(escalation)
    work.emit(events.escalation_acknowledged(escalation, cmd.note))
    return escalation


async def answer(cmd: AnswerEscalation, work: FollowupWork) -> Escalation:
    """The department's answer: the clock climbs no further, and whom the escalation reached is told."""
    found = await _escalation(cmd.escalation_id, work)
    record = found.record
    # Stop the clock before asking whether it climbed: a timer worker that already claimed the next rung's timer holds
    # its row, so the cancel waits for it to commit, and the check below then sees the rung it climbed (409, all
    # rolled back) rather than an answer recorded on a rung the next one already heard of.
    stopped = await work.repo.cancel(record.subject_id, [record.stage], work.now) if record.subject_id else 0
    before = await _still_latest(found, work)
    escalation = rules.answer(before, cmd.actor, action=cmd.action, promised_by=cmd.promised_by, now=work.now)
    await work.repo.save_escalation(escalation)
    log.info("escalation answered", stage=record.stage, level=record.level, rungs_stopped=stopped)
    late = rules.late(escalation)
    work.emit(events.escalation_answered(escalation, late=late))
    notifier, a = work.context.notifier, escalation.answer
    assert a.promised_by is not None and a.action is not None
    params = _params(work, escalation) | {
        "answered_by": a.answered_by_name or a.answered_by or "-",
        "action": a.action,
        "promised_by": notifier.local(a.promised_by),
    }
    # Who sent it back, when a person did, hears of the new answer themselves; otherwise the rung it reached.
    staff_id = before.answer.sent_back_by if before.answer.sent_back_by_name else None
    await _notify(work, escalation, "escalation_answered", params, role=record.escalated_to, staff_id=staff_id)
    return escalation


async def send_back(cmd: SendBackEscalation, work: FollowupWork) -> Escalation:
    """Back to the department with an instruction: it answers again by the deadline, or the next rung hears."""
    before = await _latest(cmd.escalation_id, work)
    escalation = rules.send_back(before, cmd.actor, instruction=cmd.instruction, deadline=cmd.deadline, now=work.now)
    await work.repo.save_escalation(escalation)
    plan = work.context.clocks.sent_back(escalation.record, cmd.deadline)
    if plan is not None:
        await work.repo.rearm(plan)
    work.emit(events.escalation_sent_back(escalation))
    a = escalation.answer
    params = _params(work, escalation) | {
        "sent_back_by": a.sent_back_by_name or a.sent_back_by or "-",
        "instruction": cmd.instruction,
        "deadline": work.context.notifier.local(cmd.deadline),
    }
    # The department's answerer, when a person answered; otherwise its manager.
    staff_id = before.answer.answered_by if before.answer.answered_by_name else None
    await _notify(work, escalation, "escalation_sent_back", params, role="department_manager", staff_id=staff_id)
    return escalation


async def _escalation(escalation_id: uuid.UUID, work: FollowupWork) -> Escalation:
    found = await work.repo.escalation(escalation_id, lock=True)
    if found is None or found.record.reference_no is None or found.record.department is None:
        # Escalations recorded before the answer step name no case to answer on: as good as unknown.
        raise EscalationNotFound(f"no escalation {escalation_id} to answer")
    return found


async def _latest(escalation_id: uuid.UUID, work: FollowupWork) -> Escalation:
    """The escalation, when it is still its clock's latest rung: one climbed past is answered (or sent back) on the
    rung that holds the case now, so no rung is left looking open once the climb has stopped."""
    return await _still_latest(await _escalation(escalation_id, work), work)


async def _still_latest(escalation: Escalation, work: FollowupWork) -> Escalation:
    if await work.repo.climbed_past(escalation.record):
        raise EscalationClosed(
            f"escalation {escalation.escalation_id} was climbed past: act on the latest rung's escalation of this case",
            escalated_to=escalation.record.escalated_to,
        )
    return escalation


def _params(work: FollowupWork, escalation: Escalation) -> dict[str, str]:
    record = escalation.record
    assert record.reference_no is not None and record.department is not None
    notifier = work.context.notifier
    return {
        "reference_no": record.reference_no,
        "department": notifier.department_label(record.department),
        "stage": notifier.stage_params(
            reference_no=record.reference_no, department=record.department, stage=record.stage, deadline=None
        )["stage"],
    }


async def _notify(
    work: FollowupWork,
    escalation: Escalation,
    template_id: str,
    params: dict[str, str],
    *,
    role: str,
    staff_id: str | None,
) -> None:
    record = escalation.record
    assert record.department is not None and record.correlation_id is not None
    department = Department(record.department)
    recipient = Recipient(kind="staff", role=role, staff_id=staff_id, department=department)
    work.emit(
        await work.context.notifier.request(
            work.repo,
            complaint_id=record.complaint_id,
            correlation_id=record.correlation_id,
            template_id=template_id,
            recipient=recipient,
            params=params,
            at=work.now,
        )
    )
