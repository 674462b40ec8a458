"""The duty manager called, held to time, and acknowledged.

Followup reads every `complaint.received`; when `duty_calls.needs_duty_manager` says so, the duty manager is told
at once and a clock starts from when intake accepted the complaint; a counter complaint's first routing calls them
too (`duty_calls.unsettled_at_counter`), once per complaint whichever comes first. The clock is
`[duty_manager].acknowledge` of the SLA policy (scaled like every clock). The manager acknowledges over HTTP, which
stops it; if nobody does, the clock warns and then climbs `[duty_manager].ladder` rung by rung, fired with every
other timer (`due_timers.py`).

Issue 24: the duty manager takes their own steps, signed in — "on my way" (the clock runs on) and "arrived" (the
acknowledgement: the clock stops). The call and each step are published on `complaint.escalated`
(`duty_manager.called|on_the_way|arrived`: no customer data), so the duty page updates live and the case's timeline
shows them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from services.followup import events
from services.followup.duty_calls import (
    DUTY_DEPARTMENT,
    STAGE,
    Arrival,
    arrival,
    needs_duty_manager,
    unsettled_at_counter,
)
from services.followup.handlers.context import FollowupWork
from services.followup.model import DutyCall, DutyCallNotFound, DutyCallNotPending
from shared.contracts import ComplaintReceived, ComplaintRouted, Recipient
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class AcknowledgeDutyCall:
    """The duty manager has come (or taken the case over): their clock stops."""

    complaint_id: uuid.UUID
    manager: str
    note: str | None = None
    #: The signed-in person's display name (`manager` is then their staff id); None for a credential.
    manager_name: str | None = None


@dataclass(frozen=True)
class DutyManagerOnTheWay:
    """The duty manager, signed in themself, is on the way to the case."""

    complaint_id: uuid.UUID
    manager: str
    manager_name: str | None


async def on_received(event: ComplaintReceived, work: FollowupWork) -> None:
    """A received complaint: most need nobody."""
    reason = needs_duty_manager(event.payload, work.context.clocks.sla.duty_manager.channels)
    if reason is not None:
        await _call(arrival(event), reason, work)


async def on_routed(event: ComplaintRouted, work: FollowupWork) -> None:
    """A counter complaint routed for the first time was not settled on the spot, even if the agent said so."""
    reason = unsettled_at_counter(event, work.context.clocks.sla.duty_manager.channels)
    if reason is not None:
        await _call(arrival(event), reason, work)


async def acknowledge(cmd: AcknowledgeDutyCall, work: FollowupWork) -> DutyCall:
    """Stop the duty manager's clock. Raises `DutyCallNotFound` for a complaint followup does not know,
    `DutyCallNotPending` when no call waits for acknowledgement (none was made, or already acknowledged)."""
    repo = work.repo
    call = await _pending(work, cmd.complaint_id)
    await repo.acknowledge_duty_call(cmd.complaint_id, work.now, cmd.manager, cmd.note, name=cmd.manager_name)
    await repo.cancel(cmd.complaint_id, [STAGE], work.now)
    log.info("duty manager acknowledged", late=work.now > call.acknowledge_by, complaint_id=str(cmd.complaint_id))
    arrived = replace(
        call,
        acknowledged_at=work.now,
        acknowledged_by=cmd.manager,
        acknowledged_by_name=cmd.manager_name,
        note=cmd.note,
    )
    work.emit(events.duty_manager_step(arrived, "arrived"))
    return arrived


async def on_the_way(cmd: DutyManagerOnTheWay, work: FollowupWork) -> DutyCall:
    """Record that the duty manager is on the way (the clock runs on until they arrive). Raises `DutyCallNotFound`
    or `DutyCallNotPending` as `acknowledge` does, and `DutyCallNotPending` when they already said so."""
    call = await _pending(work, cmd.complaint_id)
    if call.on_the_way_at is not None:
        raise DutyCallNotPending(f"complaint {cmd.complaint_id}: {call.on_the_way_by} is already on the way")
    await work.repo.duty_call_on_the_way(cmd.complaint_id, work.now, cmd.manager, cmd.manager_name)
    going = replace(call, on_the_way_at=work.now, on_the_way_by=cmd.manager, on_the_way_by_name=cmd.manager_name)
    work.emit(events.duty_manager_step(going, "on_the_way"))
    return going


async def _pending(work: FollowupWork, complaint_id: uuid.UUID) -> DutyCall:
    call = await work.repo.duty_call_for_update(complaint_id)
    if call is None:
        if await work.repo.knows_complaint(complaint_id):
            raise DutyCallNotPending(f"the duty manager was not called for complaint {complaint_id}")
        raise DutyCallNotFound(f"no complaint {complaint_id}")
    if call.acknowledged_at is not None:
        raise DutyCallNotPending(f"complaint {complaint_id}: already acknowledged by {call.acknowledged_by} (arrived)")
    return call


async def _call(p: Arrival, reason: str, work: FollowupWork) -> None:
    """The call (once per complaint), its clock, and the message to the duty manager — unless the complaint is too
    old for a call to help."""
    clocks, notifier = work.context.clocks, work.context.notifier
    if clocks.duty_manager_too_late(p.accepted_at, work.now):
        log.info("too old to call the duty manager", complaint_id=str(p.complaint_id))
        return
    call = DutyCall(
        complaint_id=p.complaint_id,
        reference_no=p.reference_no,
        channel=p.channel,
        reason=reason,
        correlation_id=p.correlation_id,
        called_at=work.now,
        acknowledge_by=clocks.duty_manager_due(p.accepted_at),
    )
    if not await work.repo.add_duty_call(call):
        return
    await work.repo.schedule_all(clocks.duty_manager_clock(p.complaint_id, p.accepted_at))  # one statement
    log.info("duty manager called", reason=reason)
    work.emit(events.duty_manager_called(call))
    params = notifier.stage_params(
        reference_no=p.reference_no, department=DUTY_DEPARTMENT.value, stage=STAGE, deadline=call.acknowledge_by
    )
    work.emit(
        await notifier.request(
            work.repo,
            complaint_id=p.complaint_id,
            correlation_id=p.correlation_id,
            template_id="duty_manager_called",
            recipient=Recipient(kind="staff", role="duty_manager", department=DUTY_DEPARTMENT),
            params={k: params[k] for k in ("reference_no", "deadline")},
            at=call.called_at,
        )
    )
