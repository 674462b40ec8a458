"""SLA clocks of a work order and of its callback, as timers: which ones an assignment starts, which ones a
department's step stops, and when the next one is due. Pure: the use cases (`handlers/`) schedule and cancel them.

Every clock is two timers: a warning at a share of the limit (e.g. 80 %) and a breach at the limit, which
climbs its escalation ladder (named by the SLA rule, kept on the timer) one rung per escalation interval
(`escalation.py`). A phone complaint also gets an interim-reply timer. Besides a work order's stages and
its callback, the same clocks watch the duty manager's acknowledgement, corrective actions' deadlines and a
customer still dissatisfied a day after the dissatisfied callback. A stage that is done in time has its
timers cancelled, so a timer that fires is a clock that really ran out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.followup.escalation import FIRST_RUNG_ONLY, Ladder
from services.followup.model import EscalationRecord, Timer, TimerPlan, TrackedWorkOrder
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


#: The channels whose tickets may carry a partner's deadline (complaint.received v4 `partner_deadline_at`).
PARTNER_CHANNELS = frozenset({"partner_12345", "partner_95598"})
#: The stages a partner hotline's deadline can bring forward (the interim reply and the callback keep theirs).
PARTNER_HELD_STAGES = frozenset({"acknowledge", "on_site", "resolve"})


def held_to(order: TrackedWorkOrder, deadline: datetime | None) -> TrackedWorkOrder:
    """A work order of a partner hotline's ticket (12345, 95598) held to the hotline's deadline where that is
    stricter: its resolve deadline — and any stage deadline past it — become the partner's, so the case's clocks
    warn and climb before the hotline's own clock runs out. The partner's deadline is the hotline's wall-clock
    time: not scaled like the policy's limits."""
    if deadline is None or order.resolve_by <= deadline:
        return order
    on_site = min(order.on_site_by, deadline) if order.on_site_by is not None else None
    return replace(order, acknowledge_by=min(order.acknowledge_by, deadline), on_site_by=on_site, resolve_by=deadline)


@dataclass(frozen=True)
class ClockRules:
    """The SLA policy's clock settings, and the time scale that shrinks them for tests and drills."""

    sla: SlaTable
    #: Shrinks every SLA clock (deadlines come scaled from dispatch; intervals are scaled here).
    time_scale: float = 1.0

    def ladder(self, name: str = "default") -> Ladder:
        """A ladder of the policy by name (an unknown name, e.g. one removed since the timer was set: the
        default ladder)."""
        known = name if name in self.sla.ladders else "default"
        return Ladder(self.sla.ladder(known), known)

    def ladder_for(self, category: str, severity: str, at: datetime, district: str | None) -> str:
        """The ladder the SLA rule of this case climbs (its area class counts, like for the limits)."""
        try:
            return self.sla.policy_for(category, severity, at, district=district).ladder
        except LookupError:
            return "default"

    @property
    def duty_manager_ladder(self) -> str:
        return self.sla.duty_manager.ladder

    @property
    def dissatisfied_ladder(self) -> str:
        return self.sla.config.follow_through.dissatisfied_ladder

    @property
    def corrective_action_ladder(self) -> str:
        return self.sla.config.follow_through.corrective_action_ladder

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
        """The breach timer of the next rung, when this rung's answer limit passes unanswered (the policy's
        `[escalation_answer] within`; the escalation interval when it names none)."""
        return TimerPlan(
            complaint_id=timer.complaint_id,
            subject_id=timer.subject_id,
            kind="breach",
            stage=timer.stage,
            level=level,
            due_at=self.answer_due(timer.due_at),
            deadline=timer.deadline,
            ladder=timer.ladder,
        )

    def answer_due(self, escalated_at: datetime) -> datetime:
        """By when the department must answer a rung climbed at `escalated_at` (scaled like every clock)."""
        return self.after(escalated_at, self.sla.escalation_answer_within)

    def sent_back(self, record: EscalationRecord, deadline: datetime) -> TimerPlan | None:
        """An answer sent back with a new deadline: the next rung's breach, due at that deadline (set by a person,
        so not scaled); None at the top of the ladder (nobody left to tell) or for a climb no timer drives."""
        ladder = self.ladder(record.ladder or "default")
        level = ladder.next_rung(record.level)
        if record.subject_id is None:
            return None
        if level is None or record.stage in FIRST_RUNG_ONLY:
            return None
        return TimerPlan(
            complaint_id=record.complaint_id,
            subject_id=record.subject_id,
            kind="breach",
            stage=record.stage,
            due_at=deadline,
            deadline=record.deadline,
            level=level,
            ladder=ladder.name,
        )

    def work_order_clocks(self, order: TrackedWorkOrder) -> list[TimerPlan]:
        """An assigned work order's timers: warning and breach per stage it has a deadline for, and the
        interim reply when one is promised."""
        plans: list[TimerPlan] = []
        stages = (("acknowledge", order.acknowledge_by), ("on_site", order.on_site_by), ("resolve", order.resolve_by))
        for stage, deadline in stages:
            if deadline is not None:
                plans += self._clock(
                    order.complaint_id, order.work_order_id, stage, order.starts_at, deadline, order.ladder
                )
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
        self, complaint_id: uuid.UUID, callback_id: uuid.UUID, start: datetime, due_at: datetime, ladder: str
    ) -> list[TimerPlan]:
        return self._clock(complaint_id, callback_id, "callback", start, due_at, ladder)

    def duty_manager_due(self, accepted_at: datetime) -> datetime:
        """When the duty manager must have acknowledged: the policy's limit from when intake accepted it."""
        return self.after(accepted_at, self.sla.duty_manager_acknowledge)

    def duty_manager_too_late(self, accepted_at: datetime, now: datetime) -> bool:
        """A complaint so old that its whole duty-manager ladder would already have been climbed: calling the
        duty manager now helps nobody (a new consumer group reading the topic's history, a long outage)."""
        rungs = len(self.sla.ladder(self.duty_manager_ladder))
        horizon = self.duty_manager_due(accepted_at)
        for _ in range(rungs):
            horizon = self.after(horizon, self.sla.escalation_interval)
        return now > horizon

    def duty_manager_clock(self, complaint_id: uuid.UUID, accepted_at: datetime) -> list[TimerPlan]:
        """The duty manager's acknowledgement clock; its subject is the complaint (there is no work order)."""
        deadline = self.duty_manager_due(accepted_at)
        return self._clock(complaint_id, complaint_id, "duty_manager", accepted_at, deadline, self.duty_manager_ladder)

    def corrective_action_clock(
        self, complaint_id: uuid.UUID, action_id: uuid.UUID, set_at: datetime, deadline: datetime
    ) -> list[TimerPlan]:
        """A corrective action held to its own deadline (set by leadership, so not scaled here)."""
        ladder = self.corrective_action_ladder
        return self._clock(complaint_id, action_id, "corrective_action", set_at, deadline, ladder)

    def still_dissatisfied(self, complaint_id: uuid.UUID, callback_id: uuid.UUID, now: datetime) -> TimerPlan:
        """A dissatisfied callback: if the customer is still not satisfied `dissatisfied_after` later, the first
        rung of the dissatisfied ladder (the project manager) hears of it — and nobody above by this timer
        (`escalation.FIRST_RUNG_ONLY`)."""
        due = self.after(now, self.sla.dissatisfied_after)
        return TimerPlan(complaint_id, callback_id, "breach", "satisfaction", due, due, 1, self.dissatisfied_ladder)

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

    def caller_notice(
        self, complaint_id: uuid.UUID, now: datetime, stage: str = "joined", owed_since: datetime | None = None
    ) -> TimerPlan:
        """A customer's first message (a linked caller's on joining, `joined`; why a complaint is invalid,
        `invalid`), when their contact has not arrived yet: try again shortly. `owed_since`, the time of the event
        that owes it, is kept as the timer's deadline (and its retries'): the message is judged by it when it fires
        (`Timer.occurred_at`), so a caller of last month read by a new consumer group is not told now."""
        return TimerPlan(
            complaint_id=complaint_id,
            subject_id=complaint_id,
            kind="caller_notice",
            stage=stage,
            due_at=now + CONTACT_RETRY_DELAY * self.time_scale,
            deadline=owed_since,
            level=1,
        )

    def _clock(
        self,
        complaint_id: uuid.UUID,
        subject_id: uuid.UUID,
        stage: str,
        start: datetime,
        deadline: datetime,
        ladder: str,
    ) -> list[TimerPlan]:
        warn_at = self.warn_at(start, deadline)
        warning = TimerPlan(complaint_id, subject_id, "warning", stage, warn_at, deadline, ladder=ladder)
        return [warning, TimerPlan(complaint_id, subject_id, "breach", stage, deadline, deadline, 1, ladder)]
