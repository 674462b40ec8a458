"""Taking a mail (`mail/meaning.py` → `handlers/mail.py`, on the in-memory repository): a GBK complaint with its
photo becomes `channel.complaint` with the attachment; a reply to notify's Message-ID a note on its case; a subject
reference only when the case is known; automatic and unreadable mail kept, not handed on; the reader's position
moves with each mail, and a mail read again (a lost position, a new UIDVALIDITY) is not a second complaint."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from services.channels.handlers.context import ChannelsContext
from services.channels.handlers.mail import TakeMail, take_mail
from services.channels.mail.meaning import read_mail, unreadable
from services.channels.model import Case
from services.channels.repository.mail import MailboxPosition
from services.channels.settings import ChannelsSettings
from shared.contracts.channels import ChannelComplaint, ChannelReply
from shared.handling import Door
from tests.fakes.channels import FakeTransactions
from tests.support.mails import PHOTO, gbk_complaint, html_reply

DOMAIN = "mail.utility.example"
BOX = "imap://complaints@127.0.0.1:993/INBOX"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
REFERENCE = "TS-20261205-000042"


def _door() -> tuple[Door[Any, ChannelsContext], FakeTransactions]:
    settings = ChannelsSettings(app_env="test", channels_mail_reply_domain=DOMAIN)
    transactions = FakeTransactions()
    return Door(transactions, ChannelsContext.from_settings(settings), clock=lambda: NOW), transactions


def _command(raw: bytes, uid: int, uidvalidity: int = 7) -> TakeMail:
    return read_mail(
        MailboxPosition(BOX, uidvalidity, uid), raw, None, reply_domain=DOMAIN, max_attachment_bytes=1_000_000
    )


async def test_a_gbk_complaint_with_a_photo_is_handed_on_once_and_the_position_moves() -> None:
    door, tx = _door()
    first = await door.run(take_mail, _command(gbk_complaint(message_id="<c1@example.cn>"), uid=1))
    again = await door.run(take_mail, _command(gbk_complaint(message_id="<c1@example.cn>"), uid=1, uidvalidity=8))
    assert first.status == "complaint" and again.duplicate and again.message_id == first.message_id
    [event] = tx.state.outbox
    assert isinstance(event, ChannelComplaint)
    payload = event.payload
    assert (payload.provider, payload.provider_message_id, payload.channel.value) == (
        "imap",
        "<c1@example.cn>",
        "email",
    )
    assert payload.text.startswith("投诉：暖气不热\n\n暖气不热")
    assert (payload.location.address, payload.location.district) == ("和平区五经路12号3单元502室", "和平区")
    customer = payload.customer
    assert (customer.email, customer.phone, customer.account_no, customer.preferred_contact.value) == (
        "zhangsan@example.cn",
        "13812345678",
        "HX-1001",
        "email",
    )
    [photo] = payload.attachments
    assert (photo.file_name, photo.size_bytes) == ("现场照片.jpg", len(PHOTO))
    assert tx.state.attachments[photo.attachment_id][1] == PHOTO
    # The mailbox was rebuilt (UIDVALIDITY 8): its position is the new one, the mail no second complaint.
    assert tx.state.mailbox_positions[BOX] == MailboxPosition(BOX, 8, 1)


async def test_a_reply_to_our_message_is_a_note_on_its_case() -> None:
    door, tx = _door()
    case_id = uuid.uuid4()
    tx.state.cases[case_id] = Case(case_id, REFERENCE, "email", None, "routed", NOW, NOW)
    ours = f"<{uuid.uuid4()}.{REFERENCE}@{DOMAIN}>"
    stored = await door.run(take_mail, _command(html_reply(message_id="<r1@example.cn>", answers=ours), uid=2))
    assert (stored.status, stored.complaint_id, stored.reference_no) == ("reply", case_id, REFERENCE)
    [event] = tx.state.outbox
    assert isinstance(event, ChannelReply) and event.complaint_id == case_id
    assert (event.payload.kind, event.payload.text) == ("note", "修了以后还是不热。\n谢谢")
    assert tx.state.mailbox_positions[BOX].last_uid == 2


async def test_a_subject_reference_counts_only_for_a_known_case() -> None:
    door, tx = _door()
    case_id = uuid.uuid4()
    tx.state.cases[case_id] = Case(case_id, REFERENCE, "email", None, "routed", NOW, NOW)
    known = html_reply(message_id="<s1@x>", answers="<a@elsewhere>", subject=f"关于 {REFERENCE}")
    unknown = html_reply(message_id="<s2@x>", answers="<b@elsewhere>", subject="关于 TS-20200101-000001")
    assert (await door.run(take_mail, _command(known, uid=3))).status == "reply"
    assert (await door.run(take_mail, _command(unknown, uid=4))).status == "complaint"
    assert [e.event_type for e in tx.state.outbox] == ["channel.reply", "channel.complaint"]


async def test_automatic_and_unreadable_mail_is_kept_not_handed_on() -> None:
    door, tx = _door()
    vacation = gbk_complaint(message_id="<v1@x>").replace(
        b"MIME-Version", b"Auto-Submitted: auto-replied\r\nMIME-Version"
    )
    kept = await door.run(take_mail, _command(vacation, uid=5))
    broken = await door.run(take_mail, unreadable(MailboxPosition(BOX, 7, 6), b"\x00garbage", None, "unreadable: X"))
    assert (kept.status, kept.detail) == ("ignored", "automatic mail (Auto-Submitted)")
    assert (broken.status, broken.detail, broken.provider_message_id[:7]) == ("ignored", "unreadable: X", "sha256:")
    assert tx.state.outbox == [] and tx.state.mailbox_positions[BOX].last_uid == 6


async def test_an_oversized_photo_is_named_in_the_text_not_kept() -> None:
    door, tx = _door()
    command = read_mail(
        MailboxPosition(BOX, 7, 1),
        gbk_complaint(message_id="<big@x>"),
        None,
        reply_domain=DOMAIN,
        max_attachment_bytes=100,
    )
    await door.run(take_mail, dataclasses.replace(command))
    [event] = tx.state.outbox
    assert isinstance(event, ChannelComplaint) and event.payload.attachments == ()
    assert f"现场照片.jpg ({len(PHOTO)} bytes)" in event.payload.text
