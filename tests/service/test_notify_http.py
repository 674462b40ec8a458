"""Notify's HTTP API on real Postgres and Kafka: providers' status callbacks (a fake parser), a case's deliveries
(masked; who may read them), a person's inbox, the dev outbox page, readiness and metrics."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.notify.providers import aliyun_sms, email_smtp, wechat
from shared.contracts.followup import Recipient
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, wait_until
from tests.support.notify import (
    MACHINE,
    FakeDirectory,
    FakeProvider,
    FakeReceipts,
    StaffAddress,
    catalog,
    phone,
    request,
    running_notify,
)
from tests.support.tokens import LocalIssuer

WECHAT = wechat.Settings(wechat_callback_token="wechat-url-token")
RECEIPT_TOKEN = "vendor-receipt-token"


@dataclass
class Notify:
    app: FastAPI
    client: httpx.AsyncClient
    sms: FakeProvider
    mail: FakeProvider
    receipts: FakeReceipts
    issuer: LocalIssuer
    bootstrap: str


@pytest.fixture(scope="module")
async def notify(migrated: Infrastructure) -> AsyncIterator[Notify]:
    sms, mail = FakeProvider("sms-http", "sms"), FakeProvider("smtp-http", "email")
    receipts = FakeReceipts("sms-http")
    issuer = LocalIssuer()
    providers = catalog(sms, mail, receipts={"sms-http": receipts})
    providers.receipts["wechat"] = wechat.WechatEvents(WECHAT)  # its parser alone: the URL check needs no sender
    # The real parsers of Aliyun's pushes and of bounces, also alone: what they refuse must be a 4xx.
    providers.receipts["aliyun_sms"] = aliyun_sms.AliyunSmsReceipts(RECEIPT_TOKEN)
    bounces = email_smtp.Settings(notify_bounce_token=RECEIPT_TOKEN, notify_email_domain="notify.example.cn")
    providers.receipts["smtp"] = email_smtp.Bounces(bounces)
    directory = FakeDirectory(
        {
            "s-inbox": StaffAddress("s-inbox", "收件人", None, None),
            "s-other": StaffAddress("s-other", "另一位", None, None),
        }
    )
    async with running_notify(
        migrated.database_url,
        migrated.kafka_bootstrap_servers,
        providers=providers,
        directory=directory,
        persons=issuer.verifier(),
        app_env="dev",
    ) as (app, client):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        yield Notify(app, client, sms, mail, receipts, issuer, migrated.kafka_bootstrap_servers)


async def _row(db: asyncpg.Pool, notification_id: uuid.UUID, *statuses: str) -> asyncpg.Record:
    async def reached() -> asyncpg.Record | None:
        row = await db.fetchrow(
            "SELECT status, channel, attempts, provider_message_id FROM notify.deliveries WHERE notification_id = $1",
            notification_id,
        )
        return row if row is not None and row["status"] in statuses else None

    return await wait_until(reached, timeout=30)


def _bearer(notify: Notify, staff_id: str, *roles: str, department: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {notify.issuer.mint(staff_id, roles=roles, department=department)}"}


async def test_receipts_turn_sent_into_delivered_idempotently(notify: Notify, db: asyncpg.Pool) -> None:
    event = request(Recipient(kind="customer", phone=phone(), email="r@example.com"))
    await publish(notify.bootstrap, event)
    sent = await _row(db, event.payload.notification_id, "sent")
    body = f'[{{"id": "{sent["provider_message_id"]}", "status": "delivered"}}]'
    for _ in range(2):  # the vendor retries its callback: the second changes nothing
        answer = await notify.client.post(
            "/v1/receipts/sms-http?token=receipt-token", content=body, headers={"Content-Type": "text/plain"}
        )
        assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "成功"}
    assert notify.receipts.content_types[-1] == "text/plain", "the parser sees the vendor's own content type"
    row = await _row(db, event.payload.notification_id, "delivered")
    assert row["attempts"] == 1


async def test_a_failed_receipt_moves_on_to_the_next_channel(notify: Notify, db: asyncpg.Pool) -> None:
    event = request(Recipient(kind="customer", phone=phone(), email="fallback@example.com"))
    await publish(notify.bootstrap, event)
    sent = await _row(db, event.payload.notification_id, "sent")
    body = f'[{{"notification_id": "{event.payload.notification_id}", "status": "failed", "code": "UNDELIV"}}]'
    answer = await notify.client.post(
        "/v1/receipts/sms-http?token=receipt-token", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200
    row = await _row(db, event.payload.notification_id, "sent")
    await wait_until(lambda: notify.mail.sends_of(event.payload.notification_id) == 1, timeout=30)
    row = await db.fetchrow(
        "SELECT channel, channels_tried FROM notify.deliveries WHERE notification_id = $1",
        event.payload.notification_id,
    )
    assert (row["channel"], list(row["channels_tried"])) == ("email", ["sms"])
    # A late copy of the SMS failure concerns a channel left behind: ignored.
    stale = f'[{{"id": "{sent["provider_message_id"]}", "status": "failed"}}]'
    assert (await notify.client.post("/v1/receipts/sms-http?token=receipt-token", content=stale)).status_code == 200
    assert (await _row(db, event.payload.notification_id, "sent"))["channel"] == "email"


async def test_receipts_refused_unknown_provider_and_unknown_message(notify: Notify) -> None:
    refused = await notify.client.post("/v1/receipts/sms-http?token=wrong", content="[]")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reason"] == "wrong token"
    unreadable = await notify.client.post("/v1/receipts/sms-http?token=receipt-token", content="not json")
    assert unreadable.status_code == 400
    assert (await notify.client.post("/v1/receipts/nobody?token=x", content="[]")).status_code == 404
    unknown = '[{"id": "never-sent-by-us", "status": "delivered"}]'
    assert (await notify.client.post("/v1/receipts/sms-http?token=receipt-token", content=unknown)).status_code == 200


async def test_the_wechat_server_url_check_echoes_when_signed(notify: Notify) -> None:
    timestamp, nonce, echostr = str(int(time.time())), uuid.uuid4().hex[:10], "echo-4812"
    # WeChat's own recipe ("验证消息的确来自微信服务器"): sha1 over token, timestamp, nonce sorted and joined.
    joined = "".join(sorted([WECHAT.wechat_callback_token, timestamp, nonce]))
    signature = hashlib.sha1(joined.encode()).hexdigest()
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    good = await notify.client.get("/v1/receipts/wechat", params=query)
    assert good.status_code == 200 and good.text == echostr
    assert good.headers["content-type"].startswith("text/plain")
    forged = await notify.client.get("/v1/receipts/wechat", params={**query, "signature": "0" * 40})
    assert forged.status_code == 401 and forged.json()["reason"] == "signature does not match"
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert echostr not in forged.text
    # A provider whose parser makes no such check, and one with no parser: 404.
    assert (await notify.client.get("/v1/receipts/sms-http", params=query)).status_code == 404
    assert (await notify.client.get("/v1/receipts/nobody", params=query)).status_code == 404


def _wechat_signed(timestamp: str) -> dict[str, str]:
    nonce = uuid.uuid4().hex[:10]
    joined = "".join(sorted([WECHAT.wechat_callback_token, timestamp, nonce]))
    return {"signature": hashlib.sha1(joined.encode()).hexdigest(), "timestamp": timestamp, "nonce": nonce}


async def test_vendor_pushes_with_values_we_cannot_take_are_a_4xx_naming_them(notify: Notify) -> None:
    """Found probing the receipt parsers with the vendor's own secret (the fuzzer cannot send a vendor's body): a
    report field of the wrong type, or text the database cannot hold, is refused naming the field, not a 500."""
    aliyun = f"/v1/receipts/aliyun_sms?token={RECEIPT_TOKEN}"
    for body, field in (
        ('[{"success": false, "biz_id": 123}]', "biz_id"),
        ('[{"success": true, "biz_id": "\\ud800"}]', "biz_id"),
        ('[{"success": false, "biz_id": "b-1", "err_code": "\\u0000"}]', "err_code"),
        ('[{"success": false, "biz_id": "b-1", "err_code": ["x"]}]', "err_code"),
    ):
        refused = await notify.client.post(aliyun, content=body, headers={"Content-Type": "application/json"})
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json()["detail"], refused.text


async def test_a_wechat_push_with_an_unreadable_time_is_read_and_a_huge_timestamp_is_stale(notify: Notify) -> None:
    for created in ("²", "9" * 30):  # a digit that is no decimal, a moment past any calendar: no time, still read
        push = (
            "<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>20480</MsgID>"
            f"<Status>success</Status><CreateTime>{created}</CreateTime></xml>"
        )
        query = _wechat_signed(str(int(time.time())))
        answer = await notify.client.post("/v1/receipts/wechat", params=query, content=push.encode())
        assert answer.status_code == 200 and answer.text == "success", answer.text
    stale = await notify.client.get("/v1/receipts/wechat", params={**_wechat_signed("9" * 400), "echostr": "e"})
    assert stale.status_code == 401 and stale.json()["reason"] == "timestamp is stale"


async def test_a_bounce_with_eight_bit_header_fields_is_read(notify: Notify) -> None:
    nid = uuid.uuid4()
    bounce = (
        b"MIME-Version: 1.0\r\nTo: bounces+" + str(nid).encode() + b"@notify.example.cn\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx\r\nArrival-Date: Mon, 1 Jan 2024 \xff\xfe\r\n\r\n"
        b"Final-Recipient: rfc822; a@example.com\r\nAction: failed\xff\r\nStatus: 5.1.1 \xe4\xb8\x8d\r\n"
        b"Diagnostic-Code: smtp; 550 \xff\x00 no\r\n\r\n--B--\r\n"
    )
    answer = await notify.client.post(f"/v1/receipts/smtp?token={RECEIPT_TOKEN}", content=bounce)
    assert answer.status_code == 200 and answer.json() == {"accepted": True}, answer.text


async def test_deliveries_are_masked_and_for_staff_or_systems_only(notify: Notify, db: asyncpg.Pool) -> None:
    number = phone()
    event = request(Recipient(kind="customer", phone=number))
    await publish(notify.bootstrap, event)
    await _row(db, event.payload.notification_id, "sent")
    path = f"/v1/deliveries?complaint_id={event.complaint_id}"
    by_key = await notify.client.get(path, headers=MACHINE)
    assert by_key.status_code == 200
    [item] = by_key.json()["items"]
    assert item["notification_id"] == str(event.payload.notification_id)
    assert (item["channel"], item["status"], item["attempts"], item["recipient_kind"]) == ("sms", "sent", 1, "customer")
    assert item["address"] == f"{number[:3]}******{number[-2:]}"
    assert number not in by_key.text
    for key in ("template_id", "provider_message_id", "updated_at", "provider", "reason", "requested_at"):
        assert key in item
    assert (await notify.client.get(path, headers=_bearer(notify, "a-1", "agent"))).status_code == 200
    assert (await notify.client.get(path)).status_code == 401
    assert (await notify.client.get(path, headers={"X-API-Key": "wrong"})).status_code == 401
    assert (await notify.client.get(path, headers=_bearer(notify, "c-1", "crew"))).status_code == 403
    assert (await notify.client.get("/v1/deliveries?complaint_id=nope", headers=MACHINE)).status_code == 422


async def test_the_inbox_is_the_persons_own(notify: Notify, db: asyncpg.Pool) -> None:
    mine = request(Recipient(kind="staff", staff_id="s-inbox"), template_id="sla_warning")
    theirs = request(Recipient(kind="staff", staff_id="s-other"), template_id="sla_warning")
    by_role = request(Recipient(kind="staff", role="leadership", department="billing"), template_id="escalation")
    zh = request(Recipient(kind="staff", staff_id="s-inbox"), template_id="sla_warning")
    english = zh.model_copy(
        update={"payload": zh.payload.model_copy(update={"locale": "en", "text": "Case overdue: please act."})}
    )
    await publish(notify.bootstrap, mine, theirs, by_role, english)
    for e in (mine, theirs, by_role, english):
        await _row(db, e.payload.notification_id, "delivered")
    me = _bearer(notify, "s-inbox", "leadership", department="billing")
    inbox = (await notify.client.get("/v1/inbox", headers=me)).json()
    ids = [i["notification_id"] for i in inbox["items"]]
    assert str(mine.payload.notification_id) in ids and str(by_role.payload.notification_id) in ids
    assert str(theirs.payload.notification_id) not in ids
    locales = {i["notification_id"]: i["locale"] for i in inbox["items"]}
    assert locales[str(mine.payload.notification_id)] == "zh", "the request's locale, kept on the delivery"
    assert locales[str(english.payload.notification_id)] == "en"
    assert inbox["staff_id"] == "s-inbox" and inbox["unread"] >= 2
    read = await notify.client.post(f"/v1/inbox/{mine.payload.notification_id}/read", headers=me)
    assert read.status_code == 200 and read.json()["already_read"] is False and read.json()["read_at"]
    again = await notify.client.post(f"/v1/inbox/{mine.payload.notification_id}/read", headers=me)
    assert again.json()["already_read"] is True
    assert (await notify.client.post(f"/v1/inbox/{theirs.payload.notification_id}/read", headers=me)).status_code == 404
    assert (await notify.client.get("/v1/inbox", headers=MACHINE)).status_code == 403
    assert (await notify.client.get("/v1/inbox")).status_code == 401


async def test_the_dev_outbox_lists_every_message_sent_in_dev_only(notify: Notify, db: asyncpg.Pool) -> None:
    number = phone()
    event = request(Recipient(kind="customer", phone=number))
    await publish(notify.bootstrap, event)
    await _row(db, event.payload.notification_id, "sent")
    page = await notify.client.get("/dev/outbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert number in page.text and f"{number[:3]}******{number[-2:]}" in page.text
    assert event.payload.text in page.text and "渠道" in page.text and "尝试次数" in page.text
    assert "<script" not in page.text and "<style" not in page.text and "style=" not in page.text
    english = await notify.client.get("/dev/outbox?lang=en")
    assert "Channel" in english.text and "Attempts" in english.text
    assert (await notify.client.get("/dev/outbox.css")).headers["content-type"].startswith("text/css")
    settings = notify.app.state.settings
    notify.app.state.settings = settings.model_copy(update={"app_env": "test"})
    try:
        assert (await notify.client.get("/dev/outbox")).status_code == 404
    finally:
        notify.app.state.settings = settings


async def test_readiness_and_metrics(notify: Notify, db: asyncpg.Pool) -> None:
    event = request(Recipient(kind="customer", phone=phone()))
    await publish(notify.bootstrap, event)
    await _row(db, event.payload.notification_id, "sent")
    ready = (await notify.client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["kafka"] == "connected" and "outbox_pending" in ready
    text = (await notify.client.get("/metrics")).text
    assert 'notify_deliveries_total{provider="sms-http",status="sent",template="interim_reply"}' in text
    assert 'notify_provider_calls_total{outcome="accepted",provider="sms-http"}' in text
    assert "notify_queue_depth" in text
