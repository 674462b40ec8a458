"""Telling the partner hotlines (12345, 95598) what became of their tickets: the use cases behind the pushes.

- `push_partner_states` (the `channels.partner-pushes` subscription; events older than `PUSH_WINDOW` are history,
  not news): a complaint received on a partner channel is
  the hotline's ticket — kept, and 签收 (`accept`) queued; then, for such a ticket only, `complaint.invalid` queues 退单
  (`return`, the reason), a `workorder.resolved` that resolves the case 办结 (`reply`, the resolution text), and a
  final `callback.attempted` 回访 (`visit`, the result and the survey's scores). Other events change nothing.
  A state read before its ticket's 签收 (an earlier batch: the topics are read side by side) is held, and queued in
  the order the states happened once the 签收 registers the ticket; a 回访 is held until its 办结 is queued.
- `request_extension` (staff, `partners/routes.py`): 延期 (`extend`) with the reason and the new deadline.
- `claim_pushes` and `record_attempt` (the delivery worker, `partners/worker.py`): lease the oldest open push of
  each ticket, and record what the partner answered (delivered, refused, or tried again later: `pushes.py`).
- `partner_pushes_of` (staff): a ticket's pushes and the partner's answers.

A push is queued in the same unit of work as the event's processed mark, so an event is pushed once, and its id
comes from the event (`pushes.push_id`): the partner's idempotency key is the same however often it is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.channels.handlers.context import ChannelsWork
from services.channels.handlers.platform_events import PlatformEvent
from services.channels.pushes import (
    PARTNERS,
    Answer,
    PartnerTicket,
    Push,
    RetryPolicy,
    TicketState,
    after_attempt,
    new_push,
    ticket_state,
    visit_may_go,
)
from shared import topics
from shared.contracts import (
    CallbackAttempted,
    ComplaintInvalid,
    ComplaintReceived,
    Event,
    WorkOrderResolved,
)
from shared.errors import Conflict, Invalid, NotFound
from shared.logging import get_logger

log = get_logger(__name__)

#: Where the events that make pushes travel (every other event on them is read and skipped).
PUSH_TOPICS: tuple[str, ...] = (
    topics.COMPLAINT_RECEIVED,
    topics.COMPLAINT_ROUTED,
    topics.WORKORDERS_REPAIR,
    topics.WORKORDERS_BILLING,
    topics.WORKORDERS_CUSTOMER_SERVICE,
    topics.CALLBACK_EVENTS,
)
#: A state is news to the hotline only this long after it happened: a consumer group reading the topics' history
#: (a new deployment, a reset) must not replay a year of 签收 and 办结 to it.
PUSH_WINDOW = timedelta(days=7)
_PARTNER_CHANNELS = frozenset(channel.value for channel in PARTNERS)
#: What the push subscription reads: any event of the platform (an unknown or invalid one is poison).
PushEvent = PlatformEvent


async def push_partner_states(events: Sequence[Event], work: ChannelsWork) -> None:
    """A batch of the door's first deliveries (most of them make no push: read and skipped), taken in the order
    their states happened: the events come from several topics, whose records a batch interleaves in any order, and
    a ticket's 回访 read before its 办结 (or its 办结 before the 签收 that registers the ticket) would be queued out of
    order (or dropped). Across batches (a consumer catching up a backlog) the same holds through the held states."""
    expired = await work.repo.expire_partner_states(work.now - PUSH_WINDOW)
    if expired:
        log.warning("partner states that never met their ticket dropped", count=expired)
    for event in sorted(events, key=_happened_at):
        await push_partner_state(event, work)


def _happened_at(event: Event) -> datetime:
    if isinstance(event, ComplaintReceived):
        return event.payload.accepted_at
    state = _state_of(event)
    return state.occurred_at if state is not None else event.occurred_at


async def push_partner_state(event: Event, work: ChannelsWork) -> None:
    if work.now - event.occurred_at > PUSH_WINDOW:
        return  # history (a new consumer group reading the topics from the start): the hotline closed it long ago
    if isinstance(event, ComplaintReceived):
        await _accepted(event, work)
        return
    state = _state_of(event)
    if state is None:
        return
    ticket = await work.repo.partner_ticket(state.complaint_id)
    if ticket is not None:
        await _place(ticket, state, work)
    elif not await _not_a_partners(state.complaint_id, work):
        await work.repo.hold_partner_state(state, work.now)  # its 签收 comes in a later batch (or it is no ticket)


async def _not_a_partners(complaint_id: uuid.UUID, work: ChannelsWork) -> bool:
    """The case read model knows the complaint came another way (web, WeChat…): nothing to hold. Not known there
    either (that consumer may lag too): held, and dropped when its complaint.received shows it, or after the window."""
    case = await work.repo.case(complaint_id)
    return case is not None and case.channel is not None and case.channel not in _PARTNER_CHANNELS


async def _accepted(event: ComplaintReceived, work: ChannelsWork) -> None:
    p = event.payload
    partner = PARTNERS.get(p.channel)
    if partner is None or not p.channel_ticket_id:
        await work.repo.release_partner_states(p.complaint_id)  # read before it: not a hotline's, nothing to tell
        return
    ticket = PartnerTicket(p.complaint_id, partner, p.channel_ticket_id, p.reference_no)
    await work.repo.register_partner_ticket(ticket, work.now)
    await _queue(ticket, ticket_state(p.complaint_id, "accept", event.event_id, p.accepted_at), work)
    for state in await work.repo.release_partner_states(ticket.complaint_id):  # read in earlier batches
        await _place(ticket, state, work)


async def _place(ticket: PartnerTicket, state: TicketState, work: ChannelsWork) -> None:
    """Queue a state after the ticket's pushes so far — but a 回访 waits (held) for its 办结, and a 办结 lets the
    回访 that waited for it go."""
    if state.kind == "visit":
        told = await work.repo.pushes_of(ticket.complaint_id)
        if not any(p.push_id == state.push_id for p in told) and not visit_may_go([p.kind for p in told]):
            await work.repo.hold_partner_state(state, work.now)
            return
    await _queue(ticket, state, work)
    if state.kind == "reply":
        for waiting in await work.repo.release_partner_states(ticket.complaint_id):
            await _place(ticket, waiting, work)


def _state_of(event: Event) -> TicketState | None:
    """The state an event tells the partner, if any: kind, when, and the state's fields."""
    if isinstance(event, ComplaintInvalid):
        return ticket_state(
            event.complaint_id, "return", event.event_id, event.payload.invalid_at, reason=event.payload.reason
        )
    if isinstance(event, WorkOrderResolved) and event.payload.case_resolved:
        resolved = event.payload
        fields = {"resolution": resolved.resolution, "department": resolved.department.value}
        return ticket_state(event.complaint_id, "reply", event.event_id, resolved.at, **fields)
    if isinstance(event, CallbackAttempted) and event.payload.final:
        call = event.payload
        told: dict[str, Any] = {"result": call.outcome, "method": call.method or "phone"}
        if call.scores is not None:
            told["scores"] = call.scores.model_dump(exclude_none=True)
        return ticket_state(event.complaint_id, "visit", event.event_id, call.at, **told)
    return None


async def _queue(ticket: PartnerTicket, state: TicketState, work: ChannelsWork) -> None:
    push = state.push(ticket)
    if await work.repo.add_push(push, work.now):
        log.info("partner push queued", partner=ticket.partner, kind=state.kind, push_id=str(push.push_id))


#: 延期 is asked while the ticket is being worked on: after 签收 (or an earlier 延期), not once it was returned,
#: answered (办结) or called back.
EXTENDABLE_AFTER = frozenset({"accept", "extend"})


@dataclass(frozen=True)
class RequestExtension:
    """Staff ask the hotline for a later deadline (延期)."""

    reference_no: str
    reason: str
    new_deadline: datetime
    staff_id: str


async def request_extension(cmd: RequestExtension, work: ChannelsWork) -> Push:
    """Queue 延期; the same request again (same case, reason and deadline) is the same push."""
    ticket = await _ticket(cmd.reference_no, work)
    if cmd.new_deadline <= work.now:
        raise Invalid("the new deadline has passed", errors=[{"field": "new_deadline", "message": "in the past"}])
    told = await work.repo.pushes_of(ticket.complaint_id)
    if told and told[-1].kind not in EXTENDABLE_AFTER:
        raise Conflict(f"the hotline was last told {told[-1].label} ({told[-1].kind}): the ticket is not open for 延期")
    cause = _extension_cause(ticket, cmd)
    fields = {"reason": cmd.reason, "new_deadline": cmd.new_deadline.isoformat()}
    push = new_push(ticket, "extend", cause, work.now, **fields)
    await work.repo.add_push(push, work.now)
    log.info("partner extension requested", partner=ticket.partner, staff_id=cmd.staff_id, push_id=str(push.push_id))
    (stored,) = [p for p in await work.repo.pushes_of(ticket.complaint_id) if p.push_id == push.push_id]
    return stored


def _extension_cause(ticket: PartnerTicket, cmd: RequestExtension) -> uuid.UUID:
    return uuid.uuid5(ticket.complaint_id, f"extend:{cmd.new_deadline.isoformat()}:{cmd.reason}")


async def _ticket(reference_no: str, work: ChannelsWork) -> PartnerTicket:
    ticket = await work.repo.partner_ticket_by_reference(reference_no)
    if ticket is None:
        raise NotFound(f"no partner hotline ticket with reference {reference_no!r}")
    return ticket


@dataclass(frozen=True)
class PushesOf:
    reference_no: str


async def partner_pushes_of(cmd: PushesOf, work: ChannelsWork) -> tuple[PartnerTicket, list[Push]]:
    ticket = await _ticket(cmd.reference_no, work)
    return ticket, await work.repo.pushes_of(ticket.complaint_id)


@dataclass(frozen=True)
class ClaimPushes:
    """The worker's round: at most `limit` pushes (one per ticket) of the configured `partners`, leased for `lease`."""

    partners: tuple[str, ...]
    limit: int
    lease: timedelta


async def claim_pushes(cmd: ClaimPushes, work: ChannelsWork) -> list[Push]:
    return await work.repo.claim_pushes(cmd.partners, work.now, work.now + cmd.lease, cmd.limit)


@dataclass(frozen=True)
class RecordAttempt:
    push: Push
    answer: Answer
    policy: RetryPolicy


async def record_attempt(cmd: RecordAttempt, work: ChannelsWork) -> None:
    result = after_attempt(cmd.push, cmd.answer, work.now, cmd.policy)
    await work.repo.record_attempt(result)
    log.info(
        "partner push answered",
        partner=cmd.push.partner,
        kind=cmd.push.kind,
        push_id=str(cmd.push.push_id),
        status=result.status,
        attempts=result.attempts,
        answer_status=result.answer_status,
        error=result.last_error,
    )
