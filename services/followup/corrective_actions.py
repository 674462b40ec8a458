"""Corrective actions of serious cases, held to their deadlines.

Leadership sets each action with an owner and a deadline (`corrective_action.set`, topic
`corrective-actions`); followup starts a clock to that deadline: at `warning_share` of it the owner and the
first rung of `[follow_through].corrective_action_ladder` are warned, at the deadline the case climbs that
ladder rung by rung (the timers fire in `handlers.py` like every clock). `corrective_action.completed`
stops it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from services.followup.model import CorrectiveAction
from services.followup.repository import FollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.contracts import CorrectiveActionCompleted, CorrectiveActionSet
from shared.db import Transactions
from shared.logging import bind_case, clear_case, get_logger

log = get_logger(__name__)
STAGE = "corrective_action"


class CorrectiveActionHandlers:
    def __init__(
        self, transactions: Transactions[FollowupRepository], *, clocks: ClockRules, clock: Callable[[], datetime]
    ) -> None:
        self.transactions = transactions
        self.clocks = clocks
        self.clock = clock

    async def on_corrective_action_events(
        self, batch: Sequence[CorrectiveActionSet | CorrectiveActionCompleted], *, consumer: str
    ) -> None:
        """A batch in one transaction, each event marked processed by `consumer` with its effect."""
        async with self.transactions() as work:
            for event in batch:
                if await work.repo.first_delivery(consumer, event.event_id):
                    bind_case(complaint_id=str(event.complaint_id))
                    if isinstance(event, CorrectiveActionSet):
                        await self._hold(work.repo, event)
                    else:
                        await self._done(work.repo, event)
            clear_case()
            work.commit()

    async def _hold(self, repo: FollowupRepository, event: CorrectiveActionSet) -> None:
        p = event.payload
        action = CorrectiveAction(
            action_id=p.action_id,
            complaint_id=p.complaint_id,
            reference_no=p.reference_no,
            work_order_id=p.work_order_id,
            department=p.department.value,
            owner=p.owner,
            deadline=p.deadline,
            status=p.status,
            correlation_id=event.correlation_id,
            set_at=p.at,
            description=p.description,
        )
        if not await repo.add_corrective_action(action) or p.status != "open":
            return
        for plan in self.clocks.corrective_action_clock(p.complaint_id, p.action_id, p.at, p.deadline):
            await repo.schedule(plan)
        log.info("corrective action held to its deadline", action_id=str(p.action_id))

    async def _done(self, repo: FollowupRepository, event: CorrectiveActionCompleted) -> None:
        p = event.payload
        await repo.complete_corrective_action(p.action_id, p.at)
        await repo.cancel(p.action_id, [STAGE], self.clock())
