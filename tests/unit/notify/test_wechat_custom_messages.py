"""The WeChat provider reaches a customer who wrote to the account by a customer-service message (客服消息), and
falls back to the template message when WeChat says the 48-hour window is closed (45015) or used up (45047)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from services.notify.providers.base import Outgoing, PermanentError, TransientError
from services.notify.providers.wechat import Settings, WechatTemplateMessages

OPENID = "o" + "b" * 27


def provider_answering(
    custom: dict[str, object], calls: list[tuple[str, dict[str, object]]], **settings: object
) -> WechatTemplateMessages:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 7200})
        body = json.loads(request.content)
        calls.append((request.url.path, body))
        if request.url.path == "/cgi-bin/message/custom/send":
            return httpx.Response(200, json=custom)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": 7})

    config = Settings(
        wechat_app_id="wx1",
        wechat_app_secret="s",
        wechat_templates={"*": {"template_id": "T", "fields": {"reference_no": "character_string1"}}},
        **settings,
    )
    client = httpx.AsyncClient(base_url="https://api.weixin.qq.com", transport=httpx.MockTransport(handler))
    return WechatTemplateMessages(config, client)


def message() -> Outgoing:
    text = "您的投诉已受理, 受理号 TS-20261205-000042。"
    return Outgoing(
        uuid.uuid4(), "wechat", OPENID, "complaint_received", {"reference_no": "TS-20261205-000042"}, text, "zh"
    )


async def test_within_the_window_the_customer_service_message_is_delivered() -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    provider = provider_answering({"errcode": 0, "errmsg": "ok"}, calls)
    sent = await provider.send(message())
    await provider.aclose()
    assert sent.delivered and sent.provider_message_id is None
    [(path, body)] = calls
    assert path == "/cgi-bin/message/custom/send"
    assert body == {"touser": OPENID, "msgtype": "text", "text": {"content": message().text}}


@pytest.mark.parametrize("code", [45015, 45047])
async def test_outside_the_window_the_template_message_goes(code: int) -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    provider = provider_answering({"errcode": code, "errmsg": "response out of time limit"}, calls)
    sent = await provider.send(message())
    await provider.aclose()
    assert (sent.provider_message_id, sent.delivered) == ("7", False)
    assert [path for path, _ in calls] == ["/cgi-bin/message/custom/send", "/cgi-bin/message/template/send"]
    assert calls[1][1]["data"] == {"character_string1": {"value": "TS-20261205-000042"}}


async def test_other_refusals_of_the_customer_service_message_are_judged_as_before() -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    provider = provider_answering({"errcode": 40003, "errmsg": "invalid openid"}, calls)
    with pytest.raises(PermanentError):
        await provider.send(message())
    provider = provider_answering({"errcode": -1, "errmsg": "system busy"}, calls)
    with pytest.raises(TransientError):
        await provider.send(message())
    assert {path for path, _ in calls} == {"/cgi-bin/message/custom/send"}


async def test_an_account_without_the_customer_service_api_sends_templates_only() -> None:
    calls: list[tuple[str, dict[str, object]]] = []
    provider = provider_answering({"errcode": 0}, calls, wechat_customer_service=False)
    assert (await provider.send(message())).provider_message_id == "7"
    assert [path for path, _ in calls] == ["/cgi-bin/message/template/send"]
