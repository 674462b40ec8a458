"""The partner pushes' use cases and delivery worker on the in-memory fake: which events make which state for a
hotline's ticket (and none for other complaints), once however often delivered; the worker sends a ticket's states
strictly in order, retries with backoff through a minute of the hotline being down (fake time), and records each
answer — every state delivered once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from services.channels.handlers.context import ChannelsContext
from services.channels.handlers.partner_pushes import (
    ClaimPushes,
    RequestExtension,
    claim_pushes,
    push_partner_states,
    request_extension,
)
from services.channels.model import Case
from services.channels.partners.worker import deliver_round
from services.channels.pushes import Answer, Push, RetryPolicy
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.contracts import CallbackAttempted, Event, new_event
from shared.errors import Conflict, Invalid, NotFound
from shared.handling import Door
from tests.fakes.channels import FakeTransactions
from tests.fakes.clock import SetClock
from tests.support.followup_events import START, Order, invalid, new_order, received, resolved

CONTEXT = ChannelsContext.from_settings(ChannelsSettings(app_env="test"))
CONSUMER = "channels.partner-pushes"
CLAIM = ClaimPushes(("12345", "95598"), 20, timedelta(seconds=60))
POLICY = RetryPolicy(first=timedelta(seconds=1), cap=timedelta(seconds=16))


def make() -> tuple[Door[ChannelsRepository, ChannelsContext], FakeTransactions, SetClock]:
    clock, transactions = SetClock(START), FakeTransactions()
    return Door(transactions, CONTEXT, clock=clock), transactions, clock


def partner_received(order: Order, channel: str = "partner_12345", ticket: str = "GD-0007") -> Event:
    event = received(order, channel=channel)
    payload = event.payload.model_copy(update={"channel_ticket_id": ticket, "agent_id": None})
    return event.model_copy(update={"payload": payload})


def callback(order: Order, *, final: bool = True, outcome: str = "satisfied") -> CallbackAttempted:
    return new_event(
        CallbackAttempted,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload={
            "callback_id": order.work_order_id,
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "work_order_id": order.work_order_id,
            "department": "repair",
            "cycle": 1,
            "due_at": START + timedelta(days=1),
            "at": START + timedelta(hours=5),
            "outcome": outcome,
            "attempt": 1,
            "agent": "agent-7",
            "final": final,
            "scores": {"supply": 4, "attitude": 5},
            "method": "phone",
        },
    )


def kinds(transactions: FakeTransactions) -> list[tuple[str, str, str]]:
    return [(p.ticket_id, p.kind, p.status) for p in transactions.state.partner_pushes]


async def test_a_hotlines_ticket_gets_its_states_and_other_complaints_none() -> None:
    door, transactions, _ = make()
    ours, web = new_order(), new_order()
    events = [
        partner_received(ours),
        received(web, channel="web"),
        resolved(web, at=START),
        resolved(ours, at=START + timedelta(hours=2), case_resolved=False),
        resolved(ours, at=START + timedelta(hours=3)),
        callback(ours, final=False, outcome="unreachable"),
        callback(ours),
    ]
    await door.batch(push_partner_states, events, consumer=CONSUMER)
    await door.batch(push_partner_states, events, consumer=CONSUMER)  # redelivered: nothing new
    assert kinds(transactions) == [("GD-0007", k, "pending") for k in ("accept", "reply", "visit")]
    reply, visit = transactions.state.partner_pushes[1:]
    assert dict(reply.fields) == {"resolution": "refunded", "department": "billing"}
    assert dict(visit.fields) == {"result": "satisfied", "method": "phone", "scores": {"supply": 4, "attitude": 5}}
    assert reply.reference_no == ours.reference_no


async def test_a_batch_that_read_the_topics_out_of_order_queues_the_states_in_the_order_they_happened() -> None:
    """A batch interleaves its topics' records in any order: the 回访 read first, then the 办结, then the 签收."""
    door, transactions, _ = make()
    ours = new_order()
    events = [callback(ours), resolved(ours, at=START + timedelta(hours=3)), partner_received(ours)]
    await door.batch(push_partner_states, events, consumer=CONSUMER)
    assert kinds(transactions) == [("GD-0007", k, "pending") for k in ("accept", "reply", "visit")]


async def test_states_read_in_batches_before_their_ticket_wait_and_go_in_the_order_they_happened() -> None:
    """A consumer catching up a backlog reads the topics side by side: the 回访, then the 办结, each in an earlier
    batch than the 签收 that registers the ticket. Another channel's states are not kept once it is known."""
    door, transactions, _ = make()
    ours, web, known = new_order(), new_order(), new_order()
    transactions.state.cases[known.complaint_id] = Case(known.complaint_id, None, "web", None, "received", None, START)
    first = [callback(ours), resolved(web, at=START), resolved(known, at=START)]
    await door.batch(push_partner_states, first, consumer=CONSUMER)
    assert len(transactions.state.partner_held_states) == 2, "ours and web's held; the known web case's not"
    await door.batch(push_partner_states, [resolved(ours, at=START + timedelta(hours=3))], consumer=CONSUMER)
    await door.batch(push_partner_states, [received(web, channel="web")], consumer=CONSUMER)
    assert transactions.state.partner_pushes == [] and len(transactions.state.partner_held_states) == 2
    await door.batch(push_partner_states, [partner_received(ours)], consumer=CONSUMER)
    assert kinds(transactions) == [("GD-0007", k, "pending") for k in ("accept", "reply", "visit")]
    assert transactions.state.partner_held_states == {}


async def test_a_visit_read_before_its_reply_waits_for_it_also_when_the_case_is_reopened() -> None:
    door, transactions, _ = make()
    ours = new_order()
    await door.batch(push_partner_states, [partner_received(ours)], consumer=CONSUMER)
    for batch in (
        [callback(ours, outcome="dissatisfied")],
        [resolved(ours, at=START + timedelta(hours=3))],
        [callback(ours)],  # the reopened case's callback, read before its second 办结
        [resolved(ours, at=START + timedelta(hours=8))],
    ):
        await door.batch(push_partner_states, batch, consumer=CONSUMER)
    assert [k for _, k, _ in kinds(transactions)] == ["accept", "reply", "visit", "reply", "visit"]
    assert [p.fields.get("result") for p in transactions.state.partner_pushes[2::2]] == ["dissatisfied", "satisfied"]
    assert transactions.state.partner_held_states == {}


async def test_a_held_state_that_never_meets_its_ticket_is_dropped_after_the_window() -> None:
    door, transactions, clock = make()
    await door.batch(push_partner_states, [resolved(new_order(), at=START)], consumer=CONSUMER)
    assert len(transactions.state.partner_held_states) == 1
    clock.advance(timedelta(days=8))
    await door.batch(push_partner_states, [partner_received(new_order())], consumer=CONSUMER)
    assert transactions.state.partner_held_states == {} and len(transactions.state.partner_pushes) == 1


async def test_the_topics_history_is_not_news_to_the_hotline() -> None:
    door, transactions, clock = make()
    clock.advance(timedelta(days=8))  # a new consumer group reading last week's events
    order = new_order()
    events = [e.model_copy(update={"occurred_at": START}) for e in (partner_received(order), resolved(order, at=START))]
    await door.batch(push_partner_states, events, consumer=CONSUMER)
    assert transactions.state.partner_pushes == [] and transactions.state.partner_tickets == {}


async def test_an_invalid_ticket_is_returned_with_the_reason() -> None:
    door, transactions, _ = make()
    order = new_order()
    await door.batch(push_partner_states, [partner_received(order, "partner_95598"), invalid(order)], consumer=CONSUMER)
    assert [(p.partner, p.kind) for p in transactions.state.partner_pushes] == [
        ("95598", "accept"),
        ("95598", "return"),
    ]
    assert transactions.state.partner_pushes[1].fields == {"reason": "不属于供热服务范围"}


async def test_staff_ask_for_an_extension_once_and_only_for_a_hotlines_ticket_with_a_future_deadline() -> None:
    door, transactions, _ = make()
    order = new_order()
    await door.batch(push_partner_states, [partner_received(order)], consumer=CONSUMER)
    ask = RequestExtension(order.reference_no, "主阀配件三日后到货", START + timedelta(days=3), "sup-1")
    first = await door.run(request_extension, ask)
    again = await door.run(request_extension, ask)
    assert first.push_id == again.push_id and (first.kind, first.label) == ("extend", "延期")
    assert first.fields == {"reason": "主阀配件三日后到货", "new_deadline": (START + timedelta(days=3)).isoformat()}
    assert len(transactions.state.partner_pushes) == 2
    with pytest.raises(Invalid):
        await door.run(request_extension, RequestExtension(order.reference_no, "x" * 5, START, "sup-1"))
    with pytest.raises(NotFound):
        await door.run(request_extension, RequestExtension("TS-00000000-000000", "理由充分", START, "sup-1"))
    await door.batch(push_partner_states, [resolved(order, at=START + timedelta(hours=3))], consumer=CONSUMER)
    later = RequestExtension(order.reference_no, "再延三日", START + timedelta(days=6), "sup-1")
    with pytest.raises(Conflict, match="办结"):
        await door.run(request_extension, later)


async def test_a_push_leased_by_a_worker_that_died_is_sent_again_with_the_same_key_after_the_lease() -> None:
    door, _, clock = make()
    await door.batch(push_partner_states, [partner_received(new_order())], consumer=CONSUMER)
    (first,) = await door.run(claim_pushes, CLAIM)  # the worker dies before it records the answer
    assert await door.run(claim_pushes, CLAIM) == [], "leased: no other worker takes it"
    clock.advance(CLAIM.lease)
    (again,) = await door.run(claim_pushes, CLAIM)
    assert (again.push_id, again.seq) == (first.push_id, first.seq)


@dataclass
class Hotline:
    """A hotline that is down until `down_until` (fake time), then takes every state; what it took, in order."""

    clock: SetClock
    down_until: object = None
    taken: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0

    async def send(self, push: Push) -> Answer:
        self.calls += 1
        if self.down_until is not None and self.clock() < self.down_until:  # type: ignore[operator]
            return Answer(503, '{"code": 5000, "message": "系统维护中"}')
        self.taken.append((push.ticket_id, push.kind, str(push.push_id)))
        return Answer(200, f'{{"code": 0, "receipt_id": "R{len(self.taken)}"}}')


async def test_the_worker_sends_each_tickets_states_in_order_through_a_minute_down_each_once() -> None:
    door, transactions, clock = make()
    first, second = new_order(), new_order()
    events = [
        partner_received(first, ticket="A"),
        partner_received(second, ticket="B"),
        resolved(first, at=START + timedelta(hours=3)),
        callback(first),
        resolved(second, at=START + timedelta(hours=4)),
    ]
    await door.batch(push_partner_states, events, consumer=CONSUMER)
    hotline = Hotline(clock, down_until=START + timedelta(minutes=1))
    rounds = 0
    while any(p.status == "pending" for p in transactions.state.partner_pushes):
        if not await deliver_round(door, hotline, CLAIM, POLICY):
            clock.advance(timedelta(seconds=1))
        rounds += 1
        assert rounds < 500, "stuck"
    assert [(t, k) for t, k, _ in hotline.taken if t == "A"] == [("A", "accept"), ("A", "reply"), ("A", "visit")]
    assert [(t, k) for t, k, _ in hotline.taken if t == "B"] == [("B", "accept"), ("B", "reply")]
    assert len({key for _, _, key in hotline.taken}) == len(hotline.taken) == 5
    accept = transactions.state.partner_pushes[0]
    # Down for 60 s: tried at 0, 1, 3, 7, 15, 31, 47 (capped at 16 s), 63 s — taken at the eighth attempt.
    assert (accept.status, accept.attempts, accept.receipt_id) == ("delivered", 8, "R1")
    assert accept.answered_at == START + timedelta(seconds=63)
    assert all(p.status == "delivered" and p.last_error is None for p in transactions.state.partner_pushes)


async def test_a_refused_state_is_recorded_and_the_next_one_still_goes() -> None:
    door, transactions, _ = make()
    order = new_order()
    await door.batch(push_partner_states, [partner_received(order), invalid(order)], consumer=CONSUMER)

    class Refusing:
        async def send(self, push: Push) -> Answer:
            if push.kind == "accept":
                return Answer(200, '{"code": 1003, "message": "工单已撤回"}')
            return Answer(200, '{"code": 0, "receipt_id": "R9"}')

    while await deliver_round(door, Refusing(), CLAIM, POLICY):
        pass
    accept, returned = transactions.state.partner_pushes
    assert (accept.status, accept.last_error, accept.answer_status) == (
        "refused",
        "HTTP 200 code 1003: 工单已撤回",
        200,
    )
    assert (returned.status, returned.receipt_id) == ("delivered", "R9")
