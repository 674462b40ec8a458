"""Callers of an incident, an outage notice or a case they duplicate (`complaint.joined`, `complaint.linked`,
`complaint.eta_changed`, `complaint.fault_fixed`): told when they join (cause and ETA), when the ETA changes and
when the fault is fixed; then each gets their own callback, with their own clock, for the owner of their own case.

A caller's first message waits for their contact (it travels on its own topic): until it is known a
`caller_notice` timer looks again (`due_timers.py`).
"""

from __future__ import annotations

import uuid
from typing import Literal

from services.followup.handlers import callbacks
from services.followup.handlers.context import FollowupWork
from services.followup.model import Caller
from services.followup.notifications import customer_recipient
from shared.contracts import ComplaintEtaChanged, ComplaintFaultFixed, ComplaintJoined, ComplaintLinked
from shared.handling import cause_at

#: What a caller is linked to.
GroupKind = Literal["incident", "outage", "duplicate"]


async def joined(event: ComplaintJoined, work: FollowupWork) -> None:
    """A caller joins an incident or an outage notice: kept with the cause and ETA they are told, and told."""
    p = event.payload
    kind: GroupKind = "incident" if p.incident_id else "outage"
    group = p.incident_id or p.outage_id
    assert group is not None
    caller = Caller(
        p.complaint_id, p.reference_no, kind, group, p.cause, p.cause_en, p.eta, event.correlation_id, work.now
    )
    if await work.repo.add_caller(caller):
        await tell(caller.complaint_id, "joined", work)


async def linked(event: ComplaintLinked, work: FollowupWork) -> None:
    """A caller whose complaint duplicates an open case: kept, and told they are linked to it."""
    p = event.payload
    caller = Caller(
        p.complaint_id,
        p.reference_no,
        "duplicate",
        p.linked_to_complaint_id,
        None,
        None,
        None,
        event.correlation_id,
        work.now,
    )
    if await work.repo.add_caller(caller):
        await tell(caller.complaint_id, "joined", work)


async def eta_changed(event: ComplaintEtaChanged, work: FollowupWork) -> None:
    await work.repo.update_caller(event.complaint_id, eta=event.payload.eta)
    await tell(event.complaint_id, "eta_changed", work)


async def fault_fixed(event: ComplaintFaultFixed, work: FollowupWork) -> None:
    """Their fault is fixed: they get their own callback with their own clock, for the owner of their own case
    (v2; a v1 event's callback has none), and are told."""
    p, clocks = event.payload, work.context.clocks
    group = p.incident_id or p.outage_id or p.linked_to_complaint_id
    kind: GroupKind = "incident" if p.incident_id else "outage" if p.outage_id else "duplicate"
    assert group is not None
    await work.repo.add_caller(
        Caller(p.complaint_id, p.reference_no, kind, group, None, None, None, event.correlation_id, work.now)
    )
    await work.repo.update_caller(p.complaint_id, fixed_at=p.fixed_at)
    # An outage caller's callback follows the outage notice: no work order was opened for them.
    scheduled = await callbacks.start_callback(
        event,
        work,
        work_order_id=p.work_order_id or group,
        department=p.department.value,
        cycle=1,
        resolution=p.resolution,
        due_at=clocks.callback_due(p.fixed_at, p.callback_limit),
        at=p.fixed_at,
        severity=p.severity.value,
        owner=p.owner,
        ladder=clocks.ladder_for(p.category.value, p.severity.value, p.fixed_at, None),
    )
    if scheduled is None:
        return
    work.emit(scheduled)
    await tell(p.complaint_id, "fault_fixed", work)


async def tell(complaint_id: uuid.UUID, what: str, work: FollowupWork) -> None:
    """One message to a linked caller: on joining (retried until their contact arrives), on a new ETA, when
    fixed (those two only when the contact is known: the first message then told them everything)."""
    caller = await work.repo.caller(complaint_id)
    contact = await work.repo.contact(complaint_id)
    if caller is None:
        return
    template = _template(caller) if what == "joined" else what
    notifier = work.context.notifier
    recipient = customer_recipient(contact)
    if recipient is None:
        if what == "joined":
            await work.repo.schedule(work.context.clocks.caller_notice(complaint_id, work.now, owed_since=cause_at()))
        return
    work.emit(
        await notifier.request(
            work.repo,
            complaint_id=complaint_id,
            correlation_id=caller.correlation_id,
            template_id=template,
            recipient=recipient,
            params=notifier.caller_params(caller, template),
            at=work.now,
            reference_no=caller.reference_no,
        )
    )


def _template(caller: Caller) -> str:
    """The first message: linked to a case, or joined to a group (with its ETA when there is one)."""
    if caller.group_kind == "duplicate":
        return "duplicate_linked"
    return "group_joined" if caller.eta else "group_joined_no_eta"
