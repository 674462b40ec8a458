"""What followup's handlers share: the pool, the SLA table, the notifier, time, and callback rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.followup.notifications import Notifier
from shared.sla import Limit, SlaTable


@dataclass(frozen=True)
class FollowupContext:
    pool: asyncpg.Pool
    sla: SlaTable
    notifier: Notifier
    #: Shrinks every SLA clock (deadlines come scaled from dispatch; intervals are scaled here).
    time_scale: float = 1.0
    callback_max_attempts: int = 3
    callback_retry_interval: timedelta = timedelta(hours=2)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def after(self, start: datetime, limit: Limit) -> datetime:
        return limit.deadline(start, self.sla.calendar, self.time_scale)

    @property
    def escalation_interval(self) -> Limit:
        return self.sla.escalation_interval

    @property
    def retry_interval(self) -> timedelta:
        return self.callback_retry_interval * self.time_scale
