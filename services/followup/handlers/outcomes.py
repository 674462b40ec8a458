"""An agent called the customer back: the call is recorded and `model.decide_outcome` (pure) says what it does to
the case — satisfied closes it (and tells the customer), dissatisfied reopens it a severity up (and holds it to the
dissatisfied ladder: a day later the first rung, dissatisfied again its top at once), unreachable retries it until
the attempts run out, then closes it. An agent's task to phone a customer no message reached
(`failed_notifications.py`) is only completed or retried."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from services.followup import escalation, events
from services.followup.handlers.context import FollowupWork
from services.followup.handlers.escalations import escalate
from services.followup.model import Callback, CallbackNotFound, OutcomeDecision, Verdict, decide_outcome
from services.followup.notifications import customer_recipient
from shared.contracts import CallbackOutcome
from shared.contracts.followup import CallbackMethod
from shared.logging import bind_case, get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RecordOutcome:
    """An agent called the customer back: what came of it."""

    callback_id: uuid.UUID
    outcome: CallbackOutcome
    agent: str
    note: str | None = None
    #: The survey's 1-5 marks (supply, attitude, speed, billing), when the customer answered it.
    scores: dict[str, int] | None = None
    #: The signed-in person's display name (`agent` is then their staff id); None for a credential.
    agent_name: str | None = None
    method: CallbackMethod = "phone"


async def record_outcome(cmd: RecordOutcome, work: FollowupWork) -> Callback:
    """Record a call and apply what `decide_outcome` says it does; returns the callback as it is now.

    Raises `CallbackNotFound`, or `CallbackClosed` when its outcome was already recorded."""
    repo = work.repo
    callback = await repo.callback_for_update(cmd.callback_id)
    if callback is None:
        raise CallbackNotFound(f"no callback {cmd.callback_id}")
    bind_case(complaint_id=str(callback.complaint_id))
    if callback.is_task:
        return await _record_task(callback, cmd, work)
    severity, correlation_id = await repo.severity_and_correlation(callback)
    before = await repo.dissatisfied_count(callback.complaint_id) if cmd.outcome == "dissatisfied" else 0
    decision = _decide(callback, cmd, work, severity=severity, dissatisfied_before=before)
    await _apply(decision, correlation_id, severity, work)
    log.info("callback outcome recorded", outcome=cmd.outcome, attempt=decision.attempt, final=decision.final)
    return decision.callback


def _decide(
    callback: Callback, cmd: RecordOutcome, work: FollowupWork, *, severity: str, dissatisfied_before: int
) -> OutcomeDecision:
    return decide_outcome(
        callback,
        cmd.outcome,
        agent=cmd.agent,
        note=cmd.note,
        now=work.now,
        severity=severity,
        dissatisfied_before=dissatisfied_before,
        policy=work.context.callbacks,
        scores=cmd.scores,
        agent_name=cmd.agent_name,
        method=cmd.method,
    )


async def _record_task(task: Callback, cmd: RecordOutcome, work: FollowupWork) -> Callback:
    """An agent phoned a customer no message reached: reached completes the task, unreachable retries it like a
    callback; nothing of the case changes and no callback event is published."""
    decision = _decide(task, cmd, work, severity="normal", dissatisfied_before=0)
    await work.repo.save_callback(decision.callback)
    log.info("notification task recorded", outcome=cmd.outcome, attempt=decision.attempt, final=decision.final)
    return decision.callback


async def _apply(decision: OutcomeDecision, correlation_id: str, severity: str | None, work: FollowupWork) -> None:
    callback, now = decision.callback, work.now
    await work.repo.save_callback(callback)
    work.emit(events.callback_attempted(decision, correlation_id=correlation_id, at=now))
    if decision.final:
        await work.repo.cancel(callback.callback_id, ["callback"], now)
    closes_as = decision.closes_as
    if closes_as is not None:
        await _close(callback, closes_as, correlation_id, severity, work)
    elif decision.reopens:
        await _reopen(decision, correlation_id, work)


async def _reopen(decision: OutcomeDecision, correlation_id: str, work: FollowupWork) -> None:
    """Dissatisfied: the case reopens a severity up, and the dissatisfied ladder holds it — a day later its first
    rung if still not satisfied, or dissatisfied again its top at once."""
    callback, now, clocks = decision.callback, work.now, work.context.clocks
    assert decision.dissatisfied_count is not None
    await work.repo.set_dissatisfied_count(callback.complaint_id, decision.dissatisfied_count)
    work.emit(events.complaint_reopened(decision, correlation_id=correlation_id, at=now))
    if decision.verdict is Verdict.REOPEN:
        # Still not satisfied a day later (not closed satisfied by then): the dissatisfied ladder.
        await work.repo.schedule(clocks.still_dissatisfied(callback.complaint_id, callback.callback_id, now))
        return
    # Dissatisfied again: the top of the dissatisfied ladder at once; nothing left to climb to.
    await work.repo.cancel_for_complaint(callback.complaint_id, ["satisfaction"], now)
    record = escalation.dissatisfied_again(
        clocks.ladder(clocks.dissatisfied_ladder),
        complaint_id=callback.complaint_id,
        callback_id=callback.callback_id,
        count=decision.dissatisfied_count,
        now=now,
    )
    params = {
        "reference_no": callback.reference_no,
        "department": work.context.notifier.department_label(callback.department),
    }
    await escalate(
        record,
        work,
        reference_no=callback.reference_no,
        department=callback.department,
        correlation_id=correlation_id,
        template_id="dissatisfied_again",
        params=params,
    )


async def _close(
    callback: Callback,
    outcome: Literal["satisfied", "unreachable"],
    correlation_id: str,
    severity: str | None,
    work: FollowupWork,
) -> None:
    """Close the case; a satisfied customer is also told it is closed."""
    now = work.now
    await work.repo.close_case(callback.complaint_id, now, outcome)
    if outcome == "satisfied":
        await work.repo.cancel_for_complaint(callback.complaint_id, ["satisfaction"], now)
    work.emit(events.complaint_closed(callback, outcome, correlation_id=correlation_id, at=now))
    recipient = customer_recipient(await work.repo.contact(callback.complaint_id))
    if outcome == "satisfied" and recipient is not None:
        work.emit(
            await work.context.notifier.request(
                work.repo,
                complaint_id=callback.complaint_id,
                correlation_id=correlation_id,
                template_id="case_closed",
                recipient=recipient,
                params={"reference_no": callback.reference_no},
                at=now,
                severity=severity,
            )
        )
