"""Intake's use cases on the in-memory fake, through the one door: a submission (reference number, events,
idempotency on the key and on the channel's ticket id, a race lost to a retry), a partner ticket, a read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.intake.handlers.complaints import find_complaint
from services.intake.handlers.context import IntakeContext
from services.intake.handlers.partner_tickets import take_partner_ticket
from services.intake.handlers.submit import submit_complaint
from services.intake.model import FindComplaint, IdempotencyKeyReused, StoredComplaint, SubmitComplaint
from services.intake.partner_ingress import PartnerTicket
from services.intake.repository import IntakeRepository
from services.intake.schemas import ComplaintCreate
from shared.contracts import Channel
from shared.errors import Conflict, NotFound
from shared.handling import Door
from shared.http.person import Person
from shared.kafka.consumer import PoisonMessage
from tests.fakes.intake import FakeIntakeRepository, FakeTransactions
from tests.fakes.transactions import CopyOnCommit
from tests.support.complaints import complaint

# 23:30 UTC is 07:30 the next morning in Shenyang: the reference number's day is the utility's local day.
NOW = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
CONTEXT = IntakeContext(ZoneInfo("Asia/Shanghai"))


def door() -> tuple[Door[IntakeRepository, IntakeContext], FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, CONTEXT, clock=lambda: NOW), transactions


def submission(channel: str = "web", key: str | None = None, **overrides: object) -> SubmitComplaint:
    return SubmitComplaint(ComplaintCreate.model_validate(complaint(channel, **overrides)), key, "corr-1")


async def test_a_submission_gets_the_local_days_reference_and_publishes_two_events() -> None:
    entrance, transactions = door()
    first = await entrance.run(submit_complaint, submission())
    second = await entrance.run(submit_complaint, submission())
    assert not first.replayed and first.complaint.reference_no == "TS-20261205-000001"
    assert second.complaint.reference_no == "TS-20261205-000002"
    assert first.complaint.accepted_at == NOW
    assert transactions.state.event_types() == ["complaint.received", "complaint.contact"] * 2
    received = transactions.state.outbox[0]
    assert received.complaint_id == first.complaint.complaint_id and received.correlation_id == "corr-1"
    assert transactions.commits == 2


async def test_a_retry_with_the_same_key_or_ticket_returns_the_first_and_publishes_nothing() -> None:
    entrance, transactions = door()
    cmd = submission(key="key-1")
    first = await entrance.run(submit_complaint, cmd)
    again = await entrance.run(submit_complaint, cmd)
    same_ticket = submission(channel_ticket_id=cmd.complaint.channel_ticket_id)
    by_ticket = await entrance.run(submit_complaint, same_ticket)
    assert again.replayed and by_ticket.replayed
    assert again.complaint == first.complaint == by_ticket.complaint
    assert len(transactions.state.complaints) == 1 and len(transactions.state.outbox) == 2
    # A retry takes no reference number.
    assert transactions.state.reference_sequences == {first.complaint.accepted_at.date().replace(day=5): 1}


async def test_a_key_reused_for_another_body_is_refused_as_before() -> None:
    entrance, transactions = door()
    await entrance.run(submit_complaint, submission(key="key-1"))
    with pytest.raises(IdempotencyKeyReused) as caught:
        await entrance.run(submit_complaint, submission(key="key-1", text="另一个投诉的内容"))
    refused = caught.value
    assert isinstance(refused, Conflict)
    assert (refused.status, refused.title, refused.detail) == (
        422,
        "Idempotency-Key reused",
        "this Idempotency-Key was used for a different complaint",
    )
    assert refused.problem_members() == {
        "errors": [{"field": "Idempotency-Key", "message": "already used for a different body"}]
    }
    assert len(transactions.state.complaints) == 1


@dataclass
class LosingRace(FakeIntakeRepository):
    """A retry that read before the first submission committed: its first lookup finds nothing, its insert
    meets the first one's row."""

    looked: bool = False

    async def find_existing(
        self, *, channel: str, idempotency_key: str | None, channel_ticket_id: str | None
    ) -> StoredComplaint | None:
        if not self.looked:
            self.looked = True
            return None
        return await super().find_existing(
            channel=channel, idempotency_key=idempotency_key, channel_ticket_id=channel_ticket_id
        )


async def test_a_retry_that_loses_the_insert_race_answers_with_the_winner() -> None:
    entrance, transactions = door()
    cmd = submission(key="key-1")
    winner = await entrance.run(submit_complaint, cmd)
    racing = CopyOnCommit(transactions.state, LosingRace)
    loser: Door[IntakeRepository, IntakeContext] = Door(racing, CONTEXT, clock=lambda: NOW)
    answer = await loser.run(submit_complaint, cmd)
    assert answer.replayed and answer.complaint == winner.complaint
    assert len(racing.state.complaints) == 1 and len(racing.state.outbox) == 2
    # The loser's number is skipped, as before; the next complaint takes the one after it.
    after = await entrance.run(submit_complaint, submission())
    assert after.complaint.reference_no == "TS-20261205-000003"


def partner_ticket(**overrides: object) -> PartnerTicket:
    body: dict[str, object] = {
        "source": "95598",
        "ticket_id": f"T-{uuid.uuid4().hex[:8]}",
        "received_at": "2026-12-04T23:00:00+00:00",
        "caller_phone": "13700137000",
        "address": "铁西区兴华街12号",
        "district": "tiexi",
        "content": "小区停水一整天了，也没有通知。",
    }
    return PartnerTicket.model_validate({**body, **overrides})


async def test_a_partner_ticket_becomes_a_complaint_once_however_often_delivered() -> None:
    entrance, transactions = door()
    ticket = partner_ticket()
    await entrance.each(take_partner_ticket, [ticket, ticket], consumer="intake.partner-tickets")
    await entrance.each(take_partner_ticket, [ticket], consumer="intake.partner-tickets")
    (stored,) = transactions.state.complaints.values()
    assert (stored.channel, stored.channel_ticket_id) == (Channel.PARTNER_95598.value, ticket.ticket_id)
    assert stored.correlation_id == f"95598-{ticket.ticket_id}"
    assert transactions.state.event_types() == ["complaint.received", "complaint.contact"]


async def test_a_partner_ticket_that_is_no_complaint_is_poison_and_leaves_no_trace() -> None:
    entrance, transactions = door()
    with pytest.raises(PoisonMessage) as caught:
        await entrance.each(take_partner_ticket, [partner_ticket(caller_phone="call me")], consumer="c")
    assert "customer.phone" in str(caught.value)
    assert transactions.commits == 0 and transactions.state.processed == set()


async def test_a_complaint_is_read_by_id_or_reference_only_by_who_may_see_it() -> None:
    entrance, _ = door()
    taken = await entrance.run(submit_complaint, submission("phone", agent_id="agent.li"))
    stored = taken.complaint
    agent = Person("agent.li", "李娜", frozenset({"agent"}))
    for ref in (str(stored.complaint_id), stored.reference_no):
        assert await entrance.run(find_complaint, FindComplaint(ref, Channel.PHONE)) == stored
        assert await entrance.run(find_complaint, FindComplaint(ref, agent)) == stored
    for ref, caller in ((stored.reference_no, Channel.WEB), ("not-a-uuid", Channel.PHONE), (str(uuid.uuid4()), agent)):
        with pytest.raises(NotFound) as caught:
            await entrance.run(find_complaint, FindComplaint(ref, caller))
        assert caught.value.detail == f"no complaint {ref!r} that this caller submitted"
