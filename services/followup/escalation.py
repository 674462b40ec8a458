"""Escalation ladders: who hears about a case, rung by rung. The SLA policy names the ladders (`[ladders]`)
and which one each rule climbs (default: supervisor → department manager → general manager; emergencies,
the duty manager, the dissatisfied path and corrective actions have their own).

Pure, and shared by both ways a case climbs: a clock that ran out (one rung per escalation interval,
`breach`: SLA stages, the duty manager, corrective actions, a customer still dissatisfied a day later — that
one tells only the first rung, the project manager) and a customer dissatisfied again (straight to the top
of the dissatisfied ladder, `dissatisfied_again`).
Warnings go to the first rung (`warned`). `handlers/escalations.py` records each rung, publishes it and
notifies the person.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.followup.model import EscalationRecord, Timer

#: Why a clock's breach climbs, where "<stage> deadline passed" would not say it.
BREACH_REASONS: dict[str, str] = {
    "duty_manager": "duty manager did not acknowledge in time",
    "corrective_action": "corrective action deadline passed",
    "satisfaction": "customer still dissatisfied after handling",
}

#: Clocks whose breach tells the first rung only and climbs no further by itself: a customer still
#: dissatisfied a day later is the project manager's; the general manager hears of a case only when the
#: customer is dissatisfied again (`dissatisfied_again`).
FIRST_RUNG_ONLY: frozenset[str] = frozenset({"satisfaction"})


@dataclass(frozen=True)
class Ladder:
    """The configured roles, first rung first; levels count from 1. `name` is the policy's name for it."""

    roles: tuple[str, ...]
    name: str = "default"

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError("the escalation ladder needs at least one rung")

    @property
    def top(self) -> int:
        return len(self.roles)

    @property
    def warned(self) -> str:
        """Who gets the warning before a limit runs out: the first rung."""
        return self.roles[0]

    def role(self, level: int) -> str:
        return self.roles[level - 1]

    def rung(self, level: int) -> int:
        """A breach timer's level on this ladder: past the top (the ladder got shorter) stays at the top."""
        return min(level, self.top)

    def next_rung(self, level: int) -> int | None:
        """The rung after `level`, or None at the top (nobody left to tell)."""
        return level + 1 if level < self.top else None


@dataclass(frozen=True)
class Climb:
    """One rung climbed, and the rung the next breach timer is for (None at the top)."""

    escalation: EscalationRecord
    next_level: int | None


def breach(ladder: Ladder, timer: Timer, now: datetime, *, reason: str | None = None) -> Climb:
    """A breach timer fired: its clock ran out, so the rung it stands for hears of it (and the next rung is
    due an interval later, unless the clock stops at the first rung)."""
    level = ladder.rung(timer.level)
    record = EscalationRecord(
        complaint_id=timer.complaint_id,
        subject_id=timer.subject_id,
        stage=timer.stage,
        level=level,
        escalated_to=ladder.role(level),
        reason=reason or f"{timer.stage} deadline passed",
        timer_id=timer.timer_id,
        at=now,
        deadline=timer.deadline,
        ladder=ladder.name,
    )
    return Climb(record, None if timer.stage in FIRST_RUNG_ONLY else ladder.next_rung(level))


def dissatisfied_again(
    ladder: Ladder, *, complaint_id: uuid.UUID, callback_id: uuid.UUID, count: int, now: datetime
) -> EscalationRecord:
    """A customer dissatisfied again skips the ladder (the dissatisfied one): its top rung is told at once."""
    return EscalationRecord(
        complaint_id=complaint_id,
        subject_id=callback_id,
        stage="satisfaction",
        level=ladder.top,
        escalated_to=ladder.role(ladder.top),
        reason=f"customer dissatisfied {count} times",
        timer_id=None,
        at=now,
        ladder=ladder.name,
    )
