"""What channels publishes, built from a stored message and what it means: `channel.complaint` (a new complaint,
its `complaint_id` minted here and adopted by intake) or `channel.reply` (a reply on a case), both on the restricted
`ingress.channel-messages`, keyed by the case. Attachments travel as references (`Attachment.url`), never content.

Areas that publish more (partner pushes record their answers in their own tables; replies to customers go through
notify's `notification.requested`) add their builders in their own handler modules and their topic to `PUBLISHED`.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from services.channels.model import ComplaintDraft, ReplyDraft, StoredAttachment, StoredMessage
from shared import topics
from shared.contracts import new_event
from shared.contracts.channels import (
    ChannelComplaint,
    ChannelComplaintPayload,
    ChannelReply,
    ChannelReplyPayload,
)
from shared.contracts.complaint import Attachment

SERVICE = "channels"

MessageEvent = TypeVar("MessageEvent", ChannelComplaint, ChannelReply)

#: (topic, schema, description) of every topic channels publishes, for the AsyncAPI document.
PUBLISHED: tuple[tuple[str, Any, str], ...] = (
    (
        topics.CHANNEL_MESSAGES,
        ChannelComplaint | ChannelReply,
        "What an external protocol brought: a new complaint (id minted here, adopted by intake) or a reply on a case.",
    ),
)


def attachment_url(public_url: str, attachment_id: uuid.UUID) -> str:
    return f"{public_url.rstrip('/')}/v1/attachments/{attachment_id}"


def attachment_refs(files: tuple[StoredAttachment, ...], public_url: str) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            attachment_id=f.attachment_id,
            file_name=f.file_name[:255],
            content_type=f.content_type[:127],
            size_bytes=f.size_bytes,
            url=attachment_url(public_url, f.attachment_id),
        )
        for f in files
    )


def channel_complaint(
    message: StoredMessage, draft: ComplaintDraft, *, public_url: str, correlation_id: str
) -> ChannelComplaint:
    payload = ChannelComplaintPayload(
        **_from_message(message, public_url),
        channel=draft.channel,
        customer=draft.customer,
        location=draft.location,
        text=draft.text,
        category_hint=draft.category_hint,
        client=draft.client,
    )
    return _event(ChannelComplaint, message, payload, correlation_id)


def channel_reply(message: StoredMessage, draft: ReplyDraft, *, public_url: str, correlation_id: str) -> ChannelReply:
    payload = ChannelReplyPayload(
        **_from_message(message, public_url),
        channel=draft.channel,
        reference_no=draft.reference_no,
        kind=draft.kind,
        score=draft.score,
        text=draft.text,
    )
    return _event(ChannelReply, message, payload, correlation_id)


def _from_message(message: StoredMessage, public_url: str) -> dict[str, Any]:
    """The payload fields both events take from the stored message itself, whatever it means."""
    return {
        "message_id": message.message_id,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "received_at": message.received_at,
        "attachments": attachment_refs(message.attachments, public_url),
    }


def _event(event_type: type[MessageEvent], message: StoredMessage, payload: Any, correlation_id: str) -> MessageEvent:
    """The envelope: keyed by the message's case, stamped when the message was stored."""
    assert message.complaint_id is not None
    return new_event(
        event_type,
        complaint_id=message.complaint_id,
        producer=SERVICE,
        correlation_id=correlation_id,
        occurred_at=message.stored_at,
        payload=payload,
    )
