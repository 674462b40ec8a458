"""WeChat's use cases (`handlers/wechat.py`) on the in-memory fake through the door: a first message waits under a
form link, the form makes every waiting message one complaint (once), a known customer's next message is a complaint
at once, a location waits and prefills the form, a reference number in the text is a reply on that case, an event
stores nothing; expired links and empty forms are answers the page explains; an erasure purges the erased customer's
WeChat rows (issue 25)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from services.channels.handlers.cases import keep_cases
from services.channels.handlers.context import ChannelsContext
from services.channels.handlers.wechat import (
    CompleteForm,
    WechatMessageIn,
    complete_form,
    read_form,
    take_wechat_message,
)
from services.channels.model import NewAttachment
from services.channels.repository import ChannelsRepository
from services.channels.settings import ChannelsSettings
from shared.contracts import SubjectErased, SubjectErasedPayload, new_event
from shared.contracts.channels import ChannelComplaint, ChannelReply
from shared.handling import Door
from tests.fakes.channels import FakeTransactions

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
OPENID = "o" + "x" * 27
SETTINGS = ChannelsSettings(app_env="test", wechat_form_ttl_h=1.0)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def door(clock: Clock | None = None) -> tuple[Door[ChannelsRepository, ChannelsContext], FakeTransactions]:
    transactions = FakeTransactions()
    return Door(transactions, ChannelsContext.from_settings(SETTINGS), clock=clock or (lambda: NOW)), transactions


def message(msg_id: str, text: str = "暖气不热", **fields: object) -> WechatMessageIn:
    values: dict[str, object] = {
        "openid": OPENID,
        "msg_id": msg_id,
        "msg_type": "text",
        "text": text,
        "raw_xml": f"<xml><MsgId>{msg_id}</MsgId></xml>".encode(),
        "received_at": NOW,
        **fields,
    }
    return WechatMessageIn(**values)  # type: ignore[arg-type]


def form(token: str, **fields: str) -> CompleteForm:
    return CompleteForm(token=token, **{"address": "和平区南京北街18号3单元502", "district": "和平区", **fields})


async def test_a_first_message_waits_and_the_form_makes_one_complaint_of_all_that_waited() -> None:
    entrance, transactions = door()
    first = await entrance.run(take_wechat_message, message("1", "暖气不热"))
    second = await entrance.run(take_wechat_message, message("2", "室温十四度"))
    assert first.outcome == second.outcome == "form" and first.form_token == second.form_token
    assert transactions.state.outbox == []
    assert first.form_token is not None
    shown = await entrance.run(read_form, first.form_token)
    assert shown is not None and shown.texts == ("暖气不热", "室温十四度") and not shown.submitted

    done = await entrance.run(complete_form, form(first.form_token, account_no="HT-1", phone="13912345678"))
    again = await entrance.run(complete_form, form(first.form_token, address="elsewhere"))
    assert (done.outcome, again.outcome) == ("taken", "already_taken")
    [event] = transactions.state.outbox
    assert isinstance(event, ChannelComplaint)
    p = event.payload
    assert (p.provider, p.provider_message_id, p.text) == ("wechat", "1", "暖气不热\n室温十四度")
    assert (p.customer.wechat_openid, p.customer.account_no, p.customer.preferred_contact) == (OPENID, "HT-1", "wechat")
    assert p.location.address == "和平区南京北街18号3单元502"

    at_once = await entrance.run(take_wechat_message, message("3", "又不热了"))
    retried = await entrance.run(take_wechat_message, message("3", "又不热了"))
    assert (at_once.outcome, retried.outcome, retried.duplicate) == ("complaint", "complaint", True)
    assert len(transactions.state.outbox) == 2


async def test_a_location_waits_and_prefills_the_form_with_its_place_and_point() -> None:
    entrance, transactions = door()
    place = message("10", "沈阳市和平区南京北街18号", msg_type="location", latitude=41.79, longitude=123.4)
    waiting = await entrance.run(take_wechat_message, place)
    assert waiting.outcome == "form" and waiting.form_token
    shown = await entrance.run(read_form, waiting.form_token)
    assert shown is not None and shown.address == "沈阳市和平区南京北街18号" and shown.texts == ()
    empty = await entrance.run(complete_form, form(waiting.form_token))
    assert empty.outcome == "no_words" and transactions.state.outbox == []
    done = await entrance.run(complete_form, form(waiting.form_token, description="水管漏水"))
    assert done.outcome == "taken"
    [event] = transactions.state.outbox
    assert isinstance(event, ChannelComplaint)
    coordinates = event.payload.location.coordinates
    assert coordinates is not None and (coordinates.latitude, coordinates.longitude) == (41.79, 123.4)


async def test_a_reference_number_makes_a_reply_and_an_event_stores_nothing() -> None:
    entrance, transactions = door()
    reply = await entrance.run(
        take_wechat_message, message("20", "TS-20261205-000042 师傅还没来", reference_no="TS-20261205-000042")
    )
    assert reply.outcome == "reply" and reply.reference_no == "TS-20261205-000042"
    [event] = transactions.state.outbox
    assert isinstance(event, ChannelReply) and event.payload.kind == "note"
    subscribed = await entrance.run(take_wechat_message, message(f"{OPENID}:1:subscribe", "", is_event=True))
    assert subscribed.outcome == "event" and len(transactions.state.messages) == 1


async def test_an_expired_or_unknown_link_files_nothing() -> None:
    clock = Clock()
    entrance, transactions = door(clock)
    waiting = await entrance.run(take_wechat_message, message("30"))
    assert waiting.form_token is not None
    clock.now = NOW + timedelta(hours=2)
    shown = await entrance.run(read_form, waiting.form_token)
    assert shown is not None and shown.expired
    assert (await entrance.run(complete_form, form(waiting.form_token))).outcome == "expired"
    assert (await entrance.run(complete_form, form("no-such-token"))).outcome == "not_found"
    assert await entrance.run(read_form, "no-such-token") is None
    fresh = await entrance.run(take_wechat_message, message("31"))
    assert fresh.form_token != waiting.form_token  # the expired form is not reopened
    assert transactions.state.outbox == []
    assert transactions.state.wechat_customers == {}


async def test_the_pictures_the_page_fetched_are_the_complaints_attachments() -> None:
    entrance, transactions = door()
    picture = "https://mmbiz.qpic.cn/photo"
    waiting = await entrance.run(
        take_wechat_message, message("40", f"[图片 image] {picture}", msg_type="image", pic_url=picture)
    )
    assert waiting.form_token is not None
    shown = await entrance.run(read_form, waiting.form_token)
    assert shown is not None and shown.pictures == (("40", picture),)
    photo = NewAttachment(file_name="40.png", content_type="image/png", content=b"\x89PNG")
    done = await entrance.run(complete_form, dataclasses.replace(form(waiting.form_token), attachments=(photo,)))
    assert done.outcome == "taken"
    [event] = transactions.state.outbox
    assert isinstance(event, ChannelComplaint)
    assert [(a.file_name, a.content_type, a.size_bytes) for a in event.payload.attachments] == [
        ("40.png", "image/png", 4)
    ]


def erased(*complaint_ids: uuid.UUID) -> SubjectErased:
    payload = SubjectErasedPayload(
        customer_id=uuid.uuid4(), complaint_ids=complaint_ids, erased_at=NOW, reason="request"
    )
    return new_event(
        SubjectErased, complaint_id=complaint_ids[0], payload=payload, producer="intake", correlation_id="e"
    )


async def test_an_erasure_purges_the_wechat_rows_of_the_openid_that_sent_the_erased_cases() -> None:
    """Found by the form that made a complaint, or by the sender in the raw XML of one taken at once; every row of
    that openid goes (its form data, the messages a form made one, one still waiting), another customer's stay."""
    entrance, transactions = door()
    other = "o" + "y" * 27
    for openid, msg_id in ((OPENID, "50"), (other, "60")):
        waiting = await entrance.run(take_wechat_message, message(msg_id, openid=openid))
        assert waiting.form_token is not None
        await entrance.run(complete_form, form(waiting.form_token, phone="13912345678"))
    sent = f"<xml><FromUserName><![CDATA[{OPENID}]]></FromUserName><MsgId>51</MsgId></xml>".encode()
    assert (await entrance.run(take_wechat_message, message("51", raw_xml=sent))).outcome == "complaint"
    await entrance.run(take_wechat_message, message("52", "地址", msg_type="location"))
    await entrance.run(take_wechat_message, message("61", "地址", openid=other, msg_type="location"))
    cases = {e.payload.provider_message_id: e.complaint_id for e in transactions.state.outbox}

    await entrance.batch(keep_cases, [erased(cases["60"])], consumer="channels.cases")  # by the form's rows
    assert set(transactions.state.wechat_customers) == {OPENID}
    assert {m.openid for m in transactions.state.wechat_pending.values()} == {OPENID}
    await entrance.batch(keep_cases, [erased(cases["51"])], consumer="channels.cases")  # by the raw XML's sender
    assert transactions.state.wechat_customers == {} and transactions.state.wechat_pending == {}
