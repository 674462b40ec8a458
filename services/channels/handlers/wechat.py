"""WeChat's use cases: a customer's message pushed to the official account's server URL, and the form page that
completes what a chat message lacks.

A chat message says what is wrong, seldom where. So:
- a message naming one of our reference numbers is a reply on that case (`channel.reply`, a note);
- a message from a customer whose address we know (from their last form) and who has no form open is a complaint
  at once (`channel.complaint`, the customer reachable on WeChat);
- any other message waits (`wechat_pending`) under the customer's open form, whose link the passive reply carries;
  a location message always waits (it says where, not what) and prefills the form. The completed form makes every
  waiting message of it one complaint, under the first message's MsgId, and keeps what the customer entered.
Events (subscribe, menu clicks, delivery reports) are answered and not stored: they are not messages.

The MsgId dedupes everything: a complaint through `take_message`; a waiting message by its primary key. WeChat
retries a push it got no answer to within 5 s three times, each answered the same way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.channels.handlers.context import ChannelsWork
from services.channels.handlers.inbound import take_message
from services.channels.model import ComplaintDraft, NewAttachment, ReplyDraft, TakeMessage
from services.channels.repository.wechat import PendingMessage, WechatCustomer
from shared.contracts.channels import ChannelCustomer
from shared.contracts.complaint import Channel, Coordinates, Location, PreferredContact

PROVIDER = "wechat"
XML = "text/xml"

Outcome = Literal["complaint", "reply", "form", "event"]


@dataclass(frozen=True)
class WechatMessageIn:
    """One pushed message as the protocol read it (`wechat/`): who, which MsgId, the words and the place."""

    openid: str
    msg_id: str
    msg_type: str
    text: str
    raw_xml: bytes
    received_at: datetime
    #: One of our reference numbers found in the text: the message is about that case.
    reference_no: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    is_event: bool = False
    #: An image message's picture at WeChat, and the picture itself when the protocol could fetch it.
    pic_url: str | None = None
    attachments: tuple[NewAttachment, ...] = ()


@dataclass(frozen=True)
class WechatAnswer:
    outcome: Outcome
    form_token: str | None = None
    reference_no: str | None = None
    duplicate: bool = False


async def take_wechat_message(cmd: WechatMessageIn, work: ChannelsWork) -> WechatAnswer:
    if cmd.is_event:
        return WechatAnswer("event")
    earlier = await work.repo.message_by_provider_id(PROVIDER, cmd.msg_id)
    if earlier is not None:  # WeChat's retry of a message already taken (or a form already made of it)
        outcome: Outcome = "reply" if earlier.status == "reply" else "complaint"
        return WechatAnswer(outcome, reference_no=earlier.reference_no, duplicate=True)
    if cmd.reference_no and cmd.msg_type != "location":
        reply = ReplyDraft(channel=Channel.WECHAT, reference_no=cmd.reference_no, kind="note", text=cmd.text)
        stored = await take_message(_take(cmd, reply=reply), work)
        return WechatAnswer("reply", reference_no=cmd.reference_no, duplicate=stored.duplicate)
    customer = await work.repo.wechat_customer(cmd.openid)
    open_form = await work.repo.open_form_token(cmd.openid, work.now)
    if customer is not None and open_form is None and cmd.msg_type != "location":
        coordinates = _point(customer.latitude, customer.longitude)
        stored = await take_message(_take(cmd, complaint=_draft(customer, cmd.text, coordinates)), work)
        return WechatAnswer("complaint", duplicate=stored.duplicate)
    ttl = timedelta(hours=work.context.settings.wechat_form_ttl_h)
    waiting = PendingMessage(
        msg_id=cmd.msg_id,
        openid=cmd.openid,
        form_token=open_form or secrets.token_urlsafe(24),
        msg_type=cmd.msg_type,
        text=cmd.text,
        raw_xml=cmd.raw_xml,
        received_at=cmd.received_at,
        expires_at=work.now + ttl,
        latitude=cmd.latitude,
        longitude=cmd.longitude,
        pic_url=cmd.pic_url,
    )
    kept = await work.repo.add_pending(waiting)
    return WechatAnswer("form", form_token=kept.form_token, duplicate=kept != waiting)


def _take(cmd: WechatMessageIn, **meaning: ComplaintDraft | ReplyDraft) -> TakeMessage:
    return TakeMessage(
        provider=PROVIDER,
        provider_message_id=cmd.msg_id,
        channel=Channel.WECHAT,
        raw_body=cmd.raw_xml,
        content_type=XML,
        received_at=cmd.received_at,
        attachments=cmd.attachments,
        correlation_id=f"wechat-{cmd.msg_id}",
        **meaning,  # type: ignore[arg-type]
    )


def _point(latitude: float | None, longitude: float | None) -> Coordinates | None:
    return (
        Coordinates(latitude=latitude, longitude=longitude) if latitude is not None and longitude is not None else None
    )


def _draft(customer: WechatCustomer, text: str, coordinates: Coordinates | None) -> ComplaintDraft:
    return ComplaintDraft(
        channel=Channel.WECHAT,
        customer=ChannelCustomer(
            name=customer.name,
            phone=customer.phone,
            account_no=customer.account_no,
            wechat_openid=customer.openid,
            preferred_contact=PreferredContact.WECHAT,
        ),
        location=Location(address=customer.address, district=customer.district, coordinates=coordinates),
        text=text[:5000],
    )


@dataclass(frozen=True)
class WechatForm:
    """What the form page shows: the waiting messages' words, what the customer entered last time (or the place of
    a location message), and whether it was already submitted (then the case's reference number, once known)."""

    token: str
    texts: tuple[str, ...]
    expired: bool
    submitted: bool
    address: str = ""
    district: str = ""
    account_no: str = ""
    phone: str = ""
    name: str = ""
    reference_no: str | None = None
    #: (MsgId, PicUrl) of the waiting image messages: their pictures become the complaint's attachments.
    pictures: tuple[tuple[str, str], ...] = ()


async def read_form(token: str, work: ChannelsWork) -> WechatForm | None:
    """The form behind a link, or None when no message waits under that token (a wrong or forged link)."""
    waiting = await work.repo.pending_by_token(token)
    if not waiting:
        return None
    first = waiting[0]
    texts = tuple(m.text for m in waiting if m.msg_type != "location" and m.text)
    places = [m.text for m in waiting if m.msg_type == "location" and m.text]
    if first.message_id is not None:
        taken = await work.repo.message(first.message_id)
        reference = taken.reference_no if taken else None
        return WechatForm(token, texts, expired=False, submitted=True, reference_no=reference)
    known = await work.repo.wechat_customer(first.openid)
    return WechatForm(
        token,
        texts,
        expired=all(m.expires_at <= work.now for m in waiting),
        submitted=False,
        address=places[-1] if places else (known.address if known else ""),
        district=known.district if known else "",
        account_no=(known.account_no or "") if known else "",
        phone=(known.phone or "") if known else "",
        name=(known.name or "") if known else "",
        pictures=tuple((m.msg_id, m.pic_url) for m in waiting if m.pic_url),
    )


@dataclass(frozen=True)
class CompleteForm:
    """The form as posted (checked by the page: lengths, the phone's digits)."""

    token: str
    address: str
    district: str
    description: str = ""
    account_no: str | None = None
    phone: str | None = None
    name: str | None = None
    #: The waiting image messages' pictures, as the page could fetch them.
    attachments: tuple[NewAttachment, ...] = ()


FormOutcome = Literal["taken", "already_taken", "not_found", "expired", "no_words"]


@dataclass(frozen=True)
class FormResult:
    outcome: FormOutcome
    reference_no: str | None = None


async def complete_form(cmd: CompleteForm, work: ChannelsWork) -> FormResult:
    """The waiting messages and the form become one complaint; a second submit changes nothing. The outcomes the
    page explains (an unknown or expired link, nothing said at all) are answers, not errors: a person reads them."""
    waiting = await work.repo.pending_by_token(cmd.token)
    if not waiting:
        return FormResult("not_found")
    first = waiting[0]
    if first.message_id is not None:
        taken = await work.repo.message(first.message_id)
        return FormResult("already_taken", taken.reference_no if taken else None)
    if all(m.expires_at <= work.now for m in waiting):
        return FormResult("expired")
    words = [m.text for m in waiting if m.msg_type != "location" and m.text] + [cmd.description.strip()]
    text = "\n".join(w for w in words if w)
    if not text:
        return FormResult("no_words")
    places = [m for m in waiting if m.latitude is not None and m.longitude is not None]
    customer = WechatCustomer(
        openid=first.openid,
        address=cmd.address,
        district=cmd.district,
        updated_at=work.now,
        account_no=cmd.account_no,
        phone=cmd.phone,
        name=cmd.name,
        latitude=places[-1].latitude if places else None,
        longitude=places[-1].longitude if places else None,
    )
    raw = b"\n".join(m.raw_xml for m in waiting)
    take = WechatMessageIn(
        first.openid, first.msg_id, first.msg_type, text, raw, first.received_at, attachments=cmd.attachments
    )
    draft = _draft(customer, text, _point(customer.latitude, customer.longitude))
    stored = await take_message(_take(take, complaint=draft), work)
    await work.repo.mark_pending_taken(cmd.token, stored.message_id)
    await work.repo.save_wechat_customer(customer)
    return FormResult("already_taken" if stored.duplicate else "taken", stored.reference_no)
