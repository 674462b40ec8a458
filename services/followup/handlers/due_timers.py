"""The timer worker's command: claim the timers that are due and fire them, in one unit of work with their effects
and the fired marks, so a process that dies mid-way leaves its timers due for another (`timers.py` decides when).

What a due timer does depends on its kind: a customer's first message retried until their contact arrives
(`caller_notice`: a linked caller's, or why their complaint is invalid), the interim reply promised to a phone
caller, a warning or a breach (`escalations.py`). Stages completed meanwhile were cancelled, so a timer that
fires is a clock that really ran out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.followup.handlers import callers, escalations, invalid
from services.followup.handlers.context import FollowupWork
from services.followup.metrics import TimerFired
from services.followup.model import Subject, Timer
from services.followup.notifications import customer_recipient
from services.followup.repository import FollowupRepository
from shared.handling import handling
from shared.logging import bind_case, clear_case, get_logger
from shared.observability import committed

log = get_logger(__name__)


@dataclass(frozen=True)
class FireDueTimers:
    """Fire up to `batch_size` due timers, marked fired by `worker`."""

    worker: str
    batch_size: int


async def fire_due_timers(cmd: FireDueTimers, work: FollowupWork) -> int:
    """Claim up to `batch_size` due timers and fire them; how many were."""
    due = await work.repo.claim_due(work.now, cmd.batch_size)
    for timer in due:
        bind_case(complaint_id=str(timer.complaint_id))
        with handling(timer):  # its customer message judged by when it came due (`Timer.occurred_at`)
            await fire(timer, work)
    clear_case()
    if due:
        committed.note(TimerFired(t.kind) for t in due)
        await work.repo.mark_fired([t.timer_id for t in due], work.now, cmd.worker)
    return len(due)


async def fire(timer: Timer, work: FollowupWork) -> None:
    """What a due timer does, by its kind."""
    if timer.kind == "caller_notice":
        await caller_notice(timer, work)
        return
    subject = await _subject(work.repo, timer)
    if subject is None:
        log.warning("timer for an unknown subject", timer_id=timer.timer_id)
        return
    if timer.stage == "satisfaction" and subject.status == "satisfied":
        return  # satisfied meanwhile (its close cancels this timer; this guards a race)
    fires = FIRES.get(timer.kind)
    if fires is None:
        log.warning("unknown timer kind", kind=timer.kind)
        return
    await fires(timer, subject, work)


async def _subject(repo: FollowupRepository, timer: Timer) -> Subject | None:
    """What the clock watches: a work order's stage, its callback, the duty manager's call, a corrective action,
    or a dissatisfied callback's case. None when there is nothing left to escalate."""
    if timer.stage == "callback":
        return await repo.callback_subject(timer.subject_id)
    if timer.stage == "duty_manager":
        return await repo.duty_subject(timer.subject_id)
    if timer.stage == "corrective_action":
        return await repo.action_subject(timer.subject_id)
    if timer.stage == "satisfaction":
        return await repo.dissatisfied_subject(timer.subject_id)
    return await repo.work_order_subject(timer.subject_id)


async def caller_notice(timer: Timer, work: FollowupWork) -> None:
    """A customer's first message (a linked caller's, or why their complaint is invalid), retried until their
    contact arrives (or given up, logged)."""
    if timer.stage == invalid.STAGE and not await invalid.pending(timer.complaint_id, work):
        return  # overturned (or told) while this timer fired: the retries stop here
    if customer_recipient(await work.repo.contact(timer.complaint_id)) is not None:
        if timer.stage == invalid.STAGE:
            await invalid.tell(timer.complaint_id, work)
        else:
            await callers.tell(timer.complaint_id, "joined", work)
        return
    retry = work.context.clocks.interim_reply_retry(timer, work.now)
    if retry is not None:
        await work.repo.schedule(retry)
    else:
        log.warning("no contact for the caller's first message", attempts=timer.level)


async def interim_reply(timer: Timer, subject: Subject, work: FollowupWork) -> None:
    """The reply promised to a phone caller within its limit; retried while their contact has not arrived."""
    recipient = customer_recipient(await work.repo.contact(timer.complaint_id))
    if recipient is None:
        retry = work.context.clocks.interim_reply_retry(timer, work.now)
        if retry is not None:
            await work.repo.schedule(retry)
        else:
            log.warning("no contact for the interim reply", attempts=timer.level + 1)
        return
    work.emit(
        await work.context.notifier.request(
            work.repo,
            complaint_id=timer.complaint_id,
            correlation_id=subject.correlation_id,
            template_id="interim_reply",
            recipient=recipient,
            params={"reference_no": subject.reference_no},
            at=work.now,
            severity=subject.severity,
        )
    )


#: What a timer of each kind does to the subject it watches.
FIRES: dict[str, Callable[[Timer, Subject, FollowupWork], Awaitable[None]]] = {
    "interim_reply": interim_reply,
    "warning": escalations.warning,
    "breach": escalations.breach,
}
