"""A customer answered one of our SMS: the reply belongs to the case of the last message we sent to that number.

An SMS carries no reference number, and a customer answers the message they just read: so the number (its keyed
hash, the case read model holds no raw phone) finds the case whose last message sent is the latest
(`case_last_messaged`), and the reply goes to intake as a `channel.reply` on that case, with what the protocol read
in it (`sms/replies.py`: a survey score, dissatisfied, or a note). Each reply is stored raw and deduplicated on the
vendor's id by the one inbound use case (`inbound.take_message`), so a vendor's retried push changes nothing.

A reply that finds no case — no message went to that number, or the last one is older than
`CHANNELS_SMS_REPLY_WINDOW_DAYS` (a "2" a month later answers nothing we can name) — is kept, `ignored`, with the
reason: nobody's case is touched by a guess; so is an empty reply. Several replies of one push are taken in one
unit of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.channels.handlers.context import ChannelsWork
from services.channels.handlers.inbound import take_message
from services.channels.model import Case, ReplyDraft, StoredMessage, TakeMessage
from shared.contracts import Channel
from shared.contracts.channels import ReplyKind

#: An SMS reply comes from the customer's phone (the contract's channels have no `sms`; preferred contact `phone`
#: and `sms` both mean SMS).
CHANNEL = Channel.PHONE


@dataclass(frozen=True)
class SmsReply:
    """One reply as the vendor pushed it, read by the protocol (`sms/`): who, what it says and means, the raw item."""

    provider: str
    provider_message_id: str
    phone: str
    text: str
    kind: ReplyKind
    score: int | None
    sent_at: datetime | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class TakeSmsReplies:
    """One vendor push: one reply (Tencent) or several (Aliyun)."""

    replies: tuple[SmsReply, ...]


async def take_sms_replies(cmd: TakeSmsReplies, work: ChannelsWork) -> list[StoredMessage]:
    """Each reply stored (once per vendor id) and handed on as a reply on its case, or kept `ignored`."""
    return [await take_message(_message(reply, await _case(reply, work), work), work) for reply in cmd.replies]


async def _case(reply: SmsReply, work: ChannelsWork) -> Case | None:
    """The case of the last message sent to the number, if recent enough and known by its reference number."""
    phone_hash = work.context.contacts.phone(reply.phone)
    case = await work.repo.case_last_messaged(phone_hash) if phone_hash else None
    if case is None or case.reference_no is None or case.last_message_at is None:
        return None
    window = timedelta(days=work.context.settings.channels_sms_reply_window_days)
    return case if case.last_message_at >= work.now - window else None


def _message(reply: SmsReply, case: Case | None, work: ChannelsWork) -> TakeMessage:
    draft, empty = None, not reply.text.strip()
    if case is not None and case.reference_no is not None and not empty:
        draft = ReplyDraft(
            channel=CHANNEL,
            reference_no=case.reference_no,
            kind=reply.kind,
            text=reply.text,
            score=reply.score,
            complaint_id=case.complaint_id,
        )
    days = work.context.settings.channels_sms_reply_window_days
    unmatched = f"no message sent to this number in the last {days} days: no case to reply on"
    return TakeMessage(
        provider=reply.provider,
        provider_message_id=reply.provider_message_id,
        channel=CHANNEL,
        raw_body=json.dumps(reply.raw, ensure_ascii=False).encode(),
        content_type="application/json",
        received_at=reply.sent_at or work.now,
        reply=draft,
        detail=None if draft else ("an empty reply: nothing to hand on" if empty else unmatched),
    )
