"""A mail from the complaints mailbox, taken: a reply on a case or a new complaint handed to `take_message` (store
raw, dedupe on the Message-ID, emit), and the mailbox reader's position advanced — in one unit of work. So a crash or
an IMAP restart between two mails neither loses one (the position moves only with its mail) nor doubles one (a mail
read again has the same Message-ID: `take_message` returns the first and emits nothing).

`mail/meaning.py` decodes the mail into this command; here the read model decides what it is:
- a reply whose headers name one of notify's Message-IDs is certain: a note on that case (`channel.reply`, kind
  `note`), its complaint id taken from the read model when known (else intake decides by the reference number);
- a reference number only in the subject counts when the read model knows that case; otherwise the customer wrote
  a new mail that mentions some number: it is a complaint;
- no meaning (automatic mail, an unreadable one): kept, `ignored`, with the reason in `detail`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from services.channels.handlers.context import ChannelsWork
from services.channels.handlers.inbound import take_message
from services.channels.model import ComplaintDraft, NewAttachment, ReplyDraft, StoredMessage, TakeMessage
from services.channels.repository.mail import MailboxPosition
from shared.contracts.complaint import Channel

PROVIDER = "imap"
CONTENT_TYPE = "message/rfc822"


@dataclass(frozen=True)
class MailReply:
    """The case a mail seems to answer: `certain` when its thread headers name our Message-ID, not when only its
    subject carries the reference number."""

    reference_no: str
    certain: bool
    text: str


@dataclass(frozen=True)
class TakeMail:
    """One mail as the reader fetched and `mail/meaning.py` read it (`complaint` None: keep it only, see `detail`)."""

    position: MailboxPosition
    raw: bytes
    provider_message_id: str
    received_at: datetime | None = None
    complaint: ComplaintDraft | None = None
    reply: MailReply | None = None
    attachments: tuple[NewAttachment, ...] = ()
    detail: str | None = None


async def take_mail(cmd: TakeMail, work: ChannelsWork) -> StoredMessage:
    message = TakeMessage(
        provider=PROVIDER,
        provider_message_id=cmd.provider_message_id,
        channel=Channel.EMAIL,
        raw_body=cmd.raw,
        content_type=CONTENT_TYPE,
        received_at=cmd.received_at or work.now,
        attachments=cmd.attachments if cmd.complaint is not None else (),
        detail=cmd.detail,
        correlation_id=f"mail-{cmd.provider_message_id[:64]}",
    )
    reply = await _reply(cmd.reply, work) if cmd.complaint is not None else None
    if reply is not None:
        message = dataclasses.replace(message, reply=reply)
    elif cmd.complaint is not None:
        message = dataclasses.replace(message, complaint=cmd.complaint)
    stored = await take_message(message, work)
    await work.repo.advance_mailbox(cmd.position, work.now)
    return stored


async def _reply(candidate: MailReply | None, work: ChannelsWork) -> ReplyDraft | None:
    if candidate is None:
        return None
    case = await work.repo.case_by_reference(candidate.reference_no)
    if case is None and not candidate.certain:
        return None
    return ReplyDraft(
        channel=Channel.EMAIL,
        reference_no=candidate.reference_no,
        kind="note",
        text=candidate.text,
        complaint_id=case.complaint_id if case else None,
    )


async def mailbox_position(mailbox: str, work: ChannelsWork) -> MailboxPosition | None:
    """Where the reader of `mailbox` stands (read in its own short unit of work)."""
    return await work.repo.mailbox_position(mailbox)
