"""Contracts of the channels service (where external protocols end) and of the customer replies intake publishes.

The channels service stores each raw inbound message, deduplicates it on the provider's id, and hands intake
either a new complaint (`channel.complaint`) or a customer's reply on an existing case (`channel.reply`) on the
restricted `ingress.channel-messages` topic, the way partner tickets arrive. Intake turns a complaint into
`complaint.received` like any submission, and a reply into the public `complaint.customer_replied`, which
followup (survey score, reopening, a note for the case owner) and reporting (the case timeline) act on.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared import topics
from shared.contracts.complaint import Attachment, Category, Channel, Location, PreferredContact
from shared.contracts.envelope import Contract, Event
from shared.privacy import MaskedText

#: What a customer's reply means: a survey score ("1"…"5"), "not fixed" (reopen under the callback rules:
#: dissatisfied), or anything else (a note for the case owner).
ReplyKind = Literal["note", "survey_score", "dissatisfied"]


class ChannelCustomer(Contract):
    """Who sent it, as the channel knows them (raw contact data: the topic is restricted)."""

    name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wechat_openid: str | None = Field(default=None, max_length=64)
    account_no: str | None = Field(default=None, max_length=32)
    preferred_contact: PreferredContact


class ChannelComplaintPayload(Contract):
    message_id: uuid.UUID = Field(description="The channels service's stored raw message.")
    channel: Channel
    provider: str = Field(max_length=32, description="Which protocol it came by: wechat, imap, open311, sms-…")
    provider_message_id: str = Field(
        min_length=1, max_length=255, description="The provider's id (WeChat MsgId, mail Message-ID, …): dedupe."
    )
    received_at: AwareDatetime
    customer: ChannelCustomer
    location: Location
    text: str = Field(min_length=1, max_length=5000)
    category_hint: Category | None = None
    attachments: tuple[Attachment, ...] = ()
    client: str | None = Field(default=None, max_length=64, description="The Open311 client system, if any.")


class ChannelComplaint(Event):
    """A new complaint taken by the channels service. `complaint_id` is the id the complaint will have: intake
    adopts it, so channels knows its case before `complaint.received` comes back."""

    TOPIC: ClassVar[str] = topics.CHANNEL_MESSAGES
    event_type: Literal["channel.complaint"] = "channel.complaint"
    schema_version: Literal[1] = 1
    payload: ChannelComplaintPayload


class ChannelReplyPayload(Contract):
    message_id: uuid.UUID
    channel: Channel
    provider: str = Field(max_length=32)
    provider_message_id: str = Field(min_length=1, max_length=255)
    received_at: AwareDatetime
    reference_no: str
    kind: ReplyKind
    score: int | None = Field(default=None, ge=1, le=5, description="kind survey_score: the customer's 1-5.")
    text: str = Field(max_length=5000)
    attachments: tuple[Attachment, ...] = ()


class ChannelReply(Event):
    """A customer's reply on their case (an SMS answer, a mail answering ours, a WeChat message on an open case)."""

    TOPIC: ClassVar[str] = topics.CHANNEL_MESSAGES
    event_type: Literal["channel.reply"] = "channel.reply"
    schema_version: Literal[1] = 1
    payload: ChannelReplyPayload


class CustomerRepliedPayload(Contract):
    complaint_id: uuid.UUID
    reference_no: str
    message_id: uuid.UUID = Field(description="The channels service's stored raw message.")
    channel: Channel
    kind: ReplyKind
    score: int | None = Field(default=None, ge=1, le=5)
    text: MaskedText = Field(description="The reply, phone numbers in it masked.")
    attachments: tuple[Attachment, ...] = ()
    replied_at: AwareDatetime


class CustomerReplied(Event):
    """A customer replied on their case. Public: masked. Followup acts on it (score, reopening, a notice to the
    case's owner); reporting puts it on the case's timeline."""

    TOPIC: ClassVar[str] = topics.COMPLAINT_REPLIES
    event_type: Literal["complaint.customer_replied"] = "complaint.customer_replied"
    schema_version: Literal[1] = 1
    payload: CustomerRepliedPayload
