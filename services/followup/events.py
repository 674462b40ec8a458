"""What followup publishes (through its outbox): the events, built from its domain types, and the topics
declared for AsyncAPI. Every event is keyed by complaint id and carries the case's correlation id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, cast

from services.followup.model import (
    Callback,
    DutyCall,
    Escalation,
    EscalationRecord,
    NotificationRecord,
    OutcomeDecision,
    Timer,
)
from shared import topics
from shared.contracts import (
    AnyCallbackEvent,
    AnyEscalationEvent,
    CallbackAttempted,
    CallbackAttemptPayload,
    CallbackFacts,
    CallbackScheduled,
    ComplaintClosed,
    ComplaintClosedPayload,
    ComplaintEscalated,
    ComplaintEscalatedPayload,
    ComplaintReopened,
    ComplaintReopenedPayload,
    Department,
    Event,
    NotificationRequested,
    NotificationRequestedPayload,
    Recipient,
    SlaWarning,
    SlaWarningPayload,
    SurveyScores,
    new_event,
)
from shared.contracts.followup import (
    DutyManagerArrived,
    DutyManagerCalled,
    DutyManagerCalledPayload,
    DutyManagerOnTheWay,
    DutyManagerStepPayload,
    EscalationAcknowledged,
    EscalationAcknowledgedPayload,
    EscalationAnswered,
    EscalationAnsweredPayload,
    EscalationSentBack,
    EscalationSentBackPayload,
    Stage,
)

SERVICE = "followup"

#: (topic, schema, description) of every topic followup publishes, for the AsyncAPI document.
PUBLISHED: tuple[tuple[str, Any, str], ...] = (
    (
        topics.COMPLAINT_ESCALATED,
        AnyEscalationEvent,
        "SLA warnings and escalations, rung by rung; each escalation's answer (acknowledged, answered, sent back); "
        "the duty manager's calls and their own steps (on the way, arrived).",
    ),
    (topics.CALLBACK_EVENTS, AnyCallbackEvent, "Callbacks scheduled and attempted."),
    (topics.COMPLAINT_REOPENED, ComplaintReopened, "Dissatisfied customers: a new cycle with raised severity."),
    (topics.COMPLAINT_CLOSED, ComplaintClosed, "Closed after a satisfied or finally unreachable callback."),
    (
        topics.NOTIFICATION_REQUESTED,
        NotificationRequested,
        "Restricted: messages for the notification gateway (customers' numbers inside).",
    ),
)


def _survey(scores: dict[str, int] | None) -> SurveyScores | None:
    """The survey's marks as the contract holds them (what pydantic would make of the dict)."""
    return SurveyScores.model_validate(scores) if scores is not None else None


def _envelope(complaint_id: uuid.UUID, correlation_id: str, at: datetime) -> dict[str, Any]:
    return {"complaint_id": complaint_id, "producer": SERVICE, "correlation_id": correlation_id, "occurred_at": at}


def watched(
    stage: str, subject_id: uuid.UUID | None, work_order_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The work order and corrective action an event about a clock names.

    Work-order stages watch the work order itself; a corrective action names its action and the work order
    whose resolution set it (if one did); the duty manager's and a callback's clocks watch no work order. The
    satisfaction stage has always carried the callback's id as its work order: kept, consumers may rely on it.
    """
    if stage == "corrective_action":
        return work_order_id, subject_id
    if stage in ("callback", "duty_manager"):
        return None, None
    return subject_id, None


def _facts(cb: Callback, at: datetime) -> dict[str, Any]:
    return {
        "callback_id": cb.callback_id,
        "complaint_id": cb.complaint_id,
        "reference_no": cb.reference_no,
        "work_order_id": cb.work_order_id,
        "department": cb.department,
        "cycle": cb.cycle,
        "due_at": cb.due_at,
        "at": at,
        "owner": cb.owner,
    }


def callback_scheduled(cb: Callback, *, correlation_id: str, causation_id: uuid.UUID) -> Event:
    return new_event(
        CallbackScheduled,
        **_envelope(cb.complaint_id, correlation_id, cb.created_at),
        causation_id=causation_id,
        payload=CallbackFacts(**_facts(cb, cb.created_at)),
    )


def callback_attempted(decision: OutcomeDecision, *, correlation_id: str, at: datetime) -> Event:
    cb = decision.callback
    return new_event(
        CallbackAttempted,
        **_envelope(cb.complaint_id, correlation_id, at),
        payload=CallbackAttemptPayload(
            **_facts(cb, at),
            outcome=decision.outcome,
            attempt=decision.attempt,
            agent=cb.last_agent or "",
            final=decision.final,
            scores=_survey(decision.callback.scores) if decision.outcome != "unreachable" else None,
            method=cb.last_method,
            agent_name=cb.last_agent_name,
        ),
    )


def complaint_reopened(decision: OutcomeDecision, *, correlation_id: str, at: datetime) -> Event:
    cb = decision.callback
    assert decision.raised_severity is not None and decision.dissatisfied_count is not None, "only a reopen has them"
    return new_event(
        ComplaintReopened,
        **_envelope(cb.complaint_id, correlation_id, at),
        payload=ComplaintReopenedPayload(
            complaint_id=cb.complaint_id,
            reference_no=cb.reference_no,
            reason=f"customer dissatisfied: {cb.last_note or 'no note'}",
            previous_work_order_id=cb.work_order_id,
            severity=decision.raised_severity,
            reopen_count=decision.dissatisfied_count,
            reopened_at=at,
        ),
    )


def complaint_closed(
    cb: Callback, outcome: Literal["satisfied", "unreachable"], *, correlation_id: str, at: datetime
) -> Event:
    return new_event(
        ComplaintClosed,
        **_envelope(cb.complaint_id, correlation_id, at),
        payload=ComplaintClosedPayload(
            complaint_id=cb.complaint_id,
            reference_no=cb.reference_no,
            work_order_id=cb.work_order_id,
            outcome=outcome,
            cycles=cb.cycle,
            closed_at=at,
        ),
    )


def sla_warning(
    timer: Timer,
    *,
    reference_no: str,
    department: str,
    correlation_id: str,
    share: float,
    at: datetime,
    work_order_id: uuid.UUID | None = None,
) -> Event:
    """`work_order_id` is the subject's work order, when it is not the timer's subject itself. The contract
    requires one: a clock without a work order (callback, duty manager) names its subject instead."""
    assert timer.deadline is not None, "warnings are only scheduled for clocks with a deadline"
    names, action_id = watched(timer.stage, timer.subject_id, work_order_id)
    return new_event(
        SlaWarning,
        **_envelope(timer.complaint_id, correlation_id, at),
        payload=SlaWarningPayload(
            complaint_id=timer.complaint_id,
            reference_no=reference_no,
            work_order_id=names or timer.subject_id,
            department=Department(department),
            stage=cast(Stage, timer.stage),
            deadline=timer.deadline,
            warned_at=at,
            share=share,
            corrective_action_id=action_id,
        ),
    )


def complaint_escalated(
    record: EscalationRecord,
    *,
    reference_no: str,
    department: str,
    correlation_id: str,
    work_order_id: uuid.UUID | None = None,
) -> Event:
    names, action_id = watched(record.stage, record.subject_id, work_order_id)
    return new_event(
        ComplaintEscalated,
        **_envelope(record.complaint_id, correlation_id, record.at),
        payload=ComplaintEscalatedPayload(
            complaint_id=record.complaint_id,
            reference_no=reference_no,
            work_order_id=names,
            department=Department(department),
            stage=cast(Stage, record.stage),
            level=record.level,
            escalated_to=record.escalated_to,
            deadline=record.deadline,
            reason=record.reason,
            escalated_at=record.at,
            ladder=record.ladder,
            corrective_action_id=action_id,
        ),
    )


def _escalation_step(
    escalation: Escalation, actor: str | None, actor_name: str | None, at: datetime | None
) -> dict[str, Any]:
    """The fields every step of an escalation's answer carries: the escalation, the case, who acted and when."""
    record = escalation.record
    if record.reference_no is None or record.department is None or actor is None or at is None:
        raise ValueError(f"escalation {record.escalation_id} has no case or step to publish")
    work_order_id, action_id = watched(record.stage, record.subject_id, record.work_order_id)
    return {
        "escalation_id": record.escalation_id,
        "complaint_id": record.complaint_id,
        "reference_no": record.reference_no,
        "work_order_id": work_order_id,
        "corrective_action_id": action_id,
        "department": Department(record.department),
        "stage": cast(Stage, record.stage),
        "level": record.level,
        "escalated_to": record.escalated_to,
        "ladder": record.ladder,
        "actor": actor,
        "actor_name": actor_name,
        "at": at,
    }


def _step_envelope(escalation: Escalation, at: datetime) -> dict[str, Any]:
    record = escalation.record
    return _envelope(record.complaint_id, record.correlation_id or f"escalation-{record.escalation_id}", at)


def escalation_acknowledged(escalation: Escalation, note: str | None) -> Event:
    a = escalation.answer
    step = _escalation_step(escalation, a.acknowledged_by, a.acknowledged_by_name, a.acknowledged_at)
    return new_event(
        EscalationAcknowledged,
        **_step_envelope(escalation, step["at"]),
        payload=EscalationAcknowledgedPayload(**step, note=note),
    )


def escalation_answered(escalation: Escalation, *, late: bool) -> Event:
    a = escalation.answer
    step = _escalation_step(escalation, a.answered_by, a.answered_by_name, a.answered_at)
    assert a.action is not None and a.promised_by is not None
    payload = EscalationAnsweredPayload(
        **step, action=a.action, promised_by=a.promised_by, answer_by=escalation.record.answer_by, late=late
    )
    return new_event(EscalationAnswered, **_step_envelope(escalation, step["at"]), payload=payload)


def escalation_sent_back(escalation: Escalation) -> Event:
    a, deadline = escalation.answer, escalation.record.answer_by
    step = _escalation_step(escalation, a.sent_back_by, a.sent_back_by_name, a.sent_back_at)
    assert a.instruction is not None and deadline is not None
    payload = EscalationSentBackPayload(**step, instruction=a.instruction, deadline=deadline)
    return new_event(EscalationSentBack, **_step_envelope(escalation, step["at"]), payload=payload)


def _duty_call(call: DutyCall) -> dict[str, Any]:
    return {
        "complaint_id": call.complaint_id,
        "reference_no": call.reference_no,
        "channel": call.channel,
        "reason": call.reason,
        "called_at": call.called_at,
        "go_by": call.acknowledge_by,
    }


def duty_manager_called(call: DutyCall) -> Event:
    return new_event(
        DutyManagerCalled,
        **_envelope(call.complaint_id, call.correlation_id, call.called_at),
        payload=DutyManagerCalledPayload(**_duty_call(call)),
    )


def duty_manager_step(call: DutyCall, step: Literal["on_the_way", "arrived"]) -> Event:
    """The duty manager's own step on a call: on the way, or arrived (the acknowledgement)."""
    if step == "on_the_way":
        kind: type[Event] = DutyManagerOnTheWay
        actor, name, at = call.on_the_way_by, call.on_the_way_by_name, call.on_the_way_at
    else:
        kind = DutyManagerArrived
        actor, name, at = call.acknowledged_by, call.acknowledged_by_name, call.acknowledged_at
    assert actor is not None and at is not None
    payload = DutyManagerStepPayload(
        **_duty_call(call), actor=actor, actor_name=name, at=at, late=at > call.acknowledge_by
    )
    return new_event(kind, **_envelope(call.complaint_id, call.correlation_id, at), payload=payload)


def notification_requested(
    record: NotificationRecord,
    *,
    correlation_id: str,
    locale: Literal["zh", "en"],
    recipient: Recipient,
    params: dict[str, str],
    text: str,
) -> Event:
    return new_event(
        NotificationRequested,
        **_envelope(record.complaint_id, correlation_id, record.at),
        payload=NotificationRequestedPayload(
            notification_id=record.notification_id,
            complaint_id=record.complaint_id,
            template_id=record.template_id,
            locale=locale,
            recipient=recipient,
            params=params,
            text=text,
            requested_at=record.at,
            urgency=cast(Literal["routine", "urgent"], record.urgency),
            reference_no=record.reference_no,
        ),
    )
