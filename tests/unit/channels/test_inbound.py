"""The one use case every protocol calls (`take_message`), on the in-memory fake through the door: a message is
stored once per provider's id and handed on once; a duplicate answers with the first; attachments over the limit are
named, not kept; a reply finds its case by reference number."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.channels.handlers.context import ChannelsContext
from services.channels.handlers.inbound import take_message
from services.channels.model import Case, ComplaintDraft, NewAttachment, ReplyDraft, TakeMessage
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.contracts import Channel, Location
from shared.contracts.channels import ChannelComplaint, ChannelCustomer, ChannelReply
from shared.handling import Door
from tests.fakes.channels import FakeTransactions

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
SETTINGS = ChannelsSettings(app_env="test", channels_attachment_max_bytes=4096, channels_public_url="http://ch:8006/")


def door() -> tuple[Door[ChannelsRepository, ChannelsContext], FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, ChannelsContext.from_settings(SETTINGS), clock=lambda: NOW), transactions


def complaint_message(msg_id: str = "24012345678901", **overrides: object) -> TakeMessage:
    draft = ComplaintDraft(
        channel=Channel.WECHAT,
        customer=ChannelCustomer(wechat_openid="oWx-openid-1", phone="+86 138-0013-8000", preferred_contact="wechat"),
        location=Location(address="和平区南京北街18号3单元502", district="heping"),
        text="暖气不热",
    )
    fields: dict[str, object] = {
        "provider": "wechat",
        "provider_message_id": msg_id,
        "channel": Channel.WECHAT,
        "raw_body": b"<xml><MsgId>24012345678901</MsgId></xml>",
        "content_type": "text/xml",
        "received_at": NOW,
        "complaint": draft,
    }
    fields.update(overrides)
    return TakeMessage(**fields)  # type: ignore[arg-type]


async def test_a_complaint_is_stored_once_and_handed_on_once() -> None:
    entrance, transactions = door()
    first = await entrance.run(take_message, complaint_message())
    again = await entrance.run(take_message, complaint_message())

    assert not first.duplicate and again.duplicate
    assert again.message_id == first.message_id and again.complaint_id == first.complaint_id
    assert first.status == "complaint" and first.complaint_id is not None
    [event] = transactions.state.outbox
    assert isinstance(event, ChannelComplaint)
    assert event.complaint_id == first.complaint_id
    assert (event.payload.provider, event.payload.provider_message_id) == ("wechat", "24012345678901")
    assert event.payload.message_id == first.message_id
    assert transactions.state.raw_bodies[first.message_id] == ("text/xml", b"<xml><MsgId>24012345678901</MsgId></xml>")


async def test_the_provisional_case_holds_hashes_only() -> None:
    entrance, transactions = door()
    stored = await entrance.run(take_message, complaint_message())
    assert stored.complaint_id is not None
    case = transactions.state.cases[stored.complaint_id]
    contacts = ChannelsContext.from_settings(SETTINGS).contacts
    assert case.reference_no is None and case.status == "received" and case.channel == "wechat"
    assert case.phone_hash == contacts.phone("13800138000")  # +86 and dashes normalised away
    assert case.phone_last4_hash == contacts.last4("8000")
    assert case.wechat_openid_hash == contacts.wechat_openid("oWx-openid-1")
    assert "13800138000" not in repr(case) and "oWx-openid-1" not in repr(case)


async def test_attachments_over_the_limit_are_named_not_kept() -> None:
    entrance, transactions = door()
    files = (
        NewAttachment("photo.jpg", "image/jpeg", b"\xff\xd8" + b"x" * 1000),
        NewAttachment("video.mp4", "video/mp4", b"x" * 5000),
    )
    stored = await entrance.run(take_message, complaint_message(attachments=files))
    assert [a.file_name for a in stored.attachments] == ["photo.jpg"]
    assert stored.skipped_attachments == ("video.mp4",)
    [event] = transactions.state.outbox
    [ref] = event.payload.attachments
    assert ref.size_bytes == 1002 and ref.url == f"http://ch:8006/v1/attachments/{ref.attachment_id}"
    duplicate = await entrance.run(take_message, complaint_message(attachments=files))
    assert [a.attachment_id for a in duplicate.attachments] == [ref.attachment_id]
    assert duplicate.skipped_attachments == ("video.mp4",)


async def test_a_reply_finds_its_case_by_reference_number() -> None:
    entrance, transactions = door()
    complaint_id = uuid.uuid4()
    transactions.state.cases[complaint_id] = Case(
        complaint_id, "TS-20261205-000007", "phone", None, "resolved", NOW, NOW
    )
    reply = ReplyDraft(channel=Channel.PHONE, reference_no="TS-20261205-000007", kind="survey_score", text="2", score=2)
    stored = await entrance.run(
        take_message,
        complaint_message("sms-1", provider="tencent-sms", channel=Channel.PHONE, complaint=None, reply=reply),
    )
    assert stored.status == "reply" and stored.complaint_id == complaint_id
    assert stored.reference_no == "TS-20261205-000007"
    [event] = transactions.state.outbox
    assert isinstance(event, ChannelReply) and event.complaint_id == complaint_id
    assert (event.payload.kind, event.payload.score, event.payload.reference_no) == (
        "survey_score",
        2,
        "TS-20261205-000007",
    )


async def test_a_reply_on_a_reference_channels_does_not_know_still_goes_to_intake() -> None:
    entrance, transactions = door()
    reply = ReplyDraft(channel=Channel.EMAIL, reference_no="TS-20200101-000001", kind="note", text="谢谢")
    stored = await entrance.run(
        take_message, complaint_message("<a@b>", provider="imap", channel=Channel.EMAIL, complaint=None, reply=reply)
    )
    again = await entrance.run(
        take_message, complaint_message("<a@b>", provider="imap", channel=Channel.EMAIL, complaint=None, reply=reply)
    )
    assert stored.status == "reply" and again.complaint_id == stored.complaint_id  # a stable placeholder
    assert transactions.state.event_types() == ["channel.reply"]


async def test_a_message_meaning_nothing_is_kept_and_not_handed_on() -> None:
    entrance, transactions = door()
    stored = await entrance.run(
        take_message, complaint_message("sub-1", complaint=None, detail="WeChat event: subscribe")
    )
    assert stored.status == "ignored" and stored.detail == "WeChat event: subscribe" and stored.complaint_id is None
    assert transactions.state.outbox == [] and stored.message_id in transactions.state.messages
