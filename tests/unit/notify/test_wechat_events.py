"""The WeChat provider's edges no stand-in run shows easily: stale or unsigned pushes, other events at the same URL,
and the force-refresh when the platform hands back the very token its API refused."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import httpx
import pytest

from services.notify.providers.base import Outgoing, ReceiptRefused
from services.notify.providers.wechat import Settings, WechatEvents, WechatTemplateMessages

TOKEN = "callback-token"
EVENT = (
    b"<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
    b"<FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>"
    b"<CreateTime>1395658984</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    b"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163840</MsgID>"
    b"<Status><![CDATA[failed: system failed]]></Status></xml>"
)


def signed(timestamp: int | None = None, token: str = TOKEN) -> dict[str, str]:
    stamp, nonce = str(timestamp if timestamp is not None else int(time.time())), "1320562132"
    signature = hashlib.sha1("".join(sorted([token, stamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": stamp, "nonce": nonce, "openid": "oia2TjuEGTNoeX76QEjQNrcURxG8"}


@pytest.fixture
def events() -> WechatEvents:
    return WechatEvents(Settings(wechat_callback_token=TOKEN))


def test_a_system_failure_is_a_failed_receipt_by_wechats_msgid(events: WechatEvents) -> None:
    [receipt] = events.parse({}, signed(), EVENT)
    assert receipt.status == "failed" and receipt.provider_message_id == "200163840"
    assert receipt.error_code == "system_failed" and receipt.at is not None


@pytest.mark.parametrize(
    "query",
    [
        {},
        {k: v for k, v in signed().items() if k != "nonce"},
        signed(timestamp=int(time.time()) - 301),  # signed right, but older than 5 minutes: a replay
        signed(token="another-token"),
        {**signed(), "timestamp": "not-a-number"},
    ],
)
def test_unsigned_forged_and_stale_pushes_are_refused(events: WechatEvents, query: dict[str, str]) -> None:
    with pytest.raises(ReceiptRefused) as refused:
        events.parse({}, query, EVENT)
    assert refused.value.status == 401


def test_other_pushes_to_the_same_url_yield_nothing_and_entities_are_refused(events: WechatEvents) -> None:
    text_message = (
        b"<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
        b"<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>"
        b"<MsgId>1234567890123456</MsgId></xml>"
    )
    assert events.parse({}, signed(), text_message) == []
    bomb = b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaa">]><xml><MsgType>&a;</MsgType></xml>'
    with pytest.raises(ReceiptRefused) as refused:
        events.parse({}, signed(), bomb)
    assert refused.value.status == 400


@pytest.mark.parametrize("created", ["²", "9" * 30, "-1", ""])
def test_a_push_whose_create_time_is_no_moment_is_read_without_one(events: WechatEvents, created: str) -> None:
    """Found probing the receipts endpoint: a digit that is no decimal (²) or a time past any calendar was a 500."""
    push = EVENT.replace(b"<CreateTime>1395658984</CreateTime>", f"<CreateTime>{created}</CreateTime>".encode())
    [receipt] = events.parse({}, signed(), push)
    assert receipt.provider_message_id == "200163840" and receipt.at is None


def test_a_timestamp_of_any_length_is_only_stale(events: WechatEvents) -> None:
    stamp, nonce = "9" * 400, "1320562132"  # a float cannot hold it: the age is reckoned in integers
    signature = hashlib.sha1("".join(sorted([TOKEN, stamp, nonce])).encode()).hexdigest()
    with pytest.raises(ReceiptRefused) as refused:
        events.echo({"signature": signature, "timestamp": stamp, "nonce": nonce, "echostr": "e"})
    assert (refused.value.status, str(refused.value)) == (401, "timestamp is stale")


def test_the_url_check_echoes_echostr_only_when_signed(events: WechatEvents) -> None:
    assert events.echo({**signed(), "echostr": "5838479218127813673"}) == "5838479218127813673"
    with pytest.raises(ReceiptRefused):
        events.echo({**signed(token="x"), "echostr": "5838479218127813673"})


async def test_the_same_token_handed_back_after_a_refusal_is_force_refreshed() -> None:
    """The normal mode returns what the platform holds current; if the API refused exactly that, force a new one."""
    token_requests: list[dict[str, object]] = []
    good = "token-2"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            body = json.loads(request.content)
            token_requests.append(body)
            return httpx.Response(
                200, json={"access_token": good if body["force_refresh"] else "token-1", "expires_in": 7200}
            )
        if request.url.params["access_token"] != good:
            return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential"})
        if request.url.path == "/cgi-bin/message/custom/send":  # the customer never wrote: the template goes
            return httpx.Response(200, json={"errcode": 45015, "errmsg": "response out of time limit"})
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": 42})

    settings = Settings(wechat_app_id="wx1", wechat_app_secret="s", wechat_templates={"*": {"template_id": "T"}})
    client = httpx.AsyncClient(base_url="https://api.weixin.qq.com", transport=httpx.MockTransport(handler))
    provider = WechatTemplateMessages(settings, client)
    message = Outgoing(uuid.uuid4(), "wechat", "o" + "a" * 27, "x", {}, "text", "zh")
    sent = await provider.send(message)
    await provider.aclose()
    assert sent.provider_message_id == "42"
    assert [r["force_refresh"] for r in token_requests] == [False, False, True]
