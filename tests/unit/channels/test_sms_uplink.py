"""SMS replies through channels' HTTP app on the in-memory repository (no database, no broker): a vendor's push
with the callback URL's token is answered the way the vendor counts as heard, each reply is stored once (a retried
push changes nothing) and handed on as `channel.reply` on the case of the last message sent to that number — with
what it means — and a reply nobody's case can take is kept, `ignored`, with the reason."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from services.channels import metrics
from services.channels.bootstrap import create_app
from services.channels.handlers.context import ChannelsContext
from services.channels.model import Case
from services.channels.settings import ChannelsSettings
from shared.handling import Door
from shared.settings import refuse_dev_secrets
from tests.fakes.channels import ChannelsState, FakeTransactions

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PHONE = "13800138000"
TENCENT_TOKEN = "dev-only-tencent-sms-uplink-token"
ALIYUN_TOKEN = "dev-only-aliyun-sms-uplink-token"


@dataclass
class Channels:
    client: httpx.AsyncClient
    transactions: FakeTransactions
    context: ChannelsContext

    @property
    def state(self) -> ChannelsState:
        return self.transactions.state

    def case(self, reference_no: str, *, phone: str = PHONE, last_message_at: datetime | None = NOW) -> Case:
        case = Case(
            complaint_id=uuid.uuid4(),
            reference_no=reference_no,
            channel="phone",
            channel_ticket_id=None,
            status="resolved",
            received_at=NOW - timedelta(days=2),
            updated_at=NOW,
            phone_hash=self.context.contacts.phone(phone),
            last_message_at=last_message_at,
        )
        self.state.cases[case.complaint_id] = case
        return case

    def replies(self) -> list[dict[str, object]]:
        return [e.payload.model_dump(mode="json") for e in self.state.outbox if e.event_type == "channel.reply"]


@pytest.fixture
async def channels() -> AsyncIterator[Channels]:
    settings = ChannelsSettings(app_env="test")
    app = create_app(settings, clock=lambda: NOW)
    transactions = FakeTransactions()
    context = ChannelsContext.from_settings(settings)
    app.state.door = Door(transactions, context, clock=lambda: NOW)  # the lifespan (pool, broker) is not started
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://channels") as client:
        yield Channels(client, transactions, context)


def tencent(text: str, *, mobile: str = PHONE, at: datetime = NOW) -> dict[str, object]:
    return {
        "extend": "",
        "mobile": mobile,
        "nationcode": "86",
        "sign": "热力公司",
        "text": text,
        "time": int(at.timestamp()),
    }


async def test_a_tencent_reply_goes_to_the_case_of_the_last_message_sent(channels: Channels) -> None:
    channels.case("TS-20261201-000001", last_message_at=NOW - timedelta(days=3))
    latest = channels.case("TS-20261203-000002", last_message_at=NOW - timedelta(hours=1))
    channels.case("TS-20261204-000003", phone="13900139000")  # someone else's

    duplicates = metrics.SMS_REPLIES.labels("sms-tencent", "duplicate")._value.get()
    answer = await channels.client.post(f"/sms/uplink/tencent?token={TENCENT_TOKEN}", json=tencent("2"))
    again = await channels.client.post(f"/sms/uplink/tencent?token={TENCENT_TOKEN}", json=tencent("2"))

    assert answer.status_code == again.status_code == 200
    assert answer.json() == again.json() == {"result": 0, "errmsg": "OK"}
    [reply] = channels.replies()  # the vendor's retry is the same message
    assert metrics.SMS_REPLIES.labels("sms-tencent", "duplicate")._value.get() == duplicates + 1
    assert (reply["reference_no"], reply["kind"], reply["score"], reply["channel"]) == (
        latest.reference_no,
        "survey_score",
        2,
        "phone",
    )
    assert reply["provider"] == "sms-tencent" and reply["text"] == "2"
    [event] = [e for e in channels.state.outbox if e.event_type == "channel.reply"]
    assert event.complaint_id == latest.complaint_id
    [stored] = channels.state.messages.values()
    assert (stored.status, stored.complaint_id) == ("reply", latest.complaint_id)
    assert json.loads(channels.state.raw_bodies[stored.message_id][1]) == tencent("2")


async def test_an_aliyun_push_of_several_replies_each_meaning_its_own(channels: Channels) -> None:
    still_cold = channels.case("TS-20261203-000010")
    other = channels.case("TS-20261203-000011", phone="13900139000")
    push = [
        {
            "phone_number": PHONE,
            "content": "还是不热",
            "send_time": "2026-12-05 19:58:00",
            "dest_code": "1",
            "sequence_id": 901,
            "sign_name": "热力公司",
        },
        {
            "phone_number": "13900139000",
            "content": "师傅几点来？",
            "send_time": "2026-12-05 19:59:00",
            "dest_code": "1",
            "sequence_id": 902,
        },
    ]

    answer = await channels.client.post(f"/sms/uplink/aliyun?token={ALIYUN_TOKEN}", json=push)

    assert (answer.status_code, answer.json()["code"]) == (200, 0)
    replies = {r["reference_no"]: r for r in channels.replies()}
    assert (replies[still_cold.reference_no]["kind"], replies[still_cold.reference_no]["text"]) == (
        "dissatisfied",
        "还是不热",
    )
    assert replies[other.reference_no]["kind"] == "note"
    sent_at = datetime.fromisoformat(str(replies[other.reference_no]["received_at"]))
    assert sent_at == datetime(2026, 12, 5, 11, 59, tzinfo=UTC), "the vendor's Beijing time"


async def test_a_reply_no_recent_message_explains_is_kept_ignored(channels: Channels) -> None:
    channels.case("TS-20261001-000020", last_message_at=NOW - timedelta(days=31))

    for mobile in (PHONE, "13700137000"):
        answer = await channels.client.post(
            f"/sms/uplink/tencent?token={TENCENT_TOKEN}", json=tencent("3", mobile=mobile)
        )
        assert answer.status_code == 200, "heard: a vendor must not push it again"

    assert channels.replies() == []
    assert [(m.status, m.detail) for m in channels.state.messages.values()] == [
        ("ignored", "no message sent to this number in the last 30 days: no case to reply on")
    ] * 2


async def test_an_empty_reply_is_kept_ignored(channels: Channels) -> None:
    channels.case("TS-20261203-000025")
    answer = await channels.client.post(f"/sms/uplink/tencent?token={TENCENT_TOKEN}", json=tencent("  "))
    assert answer.status_code == 200 and channels.replies() == []
    assert [(m.status, m.detail) for m in channels.state.messages.values()] == [
        ("ignored", "an empty reply: nothing to hand on")
    ]


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", f"?token={ALIYUN_TOKEN}"])
async def test_a_push_without_the_vendors_token_is_refused_and_nothing_stored(channels: Channels, query: str) -> None:
    channels.case("TS-20261203-000030")
    answer = await channels.client.post(f"/sms/uplink/tencent{query}", json=tencent("不满意"))
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert channels.state.messages == {} and channels.state.outbox == []


async def test_a_malformed_push_is_a_clear_422(channels: Channels) -> None:
    answer = await channels.client.post(
        f"/sms/uplink/aliyun?token={ALIYUN_TOKEN}", json=[{"phone_number": PHONE, "content": "2"}]
    )
    assert answer.status_code == 422
    assert "sequence_id" in answer.text
    garbled = await channels.client.post(
        f"/sms/uplink/tencent?token={TENCENT_TOKEN}", content=b"\xff{", headers={"content-type": "text/plain"}
    )
    assert garbled.status_code == 422 and "not JSON" in garbled.text
    assert channels.state.messages == {}


def test_outside_dev_an_unset_token_refuses_every_push_and_a_dev_token_refuses_to_start() -> None:
    prod = ChannelsSettings.model_construct(
        app_env="prod",
        tencent_sms_uplink_token=SecretStr(""),
        aliyun_sms_uplink_token=SecretStr("a-long-real-secret-1234"),
    )
    assert (prod.sms_uplink_token("tencent"), prod.sms_uplink_token("aliyun")) == ("", "a-long-real-secret-1234")
    assert ChannelsSettings(app_env="test").sms_uplink_token("tencent") == TENCENT_TOKEN
    dev_token_in_prod = ChannelsSettings.model_construct(
        app_env="prod", tencent_sms_uplink_token=SecretStr(""), aliyun_sms_uplink_token=SecretStr(ALIYUN_TOKEN)
    )
    secrets = {k: v for k, v in dev_token_in_prod._secrets().items() if "SMS_UPLINK" in k}
    assert secrets == {"ALIYUN_SMS_UPLINK_TOKEN": ALIYUN_TOKEN}, "an unset token is no secret to check"
    with pytest.raises(ValueError, match="ALIYUN_SMS_UPLINK_TOKEN"):
        refuse_dev_secrets(dev_token_in_prod, secrets, "dev-only")
