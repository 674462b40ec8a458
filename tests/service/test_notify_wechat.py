"""The WeChat provider against the WeChat API stand-in (`embedded.standins.wechat_api`) as its own process: tokens
fetched once and refreshed when refused, WeChat's error codes, `client_msg_id` dedupe, and the signed
`TEMPLATESENDJOBFINISH` events it pushes to a real HTTP receiver, read by our parser."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from embedded.standins.process import StandInProcess
from embedded.standins.wechat_api import DEV_APP_ID, DEV_APP_SECRET
from services.notify.providers import wechat
from services.notify.providers.base import Outgoing, PermanentError, ReceiptRefused, TransientError
from tests.support.ports import free_port

CALLBACK_TOKEN = "test-wechat-callback-token"
TEMPLATES = {
    "*": {"template_id": "TPL-generic-notice", "fields": {"reference_no": "character_string1", "text": "thing2"}},
    "case_closed": {"template_id": "TPL-case-closed", "fields": {"reference_no": "character_string1"}},
}


def openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


class Receiver:
    """A real HTTP endpoint standing where notify's `POST /v1/receipts/wechat` is: keeps each push, answers success."""

    def __init__(self, port: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, str], bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append((dict(self.headers), dict(parse_qsl(urlsplit(self.path).query)), body))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"success")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/receipts/wechat"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    async def push_for(self, msgid: str, timeout: float = 10.0) -> tuple[dict[str, str], dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for post in self.posts:
                if f"<MsgID>{msgid}</MsgID>".encode() in post[2]:
                    return post
            await asyncio.sleep(0.05)
        raise AssertionError(f"no TEMPLATESENDJOBFINISH for {msgid}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def wechat_api(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[StandInProcess]:
    env = {
        "WECHAT_STANDIN_CALLBACK_URL": receiver.url,
        "WECHAT_STANDIN_CALLBACK_TOKEN": CALLBACK_TOKEN,
        "WECHAT_STANDIN_REPORT_DELAY_S": "0.05",
    }
    with StandInProcess("embedded.standins.wechat_api", tmp_path_factory.mktemp("wechat"), env=env) as server:
        yield server


@pytest.fixture
def api(wechat_api: StandInProcess) -> StandInProcess:
    httpx.post(f"{wechat_api.url}/_standin/faults", json={"reset": True}).raise_for_status()
    return wechat_api


def settings_for(server: StandInProcess, **overrides: object) -> wechat.Settings:
    values: dict[str, object] = {
        "wechat_api_base": server.url,
        "wechat_app_id": DEV_APP_ID,
        "wechat_app_secret": DEV_APP_SECRET,
        "wechat_templates": TEMPLATES,
        "wechat_callback_token": CALLBACK_TOKEN,
        "wechat_timeout_s": 5.0,
        **overrides,
    }
    return wechat.Settings(**values)


def outgoing(address: str, template_id: str = "interim_reply") -> Outgoing:
    return Outgoing(
        notification_id=uuid.uuid4(),
        channel="wechat",
        address=address,
        template_id=template_id,
        params={"reference_no": "TS-20250301-000042"},
        text="您好！您反映的问题（受理号 TS-20250301-000042）正在处理中。",
        locale="zh",
        reference_no="TS-20250301-000042",
    )


def stats(server: StandInProcess) -> dict[str, int]:
    return httpx.get(f"{server.url}/_standin/stats").json()


def faults(server: StandInProcess, **body: object) -> None:
    httpx.post(f"{server.url}/_standin/faults", json=body).raise_for_status()


async def test_one_token_is_fetched_and_cached_across_concurrent_sends(api: StandInProcess) -> None:
    provider = wechat.build(settings_for(api))
    try:
        messages = [outgoing(openid()) for _ in range(5)]
        sent = await asyncio.gather(*(provider.send(m) for m in messages))
        await provider.send(outgoing(openid(), template_id="case_closed"))
    finally:
        await provider.aclose()

    assert stats(api)["stable_token_calls"] == 1  # five concurrent sends waited for the one fetch in flight
    assert stats(api)["sends"] == 6
    recorded = {m["client_msg_id"]: m for m in httpx.get(f"{api.url}/_standin/messages").json()}
    first = recorded[str(messages[0].notification_id)]
    assert str(first["msgid"]) == sent[0].provider_message_id
    assert first["touser"] == messages[0].address
    assert first["template_id"] == "TPL-generic-notice"
    assert first["data"] == {
        "character_string1": {"value": "TS-20250301-000042"},
        "thing2": {"value": messages[0].text},
    }
    assert {m["template_id"] for m in recorded.values()} == {"TPL-generic-notice", "TPL-case-closed"}


async def test_an_expired_token_is_refreshed_once_and_the_send_succeeds(api: StandInProcess) -> None:
    provider = wechat.build(settings_for(api))
    try:
        await provider.send(outgoing(openid()))
        faults(api, expire_tokens=True)  # every token issued so far now answers 42001
        sent = await provider.send(outgoing(openid()))
    finally:
        await provider.aclose()
    assert sent.provider_message_id
    assert stats(api)["stable_token_calls"] == 2
    assert stats(api)["sends"] == 2


async def test_a_wrong_secret_is_the_vendors_40125_and_permanent_for_the_channel(api: StandInProcess) -> None:
    provider = wechat.build(settings_for(api, wechat_app_secret="not-the-secret"))
    try:
        with pytest.raises(PermanentError) as refused:
            await provider.send(outgoing(openid()))
    finally:
        await provider.aclose()
    assert refused.value.code == "40125"
    assert stats(api)["sends"] == 0
    wrong_app = wechat.build(settings_for(api, wechat_app_id="wx0000000000000000"))
    try:
        with pytest.raises(PermanentError) as refused:
            await wrong_app.send(outgoing(openid()))
    finally:
        await wrong_app.aclose()
    assert refused.value.code == "40013"


async def test_addresses_and_templates_wechat_refuses_are_permanent(api: StandInProcess) -> None:
    invalid, unsubscribed = openid(), openid()
    faults(api, invalid_openids=[invalid], unsubscribed_openids=[unsubscribed], invalid_templates=["TPL-case-closed"])
    provider = wechat.build(settings_for(api))
    try:
        for address, code in ((invalid, "40003"), ("not-an-openid", "40003"), (unsubscribed, "43004")):
            with pytest.raises(PermanentError) as refused:
                await provider.send(outgoing(address))
            assert refused.value.code == code
        with pytest.raises(PermanentError) as refused:
            await provider.send(outgoing(openid(), template_id="case_closed"))
        assert refused.value.code == "40037"
    finally:
        await provider.aclose()
    assert stats(api)["sends"] == 0


async def test_system_busy_and_an_unreachable_api_are_transient(api: StandInProcess) -> None:
    provider = wechat.build(settings_for(api))
    try:
        await provider.send(outgoing(openid()))  # a cached token: the busy answer comes from the send itself
        faults(api, down_for_s=30)
        with pytest.raises(TransientError, match="-1"):
            await provider.send(outgoing(openid()))
    finally:
        faults(api, down_for_s=0)
        await provider.aclose()
    nowhere = wechat.build(settings_for(api, wechat_api_base="http://127.0.0.1:9"))
    try:
        with pytest.raises(TransientError, match="unreachable"):
            await nowhere.send(outgoing(openid()))
    finally:
        await nowhere.aclose()


async def test_a_resend_with_the_same_notification_id_is_deduplicated_by_wechat(api: StandInProcess) -> None:
    provider = wechat.build(settings_for(api))
    message = outgoing(openid())
    try:
        first = await provider.send(message)
        # After a crash mid-call: within WeChat's 10-minute window the worker may send again, WeChat drops it.
        assert await provider.find_sent(message, datetime.now(UTC) - timedelta(minutes=1)) is None
        again = await provider.send(message)
        with pytest.raises(NotImplementedError):
            await provider.find_sent(message, datetime.now(UTC) - timedelta(minutes=30))
    finally:
        await provider.aclose()
    assert again.provider_message_id == first.provider_message_id
    assert stats(api)["sends"] == 1 and stats(api)["duplicates"] == 1


async def test_the_job_finish_event_arrives_signed_and_is_read_as_a_receipt(
    api: StandInProcess, receiver: Receiver
) -> None:
    blocked = openid()
    faults(api, blocked_openids=[blocked])
    provider = wechat.build(settings_for(api))
    try:
        delivered = await provider.send(outgoing(openid()))
        refused_by_user = await provider.send(outgoing(blocked))
    finally:
        await provider.aclose()
    parser = wechat.receipts(settings_for(api))
    assert parser is not None

    headers, query, body = await receiver.push_for(delivered.provider_message_id or "")
    assert headers["Content-Type"].startswith("text/xml")
    expected = hashlib.sha1("".join(sorted([CALLBACK_TOKEN, query["timestamp"], query["nonce"]])).encode())
    assert query["signature"] == expected.hexdigest()
    [receipt] = parser.parse(headers, query, body)
    assert receipt.status == "delivered"
    assert receipt.provider_message_id == delivered.provider_message_id
    assert parser.answer().body == b"success" and parser.answer().media_type == "text/plain"

    headers, query, body = await receiver.push_for(refused_by_user.provider_message_id or "")
    [receipt] = parser.parse(headers, query, body)
    assert receipt.status == "failed"
    assert receipt.error_code == "user_block" and receipt.error_message == "failed:user block"

    forged = {**query, "signature": hashlib.sha1(b"forged").hexdigest()}
    with pytest.raises(ReceiptRefused) as refused:
        parser.parse(headers, forged, body)
    assert refused.value.status == 401
    other_token = wechat.receipts(settings_for(api, wechat_callback_token="another-token"))
    assert other_token is not None
    with pytest.raises(ReceiptRefused):
        other_token.parse(headers, query, body)


async def test_the_event_is_pushed_again_until_the_receiver_is_up(tmp_path_factory: pytest.TempPathFactory) -> None:
    port = free_port()  # nobody listens yet: notify is down
    env = {
        "WECHAT_STANDIN_CALLBACK_URL": f"http://127.0.0.1:{port}/v1/receipts/wechat",
        "WECHAT_STANDIN_CALLBACK_TOKEN": CALLBACK_TOKEN,
        "WECHAT_STANDIN_REPORT_DELAY_S": "0",
    }
    with StandInProcess("embedded.standins.wechat_api", tmp_path_factory.mktemp("wechat-late"), env=env) as server:
        provider = wechat.build(settings_for(server))
        try:
            sent = await provider.send(outgoing(openid()))
        finally:
            await provider.aclose()
        await asyncio.sleep(0.5)  # let a few pushes be refused
        assert httpx.get(f"{server.url}/_standin/events").json() == []
        with Receiver(port) as late:
            headers, query, body = await late.push_for(sent.provider_message_id or "")
        parser = wechat.receipts(settings_for(server))
        assert parser is not None
        assert [r.status for r in parser.parse(headers, query, body)] == ["delivered"]


async def test_a_customer_who_wrote_gets_a_customer_service_message_and_a_silent_one_a_template(
    api: StandInProcess,
) -> None:
    """Within 48 hours of the customer's own message WeChat takes a customer-service message; outside, 45015, and
    the template message goes instead."""
    wrote, silent = openid(), openid()
    faults(api, interacted_openids=[wrote])
    provider = wechat.build(settings_for(api))
    try:
        custom = await provider.send(outgoing(wrote))
        template = await provider.send(outgoing(silent))
    finally:
        await provider.aclose()
    assert (custom.delivered, custom.provider_message_id) == (True, None)
    assert template.provider_message_id is not None and not template.delivered
    taken = httpx.get(f"{api.url}/_standin/messages").json()
    assert [(m["kind"], m["touser"]) for m in taken] == [("custom", wrote), ("template", silent)]
    assert "TS-20250301-000042" in taken[0]["text"]
