"""Taking an inbound message: the one use case every protocol calls (WeChat, mail, SMS replies, Open311).

It stores the raw message once per provider's id and hands on what it means, in one unit of work:
- a complaint → a `complaint_id` minted here (intake adopts it), a provisional case in the read model (so the
  sender's openid or mail address finds it before intake answers), and `channel.complaint`;
- a reply → the case found by the protocol or by its reference number, and `channel.reply` (an unknown reference
  still goes: intake holds every reference and dead-letters one it does not know, with the reason);
- neither → kept, `ignored`, with the protocol's `detail`.

Idempotent: the same (provider, provider's id) again returns the first message unchanged (`duplicate=True`) and
emits nothing — also when two deliveries race: the loser's insert waits for the winner's commit and gives way
(`ON CONFLICT DO NOTHING`), and its answer is the winner's message.

Attachments over `CHANNELS_ATTACHMENT_MAX_BYTES` are not kept: their names are listed in `skipped_attachments`
(the message itself is still taken; a mail cannot be answered with a 413).
"""

from __future__ import annotations

import dataclasses
import uuid

from services.channels import events
from services.channels.handlers.context import ChannelsWork
from services.channels.model import (
    Case,
    ComplaintDraft,
    MessageStatus,
    NewAttachment,
    StoredAttachment,
    StoredMessage,
    TakeMessage,
)
from shared.logging import get_logger

log = get_logger(__name__)

#: The namespace of the placeholder case id of a reply whose reference channels does not know (intake decides).
_UNKNOWN_REFERENCE = uuid.UUID("5b0c1d0e-8f0c-4a57-9d1c-23c4a1e1e023")


async def take_message(cmd: TakeMessage, work: ChannelsWork) -> StoredMessage:
    """Store, dedupe and emit; the stored message (with its case and reference number when known)."""
    earlier = await work.repo.message_by_provider_id(cmd.provider, cmd.provider_message_id)
    if earlier is not None:
        return dataclasses.replace(earlier, duplicate=True)
    limit = work.context.settings.channels_attachment_max_bytes
    kept = tuple(a for a in cmd.attachments if len(a.content) <= limit)
    skipped = tuple(a.file_name for a in cmd.attachments if len(a.content) > limit)
    status, complaint_id, reference_no = await _meaning(cmd, work)
    message = StoredMessage(
        message_id=uuid.uuid4(),
        provider=cmd.provider,
        provider_message_id=cmd.provider_message_id,
        channel=cmd.channel.value,
        status=status,
        received_at=cmd.received_at,
        stored_at=work.now,
        complaint_id=complaint_id,
        reference_no=reference_no,
        detail=cmd.detail,
        skipped_attachments=skipped,
    )
    if not await work.repo.insert_message(message, content_type=cmd.content_type, raw_body=cmd.raw_body):
        winner = await work.repo.message_by_provider_id(cmd.provider, cmd.provider_message_id)
        if winner is None:
            raise RuntimeError("inbound message insert conflicted but no earlier message was found")
        return dataclasses.replace(winner, duplicate=True)
    message = dataclasses.replace(message, attachments=await _store_attachments(message, kept, work))
    await _hand_on(cmd, message, work)
    log.info(
        "inbound message taken",
        provider=cmd.provider,
        status=status,
        complaint_id=str(complaint_id) if complaint_id else None,
        attachments=len(kept),
        skipped_attachments=len(skipped),
    )
    return message


async def _meaning(cmd: TakeMessage, work: ChannelsWork) -> tuple[MessageStatus, uuid.UUID | None, str | None]:
    if cmd.complaint is not None:
        return "complaint", uuid.uuid4(), None
    if cmd.reply is not None:
        reply = cmd.reply
        complaint_id = reply.complaint_id
        if complaint_id is None:
            case = await work.repo.case_by_reference(reply.reference_no)
            complaint_id = case.complaint_id if case else uuid.uuid5(_UNKNOWN_REFERENCE, reply.reference_no)
        return "reply", complaint_id, reply.reference_no
    return "ignored", None, None


async def _store_attachments(
    message: StoredMessage, files: tuple[NewAttachment, ...], work: ChannelsWork
) -> tuple[StoredAttachment, ...]:
    stored = []
    for file in files:
        attachment = StoredAttachment(
            attachment_id=uuid.uuid4(),
            message_id=message.message_id,
            file_name=file.file_name,
            content_type=file.content_type,
            size_bytes=len(file.content),
            stored_at=message.stored_at,
        )
        await work.repo.add_attachment(attachment, file.content)
        stored.append(attachment)
    return tuple(stored)


async def _hand_on(cmd: TakeMessage, message: StoredMessage, work: ChannelsWork) -> None:
    public_url = work.context.settings.channels_public_url
    correlation_id = cmd.correlation_id or f"{cmd.provider}-{message.message_id}"
    if cmd.complaint is not None:
        await work.repo.save_case(_provisional_case(message, cmd.complaint, work))
        work.emit(
            events.channel_complaint(message, cmd.complaint, public_url=public_url, correlation_id=correlation_id)
        )
    elif cmd.reply is not None:
        work.emit(events.channel_reply(message, cmd.reply, public_url=public_url, correlation_id=correlation_id))


def _provisional_case(message: StoredMessage, draft: ComplaintDraft, work: ChannelsWork) -> Case:
    """The case as channels knows it before intake answers: no reference number yet, the sender's contact hashes."""
    assert message.complaint_id is not None
    contacts, customer = work.context.contacts, draft.customer
    coordinates = draft.location.coordinates
    return Case(
        complaint_id=message.complaint_id,
        reference_no=None,
        channel=draft.channel.value,
        channel_ticket_id=None,
        status="received",
        received_at=message.received_at,
        updated_at=message.stored_at,
        category=draft.category_hint.value if draft.category_hint else None,
        district=draft.location.district,
        latitude=coordinates.latitude if coordinates else None,
        longitude=coordinates.longitude if coordinates else None,
        phone_hash=contacts.phone(customer.phone),
        phone_last4_hash=contacts.phone_last4(customer.phone),
        email_hash=contacts.email(customer.email),
        wechat_openid_hash=contacts.wechat_openid(customer.wechat_openid),
    )
