"""The duty manager: a counter complaint not settled on the spot, or an agitated customer on any channel,
brings the duty manager within minutes (the utilities' first-contact rule).

Followup reads every `complaint.received`; when `needs_duty_manager` says so, the duty manager is told at once
and a clock starts from when intake accepted the complaint. The agent's word that a counter complaint was settled
is not the last one: dispatch routes a safety hazard, an emergency or a serious complaint anyway, and that first
routing of a counter complaint (`unsettled_at_counter`) calls the duty manager too — a call is made once per
complaint, whichever event comes first. The clock is `[duty_manager].acknowledge` of the SLA policy
(scaled like every clock). The manager acknowledges over HTTP, which stops it; if nobody does, the clock warns
and then climbs `[duty_manager].ladder` rung by rung, fired with every other timer (`handlers.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.followup.model import DutyCall, DutyCallNotFound, DutyCallNotPending
from services.followup.notifications import Notifier
from services.followup.repository import FollowupRepository
from services.followup.sla_clocks import ClockRules
from shared.contracts import (
    ComplaintReceived,
    ComplaintReceivedPayload,
    ComplaintRouted,
    Department,
    Event,
    Recipient,
)
from shared.db import Transactions
from shared.logging import bind_case, clear_case, get_logger

log = get_logger(__name__)
#: Who is called, and whose the case is while nobody else has it: the agents' own department.
DUTY_DEPARTMENT = Department.CUSTOMER_SERVICE
STAGE = "duty_manager"


def needs_duty_manager(payload: ComplaintReceivedPayload, channels: Sequence[str]) -> str | None:
    """Why the duty manager must come, or None: an agitated customer (any channel), or a complaint on one of
    the policy's channels (the counter) that the agent did not settle on the spot."""
    if payload.customer_agitated:
        return "customer agitated"
    if payload.channel.value in channels and not payload.handled_on_contact:
        return f"{payload.channel.value} complaint not settled on the spot"
    return None


def unsettled_at_counter(event: ComplaintRouted, channels: Sequence[str]) -> str | None:
    """Why a routing calls the duty manager, or None: the first routing of a valid complaint on one of the
    policy's channels means it was not settled on the spot (an agent's settlement dispatch refused, or none)."""
    p = event.payload
    if p.valid and p.reason == "new" and p.cycle == 1 and p.channel.value in channels:
        return f"{p.channel.value} complaint not settled on the spot"
    return None


@dataclass(frozen=True)
class Arrival:
    """What a duty call needs of the complaint, from whichever event told followup first."""

    complaint_id: uuid.UUID
    reference_no: str
    channel: str
    accepted_at: datetime
    correlation_id: str


@dataclass(frozen=True)
class AcknowledgeDutyCall:
    """The duty manager has come (or taken the case over): their clock stops."""

    complaint_id: uuid.UUID
    manager: str
    note: str | None = None
    #: The signed-in person's display name (`manager` is then their staff id); None for a credential.
    manager_name: str | None = None


class DutyManagerHandlers:
    def __init__(
        self,
        transactions: Transactions[FollowupRepository],
        *,
        clocks: ClockRules,
        notifier: Notifier,
        clock: Callable[[], datetime],
    ) -> None:
        self.transactions = transactions
        self.clocks = clocks
        self.notifier = notifier
        self.clock = clock

    async def on_received(self, batch: Sequence[ComplaintReceived], *, consumer: str) -> None:
        """A batch of received complaints in one transaction; most need nobody and are only marked processed."""
        channels = self.clocks.sla.duty_manager.channels
        now = self.clock()
        async with self.transactions() as work:
            outgoing: list[Event] = []
            for event in batch:
                reason = needs_duty_manager(event.payload, channels)
                arrival = _arrival(event)
                if reason is None or self._stale(arrival, now):
                    continue
                if not await work.repo.first_delivery(consumer, event.event_id):
                    continue
                bind_case(complaint_id=str(event.complaint_id))
                outgoing += await self._call(work.repo, arrival, reason)
            clear_case()
            await work.repo.add_to_outbox(outgoing)
            work.commit()

    async def on_routed(self, repo: FollowupRepository, event: ComplaintRouted, now: datetime) -> list[Event]:
        """Inside the routing consumer's unit of work: a counter complaint routed for the first time was not
        settled on the spot, even if the agent said so (idempotent: one call per complaint)."""
        reason = unsettled_at_counter(event, self.clocks.sla.duty_manager.channels)
        arrival = _arrival(event)
        if reason is None or self._stale(arrival, now):
            return []
        return await self._call(repo, arrival, reason)

    def _stale(self, arrival: Arrival, now: datetime) -> bool:
        if not self.clocks.duty_manager_too_late(arrival.accepted_at, now):
            return False
        log.info("too old to call the duty manager", complaint_id=str(arrival.complaint_id))
        return True

    async def _call(self, repo: FollowupRepository, p: Arrival, reason: str) -> list[Event]:
        call = DutyCall(
            complaint_id=p.complaint_id,
            reference_no=p.reference_no,
            channel=p.channel,
            reason=reason,
            correlation_id=p.correlation_id,
            called_at=self.clock(),
            acknowledge_by=self.clocks.duty_manager_due(p.accepted_at),
        )
        if not await repo.add_duty_call(call):
            return []
        for plan in self.clocks.duty_manager_clock(p.complaint_id, p.accepted_at):
            await repo.schedule(plan)
        log.info("duty manager called", reason=reason)
        params = self.notifier.stage_params(
            reference_no=p.reference_no, department=DUTY_DEPARTMENT.value, stage=STAGE, deadline=call.acknowledge_by
        )
        return await self.notifier.request(
            repo,
            complaint_id=p.complaint_id,
            correlation_id=p.correlation_id,
            template_id="duty_manager_called",
            recipient=Recipient(kind="staff", role="duty_manager", department=DUTY_DEPARTMENT),
            params={k: params[k] for k in ("reference_no", "deadline")},
            at=call.called_at,
        )

    async def acknowledge(self, cmd: AcknowledgeDutyCall) -> DutyCall:
        """Stop the duty manager's clock. Raises `DutyCallNotFound` for a complaint followup does not know,
        `DutyCallNotPending` when no call waits for acknowledgement (none was made, or already acknowledged)."""
        async with self.transactions() as work:
            repo = work.repo
            call = await repo.duty_call_for_update(cmd.complaint_id)
            if call is None:
                if await repo.knows_complaint(cmd.complaint_id):
                    raise DutyCallNotPending(f"the duty manager was not called for complaint {cmd.complaint_id}")
                raise DutyCallNotFound(f"no complaint {cmd.complaint_id}")
            if call.acknowledged_at is not None:
                raise DutyCallNotPending(
                    f"complaint {cmd.complaint_id}: already acknowledged by {call.acknowledged_by}"
                )
            now = self.clock()
            await repo.acknowledge_duty_call(cmd.complaint_id, now, cmd.manager, cmd.note, name=cmd.manager_name)
            await repo.cancel(cmd.complaint_id, [STAGE], now)
            work.commit()
        bind_case(complaint_id=str(cmd.complaint_id))
        log.info("duty manager acknowledged", late=now > call.acknowledge_by)
        clear_case()
        return replace(
            call, acknowledged_at=now, acknowledged_by=cmd.manager, acknowledged_by_name=cmd.manager_name, note=cmd.note
        )


def _arrival(event: ComplaintReceived | ComplaintRouted) -> Arrival:
    """A routing's clocks start when intake accepted the complaint (`deadlines.starts_at`), like the received
    event's `accepted_at`: whichever comes first, the manager's limit is the same."""
    p = event.payload
    accepted_at = p.accepted_at if isinstance(p, ComplaintReceivedPayload) else p.deadlines.starts_at
    return Arrival(p.complaint_id, p.reference_no, p.channel.value, accepted_at, event.correlation_id)
