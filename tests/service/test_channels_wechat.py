"""Must-show 1, WeChat, over real HTTP: the channels service under uvicorn on its own port (real Postgres and
Kafka) and the WeChat API stand-in as its own process, whose users write to the account — pushed to
`/wechat/callback` signed with the Token, in plaintext and in safe mode (the stand-in's own WXBizMsgCrypt, apart from
ours) — and which checks our passive replies as WeChat would.

Server-URL verification; a first message waits for the form page, whose completion makes the complaint; the next
message is a complaint at once; a bad signature is 403 and stores nothing; one MsgId twice is one complaint; 50
messages at once are all answered within WeChat's 5 seconds; a template message's delivery report pushed to the
same URL reaches notify's receipts. (The reference number reaching the customer as a customer-service message needs
intake, followup and notify: tests/e2e/test_delivery.py.)"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
import httpx
import pytest

from embedded.standins.process import StandInProcess
from embedded.standins.wechat_api import DEV_APP_ID, DEV_APP_SECRET
from services.notify.providers.base import Outgoing
from services.notify.providers.wechat import Settings, WechatEvents, WechatTemplateMessages
from tests.support.channels_http import serving_channels
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import wait_until

TOKEN = "dev-only-wechat-token"
APP_ID = "wx0123456789abcdef"
FORM_LINK = re.compile(r"(http://[^\s]+/wechat/form/[A-Za-z0-9_-]+)")


class NotifyReceipts:
    """Stands where notify's `POST /v1/receipts/wechat` is: keeps each post; refuses the first (notify down)."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.refused == 0:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.posts.append((dict(parse_qsl(urlsplit(self.path).query)), body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/receipts/wechat"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def notify_receipts() -> Iterator[NotifyReceipts]:
    receipts = NotifyReceipts()
    try:
        yield receipts
    finally:
        receipts.server.shutdown()
        receipts.server.server_close()


@pytest.fixture(scope="module")
def channels(migrated: Infrastructure, notify_receipts: NotifyReceipts) -> Iterator[str]:
    with serving_channels(
        migrated.database_url, migrated.kafka_bootstrap_servers, wechat_receipts_url=notify_receipts.url
    ) as url:
        yield url


@pytest.fixture(scope="module")
def wechat(tmp_path_factory: pytest.TempPathFactory, channels: str) -> Iterator[StandInProcess]:
    env = {
        "WECHAT_STANDIN_SERVER_URL": f"{channels}/wechat/callback",
        "WECHAT_STANDIN_APP_ID": APP_ID,
        # Template messages' delivery reports go to the account's server URL too: channels'.
        "WECHAT_STANDIN_CALLBACK_URL": f"{channels}/wechat/callback",
        "WECHAT_STANDIN_CALLBACK_TOKEN": TOKEN,
        "WECHAT_STANDIN_REPORT_DELAY_S": "0.05",
    }
    with StandInProcess("embedded.standins.wechat_api", tmp_path_factory.mktemp("wechat"), env=env) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def openid() -> str:
    return "o" + uuid.uuid4().hex[:27]


async def user_writes(http: httpx.AsyncClient, wechat: StandInProcess, **message: Any) -> dict[str, Any]:
    answer = await http.post(f"{wechat.url}/_standin/user_messages", json=message)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def stored(db: asyncpg.Pool, msg_id: str) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "SELECT status, complaint_id FROM channels.inbound_messages WHERE provider = 'wechat' "
            "AND provider_message_id = $1",
            msg_id,
        )
    )


async def known_customer(http: httpx.AsyncClient, wechat: StandInProcess, db: asyncpg.Pool) -> str:
    """A customer who has completed the form once: their next message is a complaint at once."""
    customer = openid()
    first = await user_writes(http, wechat, openid=customer, content="楼道暖气漏水")
    link = FORM_LINK.search(first["reply"])
    assert link, first["reply"]
    form = {
        "address": "和平区南京北街18号3单元502",
        "district": "和平区",
        "account_no": "HT-0042",
        "phone": "13912345678",
    }
    done = await http.post(link.group(1), data=form)
    assert done.status_code == 200, done.text
    assert [r["status"] for r in await stored(db, first["msg_id"])] == ["complaint"]
    return customer


def signed(token: str = TOKEN) -> dict[str, str]:
    stamp, nonce = str(int(time.time())), "1320562132"
    return {
        "signature": hashlib.sha1("".join(sorted([token, stamp, nonce])).encode()).hexdigest(),
        "timestamp": stamp,
        "nonce": nonce,
    }


async def test_the_server_url_check_echoes_echostr_and_refuses_a_wrong_token(
    channels: str, http: httpx.AsyncClient
) -> None:
    good = await http.get(f"{channels}/wechat/callback", params={**signed(), "echostr": "5837397520665436492"})
    assert (good.status_code, good.text) == (200, "5837397520665436492")
    bad = await http.get(f"{channels}/wechat/callback", params={**signed("another-token"), "echostr": "5837"})
    assert bad.status_code == 403


async def test_a_first_message_waits_for_the_form_and_the_next_is_a_complaint_in_safe_mode(
    wechat: StandInProcess, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    customer = openid()
    first = await user_writes(http, wechat, openid=customer, msg_type="voice", recognition="家里暖气不热，室温十四度")
    assert first["status"] == 200 and "<ToUserName><![CDATA[" + customer in first["reply"]
    assert await stored(db, first["msg_id"]) == []  # waiting for the address: no complaint yet
    link = FORM_LINK.search(first["reply"]).group(1)  # type: ignore[union-attr]
    page = await http.get(link, params={"lang": "en"})
    assert page.status_code == 200 and "家里暖气不热，室温十四度" in page.text and "Address" in page.text
    missing = await http.post(link, data={"address": "", "district": "和平区"})
    assert missing.status_code == 422 and "Please fill this in" not in missing.text  # Chinese page by default
    done = await http.post(link, data={"address": "和平区南京北街18号3单元502", "district": "和平区"})
    assert done.status_code == 200 and "已提交" in done.text
    [row] = await stored(db, first["msg_id"])
    assert row["status"] == "complaint" and row["complaint_id"] is not None
    again = await http.post(link, data={"address": "somewhere else", "district": "x"})
    assert again.status_code == 200 and len(await stored(db, first["msg_id"])) == 1

    safe = await user_writes(http, wechat, openid=customer, content="还是不热", safe=True)
    assert safe["status"] == 200 and safe["reply_signature_ok"] and safe["reply_app_id"] == APP_ID
    assert "受理号将随后" in safe["reply"]
    assert [r["status"] for r in await stored(db, safe["msg_id"])] == ["complaint"]


async def test_a_bad_signature_is_403_and_nothing_is_stored(
    wechat: StandInProcess, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    customer = openid()
    for safe in (False, True):
        forged = await user_writes(http, wechat, openid=customer, content="伪造", token="not-our-token", safe=safe)
        assert forged["status"] == 403
        assert await stored(db, forged["msg_id"]) == []
    waiting = await db.fetchval("SELECT count(*) FROM channels.wechat_pending WHERE openid = $1", customer)
    assert waiting == 0


async def test_one_msgid_twice_is_one_complaint(
    wechat: StandInProcess, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    customer = await known_customer(http, wechat, db)
    msg_id = str(24_100_000_000_000_000 + int(time.time() * 1000))
    first, retry = [await user_writes(http, wechat, openid=customer, content="停水了", msg_id=msg_id) for _ in range(2)]
    assert first["status"] == retry["status"] == 200 and first["reply"].split("<CreateTime>")[1] and retry["reply"]
    assert len(await stored(db, msg_id)) == 1


async def test_fifty_messages_at_once_are_all_answered_within_five_seconds(
    wechat: StandInProcess, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    customer = await known_customer(http, wechat, db)
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(user_writes(http, wechat, openid=customer, content=f"第{i}户暖气不热", safe=i % 2 == 0) for i in range(50))
    )
    wall = time.monotonic() - started
    slowest = max(o["elapsed_s"] for o in outcomes)
    assert {o["status"] for o in outcomes} == {200}
    assert slowest < 5.0, f"slowest answer {slowest:.2f} s"
    ids = [o["msg_id"] for o in outcomes]
    taken = await db.fetchval(
        "SELECT count(*) FROM channels.inbound_messages WHERE provider = 'wechat' AND provider_message_id = ANY($1) "
        "AND status = 'complaint'",
        ids,
    )
    assert taken == 50, (taken, wall)
    print(f"50 WeChat messages at once: slowest answer {slowest:.2f} s, all in {wall:.2f} s")


async def test_a_template_messages_delivery_report_is_passed_on_to_notify_signed(
    wechat: StandInProcess, notify_receipts: NotifyReceipts
) -> None:
    """WeChat pushes TEMPLATESENDJOBFINISH to the server URL, which is channels': channels hands it to notify's
    receipts endpoint signed with the Token, and answers WeChat only once notify took it (the first attempt, refused
    by notify, is a 503 and WeChat's retry gets through)."""
    settings = Settings(
        wechat_api_base=wechat.url,
        wechat_app_id=DEV_APP_ID,
        wechat_app_secret=DEV_APP_SECRET,
        wechat_templates={"*": {"template_id": "TPL-generic-notice", "fields": {"text": "thing2"}}},
    )
    provider = WechatTemplateMessages(settings)
    message = Outgoing(uuid.uuid4(), "wechat", openid(), "interim_reply", {}, "正在处理", "zh")
    try:
        sent = await provider.send(message)
    finally:
        await provider.aclose()
    msgid = sent.provider_message_id
    assert msgid is not None

    def passed_on() -> tuple[dict[str, str], bytes] | None:
        return next((p for p in notify_receipts.posts if f"<MsgID>{msgid}</MsgID>".encode() in p[1]), None)

    query, body = await wait_until(passed_on, timeout=15)
    [receipt] = WechatEvents(Settings(wechat_callback_token=TOKEN)).parse({}, query, body)
    assert (receipt.status, receipt.provider_message_id) == ("delivered", msgid)
    assert notify_receipts.refused == 1


async def attachments_of(db: asyncpg.Pool, msg_id: str) -> list[tuple[str, int]]:
    rows = await db.fetch(
        "SELECT a.content_type, a.size_bytes FROM channels.attachments a JOIN channels.inbound_messages m "
        "ON m.message_id = a.message_id WHERE m.provider = 'wechat' AND m.provider_message_id = $1",
        msg_id,
    )
    return [(r["content_type"], r["size_bytes"]) for r in rows]


async def test_a_photo_becomes_the_complaints_attachment_waiting_or_at_once(
    wechat: StandInProcess, http: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    """The picture at WeChat's PicUrl is fetched into the complaint: when the form completes a waiting photo, and
    at once for a customer whose address is known."""
    customer = openid()
    photo = await user_writes(http, wechat, openid=customer, msg_type="image")
    link = FORM_LINK.search(photo["reply"]).group(1)  # type: ignore[union-attr]
    done = await http.post(
        link, data={"address": "和平区南京北街18号3单元502", "district": "和平区", "description": "漏水"}
    )
    assert done.status_code == 200, done.text
    assert await attachments_of(db, photo["msg_id"]) == [("image/png", 70)]
    again = await user_writes(http, wechat, openid=customer, msg_type="image", safe=True)
    assert "受理号将随后" in again["reply"]
    assert await attachments_of(db, again["msg_id"]) == [("image/png", 70)]
