"""SLA clocks of a work order and of its callback, as timers: which ones an assignment starts, which ones a
department's step stops, and when the next one is due. Pure: `handlers.py` schedules and cancels them.

Every clock is two timers: a warning at a share of the limit (e.g. 80 %) and a breach at the limit, which
climbs the escalation ladder one rung per escalation interval (`escalation.py`). A phone complaint also
gets an interim-reply timer. A stage that is done in time has its timers cancelled, so a timer that fires
is a clock that really ran out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.followup.escalation import Ladder
from services.followup.model import Timer, TimerPlan, TrackedWorkOrder
from shared.sla import Limit, SlaTable, parse_limit

#: Which stages a work-order event completes (their clocks stop). Other events (notes) stop none.
STOPS: dict[str, tuple[str, ...]] = {
    "workorder.acknowledged": ("acknowledge",),
    "workorder.started": ("acknowledge", "on_site"),
    "workorder.resolved": ("acknowledge", "on_site", "resolve", "interim_reply"),
    "workorder.returned": ("acknowledge", "on_site", "resolve", "interim_reply"),
    "workorder.reassigned": ("acknowledge", "on_site", "resolve", "interim_reply"),
}
#: The step a work-order event records on followup's copy (its first time is kept).
STEPS: dict[str, str] = {
    "workorder.acknowledged": "acknowledged",
    "workorder.started": "started",
    "workorder.resolved": "resolved",
}
#: When a work order's resolution does not say how long the callback may take.
DEFAULT_CALLBACK_LIMIT = "1wd"
#: The contact travels on its own topic and may arrive after the interim reply is due: look again this
#: often, this many times.
CONTACT_RETRIES = 12
CONTACT_RETRY_DELAY = timedelta(seconds=5)


@dataclass(frozen=True)
class ClockRules:
    """The SLA policy's clock settings, and the time scale that shrinks them for tests and drills."""

    sla: SlaTable
    #: Shrinks every SLA clock (deadlines come scaled from dispatch; intervals are scaled here).
    time_scale: float = 1.0

    @property
    def ladder(self) -> Ladder:
        return Ladder(self.sla.escalation_ladder)

    @property
    def warning_share(self) -> float:
        return self.sla.warning_share

    def after(self, start: datetime, limit: Limit) -> datetime:
        return limit.deadline(start, self.sla.calendar, self.time_scale)

    def warn_at(self, start: datetime, deadline: datetime) -> datetime:
        return start + (deadline - start) * self.sla.warning_share

    def callback_due(self, resolved_at: datetime, callback_limit: str | None) -> datetime:
        return self.after(resolved_at, parse_limit(callback_limit or DEFAULT_CALLBACK_LIMIT))

    def next_breach(self, timer: Timer, level: int) -> TimerPlan:
        """The breach timer of the next rung, one escalation interval after this one."""
        return TimerPlan(
            complaint_id=timer.complaint_id,
            subject_id=timer.subject_id,
            kind="breach",
            stage=timer.stage,
            level=level,
            due_at=self.after(timer.due_at, self.sla.escalation_interval),
            deadline=timer.deadline,
        )

    def work_order_clocks(self, order: TrackedWorkOrder) -> list[TimerPlan]:
        """An assigned work order's timers: warning and breach per stage it has a deadline for, and the
        interim reply when one is promised."""
        plans: list[TimerPlan] = []
        stages = (("acknowledge", order.acknowledge_by), ("on_site", order.on_site_by), ("resolve", order.resolve_by))
        for stage, deadline in stages:
            if deadline is not None:
                plans += self._clock(order.complaint_id, order.work_order_id, stage, order.starts_at, deadline)
        if order.interim_reply_by is not None:
            plans.append(
                TimerPlan(
                    complaint_id=order.complaint_id,
                    subject_id=order.work_order_id,
                    kind="interim_reply",
                    stage="interim_reply",
                    due_at=order.interim_reply_by,
                    deadline=order.interim_reply_by,
                )
            )
        return plans

    def callback_clocks(
        self, complaint_id: uuid.UUID, callback_id: uuid.UUID, start: datetime, due_at: datetime
    ) -> list[TimerPlan]:
        return self._clock(complaint_id, callback_id, "callback", start, due_at)

    def interim_reply_retry(self, timer: Timer, now: datetime) -> TimerPlan | None:
        """Look for the customer's contact again shortly, or give up (None) after `CONTACT_RETRIES` (the interim
        reply, and a linked caller's first message)."""
        if timer.level >= CONTACT_RETRIES:
            return None
        return TimerPlan(
            complaint_id=timer.complaint_id,
            subject_id=timer.subject_id,
            kind=timer.kind,
            stage=timer.stage,
            level=timer.level + 1,
            due_at=now + CONTACT_RETRY_DELAY * self.time_scale,
            deadline=timer.deadline,
        )

    def caller_notice(self, complaint_id: uuid.UUID, now: datetime) -> TimerPlan:
        """A linked caller's first message, when their contact has not arrived yet: try again shortly."""
        return TimerPlan(
            complaint_id=complaint_id,
            subject_id=complaint_id,
            kind="caller_notice",
            stage="joined",
            due_at=now + CONTACT_RETRY_DELAY * self.time_scale,
            level=1,
        )

    def _clock(
        self, complaint_id: uuid.UUID, subject_id: uuid.UUID, stage: str, start: datetime, deadline: datetime
    ) -> list[TimerPlan]:
        warning = TimerPlan(complaint_id, subject_id, "warning", stage, self.warn_at(start, deadline), deadline)
        return [warning, TimerPlan(complaint_id, subject_id, "breach", stage, deadline, deadline, level=1)]
