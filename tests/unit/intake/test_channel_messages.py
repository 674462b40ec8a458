"""What the channels service hands intake (`ingress.channel-messages`), on the in-memory fake through the door: a
complaint adopts the id channels minted and dedupes on the provider's message id; a reply on a known reference
becomes `complaint.customer_replied` (masked); an unknown reference is poison."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.intake.channel_ingress import TICKET_ID_MAX, channel_ticket_id
from services.intake.handlers.channel_messages import take_channel_message
from services.intake.handlers.context import IntakeContext
from services.intake.repository import IntakeRepository
from shared.contracts.channels import CustomerReplied
from shared.handling import Door
from shared.kafka.consumer import PoisonMessage
from tests.fakes.intake import FakeTransactions
from tests.support.channel_messages import channel_complaint, channel_reply

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def door() -> tuple[Door[IntakeRepository, IntakeContext], FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, IntakeContext(ZoneInfo("Asia/Shanghai")), clock=lambda: NOW), transactions


async def test_a_channel_complaint_keeps_the_id_channels_minted_and_dedupes_on_the_message_id() -> None:
    entrance, transactions = door()
    photo = {
        "attachment_id": uuid.uuid4(),
        "file_name": "暖气片.jpg",
        "content_type": "image/jpeg",
        "size_bytes": 2048,
        "url": "http://channels/v1/attachments/x",
    }
    message = channel_complaint(provider_message_id="24012345678901", attachments=(photo,))
    again = channel_complaint(provider_message_id="24012345678901")  # the provider sent it twice
    await entrance.each(take_channel_message, [message, again], consumer="intake.channel-messages")

    [stored] = transactions.state.complaints.values()
    assert stored.complaint_id == message.complaint_id
    assert stored.channel == "wechat" and stored.channel_ticket_id == "wechat:24012345678901"
    assert transactions.state.event_types() == ["complaint.received", "complaint.contact"]
    received = transactions.state.outbox[0]
    assert received.complaint_id == message.complaint_id
    assert [a.file_name for a in received.payload.attachments] == ["暖气片.jpg"]
    assert received.correlation_id == message.correlation_id


async def test_a_long_message_id_becomes_a_hashed_ticket_id_that_still_dedupes() -> None:
    long_id = "<" + "x" * 200 + "@mail.example.cn>"
    ticket = channel_ticket_id("imap", long_id)
    assert len(ticket) <= TICKET_ID_MAX and ticket.startswith("imap:sha256:")
    assert ticket == channel_ticket_id("imap", long_id) != channel_ticket_id("imap", long_id + "y")
    entrance, transactions = door()
    first = channel_complaint(
        provider="imap",
        provider_message_id=long_id,
        channel="email",
        customer={"email": "li@example.cn", "preferred_contact": "email"},
    )
    second = channel_complaint(
        provider="imap",
        provider_message_id=long_id,
        channel="email",
        customer={"email": "li@example.cn", "preferred_contact": "email"},
    )
    await entrance.each(take_channel_message, [first], consumer="c")
    await entrance.each(take_channel_message, [second], consumer="c")
    assert len(transactions.state.complaints) == 1


async def test_a_reply_on_a_known_reference_is_published_masked_on_its_case() -> None:
    entrance, transactions = door()
    complaint = channel_complaint()
    await entrance.each(take_channel_message, [complaint], consumer="c")
    [stored] = transactions.state.complaints.values()
    reply = channel_reply(stored.reference_no, kind="survey_score", score=2, text="2 我的电话13800138000")
    await entrance.each(take_channel_message, [reply], consumer="c")

    replied = transactions.state.outbox[-1]
    assert isinstance(replied, CustomerReplied)
    assert replied.complaint_id == stored.complaint_id == replied.payload.complaint_id
    assert replied.payload.reference_no == stored.reference_no
    assert (replied.payload.kind, replied.payload.score) == ("survey_score", 2)
    assert "13800138000" not in replied.payload.text and replied.payload.text.startswith("2 ")
    assert replied.causation_id == reply.event_id and replied.occurred_at == NOW
    assert replied.payload.message_id == reply.payload.message_id


async def test_a_reply_on_an_unknown_reference_is_poison_and_leaves_nothing() -> None:
    entrance, transactions = door()
    with pytest.raises(PoisonMessage, match="TS-20000101-999999"):
        await entrance.each(take_channel_message, [channel_reply("TS-20000101-999999")], consumer="c")
    assert transactions.state.outbox == [] and transactions.commits == 0


async def test_a_complaint_intake_refuses_is_poison_naming_the_field() -> None:
    entrance, _ = door()
    nobody = channel_complaint(customer={"preferred_contact": "wechat"})
    with pytest.raises(PoisonMessage, match="customer"):
        await entrance.each(take_channel_message, [nobody], consumer="c")
