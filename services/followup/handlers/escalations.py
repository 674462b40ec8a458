"""A clock ran out: the first rung of its ladder is warned (`warning`), and at the deadline the case climbs the
ladder (`breach`), one rung per escalation interval up to the top (`escalation.py`, pure). Each rung climbed is
recorded, published (`complaint.escalated`) and the person at that rung is told (`escalate`) — also when a
customer is dissatisfied again (`outcomes.py`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from services.followup import escalation, events
from services.followup.handlers.context import FollowupWork
from services.followup.model import EscalationRecord, Subject, Timer
from services.followup.notifications import Notifier
from shared.contracts import Department, Recipient
from shared.logging import get_logger

log = get_logger(__name__)


async def warning(timer: Timer, subject: Subject, work: FollowupWork) -> None:
    """The first rung of the clock's ladder is warned; a corrective action's owner too."""
    clocks, notifier = work.context.clocks, work.context.notifier
    work.emit(
        events.sla_warning(
            timer,
            reference_no=subject.reference_no,
            department=subject.department,
            correlation_id=subject.correlation_id,
            share=clocks.warning_share,
            at=work.now,
            work_order_id=subject.work_order_id,
        )
    )
    department = Department(subject.department)
    recipients = [Recipient(kind="staff", role=clocks.ladder(timer.ladder).warned, department=department)]
    if timer.stage == "corrective_action" and subject.owner:
        recipients.insert(0, Recipient(kind="staff", staff_id=subject.owner, department=department))
    for recipient in recipients:
        work.emit(
            await notifier.request(
                work.repo,
                complaint_id=timer.complaint_id,
                correlation_id=subject.correlation_id,
                template_id="sla_warning",
                recipient=recipient,
                params=stage_params(notifier, subject, timer.stage, timer.deadline),
                at=work.now,
            )
        )


async def breach(timer: Timer, subject: Subject, work: FollowupWork) -> None:
    """The deadline passed: one rung up the clock's ladder, and the next rung's timer while there is one."""
    clocks, notifier = work.context.clocks, work.context.notifier
    climb = escalation.breach(
        clocks.ladder(timer.ladder), timer, work.now, reason=escalation.BREACH_REASONS.get(timer.stage)
    )
    record = climb.escalation
    params = stage_params(notifier, subject, record.stage, record.deadline) | {
        "escalated_to": notifier.role_label(record.escalated_to)
    }
    await escalate(
        record,
        work,
        reference_no=subject.reference_no,
        department=subject.department,
        correlation_id=subject.correlation_id,
        template_id="escalation",
        params=params,
        work_order_id=subject.work_order_id,
        answer_by=clocks.answer_due(timer.due_at),
    )
    if climb.next_level is not None:
        await work.repo.schedule(clocks.next_breach(timer, climb.next_level))


def stage_params(notifier: Notifier, subject: Subject, stage: str, deadline: datetime | None) -> dict[str, str]:
    return notifier.stage_params(
        reference_no=subject.reference_no, department=subject.department, stage=stage, deadline=deadline
    )


async def escalate(
    record: EscalationRecord,
    work: FollowupWork,
    *,
    reference_no: str,
    department: str,
    correlation_id: str,
    template_id: str,
    params: dict[str, str],
    work_order_id: uuid.UUID | None = None,
    answer_by: datetime | None = None,
) -> None:
    """One rung of the ladder: recorded, published, and the person at that rung notified. The department's answer
    is due by `answer_by` (`handlers/escalation_answers.py`; by default the policy's limit from now)."""
    record = replace(
        record,
        department=department,
        reference_no=reference_no,
        correlation_id=correlation_id,
        work_order_id=work_order_id,
        answer_by=answer_by or work.context.clocks.answer_due(record.at),
    )
    await work.repo.add_escalation(record)
    log.warning(
        "complaint escalated",
        stage=record.stage,
        level=record.level,
        escalated_to=record.escalated_to,
        ladder=record.ladder,
    )
    work.emit(
        events.complaint_escalated(
            record,
            reference_no=reference_no,
            department=department,
            correlation_id=correlation_id,
            work_order_id=work_order_id,
        )
    )
    work.emit(
        await work.context.notifier.request(
            work.repo,
            complaint_id=record.complaint_id,
            correlation_id=correlation_id,
            template_id=template_id,
            recipient=Recipient(kind="staff", role=record.escalated_to, department=Department(department)),
            params=params,
            at=record.at,
        )
    )
