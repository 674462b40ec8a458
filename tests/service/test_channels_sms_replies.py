"""Must-show 3 of issue 23 against real Postgres and Kafka, with intake, channels and followup running in-process:
a customer answers our SMS through the vendor's uplink push (Aliyun SmsUp and Tencent 短信回复, built by the
vendors' stand-ins, `/sms/uplink/<vendor>?token=`) — "2" becomes the survey score on the case's callback, "还是不热"
answers the pending callback dissatisfied by SMS and the case is reopened under the callback rules, anything else
is a staff notice to the case's owner. Each reply finds its case by the phone the last message went to (the case
read model holds its keyed hash only), through channel.reply → intake → complaint.customer_replied → followup."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from embedded.standins import aliyun_sms, tencent_sms
from embedded.standins.serving import Received
from embedded.standins.sms_gateway import Faults, ReportPusher
from services.intake import consumers as intake_consumers
from shared.contracts import NotificationDelivery, new_event
from tests.support.channels import running_channels
from tests.support.complaints import DEV_KEYS, complaint
from tests.support.followup import running_followup
from tests.support.followup_events import Order, acknowledged, assigned, resolved
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import publish, start_groups_at_end, wait_until

ALIYUN_UPLINK = "/sms/uplink/aliyun?token=dev-only-aliyun-sms-uplink-token"
TENCENT_UPLINK = "/sms/uplink/tencent?token=dev-only-tencent-sms-uplink-token"


@dataclass
class Running:
    intake: httpx.AsyncClient
    channels: httpx.AsyncClient
    bootstrap: str


@pytest.fixture(scope="module")
async def running(migrated: Infrastructure) -> AsyncIterator[Running]:
    bootstrap = migrated.kafka_bootstrap_servers
    intake_group = f"intake-test-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(bootstrap, intake_consumers.SUBSCRIPTIONS, intake_group)
    async with (
        running_intake(migrated.database_url, bootstrap, intake_consumer_group=intake_group) as (intake, i_client),
        running_channels(migrated.database_url, bootstrap) as (channels, c_client),
        running_followup(migrated.database_url, bootstrap) as (followup, _),
    ):
        await wait_until(
            lambda: {a.state.kafka["kafka"] for a in (intake, channels, followup)} == {"connected"}, timeout=60
        )
        yield Running(i_client, c_client, bootstrap)


def _phone() -> str:
    return f"137{uuid.uuid4().int % 10**8:08d}"


def _vendor_items() -> tuple[aliyun_sms.Gateway, tencent_sms.Gateway]:
    """The stand-ins' own builders of a reply push (the vendors' documented formats), without their servers."""
    pusher = ReportPusher(None, 0, lambda _: True)
    return (
        aliyun_sms.Gateway(Received("aliyun_sms", None), Faults(), pusher, None),
        tencent_sms.Gateway(Received("tencent_sms", None), Faults(), pusher, "1400000000", None),
    )


async def _resolved_case_messaged(running: Running, db: asyncpg.Pool, phone: str) -> Order:
    """A phone complaint through intake, its work order resolved (followup: a pending callback), and an SMS
    delivered to the customer about it (channels: the case of the last message sent to that phone)."""
    body = complaint("phone", customer={"name": "赵六", "phone": phone, "preferred_contact": "sms"})
    answer = await running.intake.post("/v1/complaints", json=body, headers={"X-API-Key": DEV_KEYS["phone"]})
    assert answer.status_code == 202, answer.text
    order = Order(uuid.UUID(answer.json()["complaint_id"]), uuid.uuid4(), answer.json()["reference_no"])
    now = datetime.now(UTC)
    await publish(
        running.bootstrap,
        assigned(order, at=now),
        acknowledged(order, at=now, owner="staff.li"),
        resolved(order, at=now),
    )
    delivered = new_event(
        NotificationDelivery,
        complaint_id=order.complaint_id,
        producer="notify",
        correlation_id=f"corr-{order.reference_no}",
        payload={
            "notification_id": uuid.uuid4(),
            "template_id": "case_resolved",
            "recipient_kind": "customer",
            "channel": "sms",
            "provider": "aliyun_sms",
            "status": "delivered",
            "attempts": 1,
            "requested_at": now,
            "status_at": now,
        },
    )
    await publish(running.bootstrap, delivered)
    await wait_until(
        lambda: db.fetchval(
            "SELECT last_message_at IS NOT NULL AND reference_no = $2 FROM channels.cases WHERE complaint_id = $1",
            order.complaint_id,
            order.reference_no,
        ),
        timeout=30,
    )
    await wait_until(
        lambda: db.fetchval(
            "SELECT status = 'pending' FROM followup.callbacks WHERE complaint_id = $1", order.complaint_id
        ),
        timeout=30,
    )
    return order


async def test_two_still_cold_and_a_question_each_reach_their_case(running: Running, db: asyncpg.Pool) -> None:
    aliyun, tencent = _vendor_items()
    scored, cold, asked = _phone(), _phone(), _phone()
    orders = {phone: await _resolved_case_messaged(running, db, phone) for phone in (scored, cold, asked)}

    push = [aliyun.reply_item(f"+86{scored}", "2"), aliyun.reply_item(f"+86{cold}", "还是不热")]
    for _ in range(2):  # Aliyun pushes again when it missed our answer: one message each, whatever the retries
        answer = await running.channels.post(ALIYUN_UPLINK, content=json.dumps(push, ensure_ascii=False))
        assert (answer.status_code, answer.json()["code"]) == (200, 0)
    question = tencent.reply_item(f"+86{asked}", "师傅明天上午能来复查吗？")
    answer = await running.channels.post(TENCENT_UPLINK, json=question)
    assert answer.json() == {"result": 0, "errmsg": "OK"}

    score = await wait_until(
        lambda: db.fetchval(
            "SELECT survey_score FROM followup.callbacks WHERE complaint_id = $1", orders[scored].complaint_id
        ),
        timeout=30,
    )
    assert score == 2
    callback = await wait_until(
        lambda: db.fetchrow(
            "SELECT status, last_method, last_agent, last_note FROM followup.callbacks "
            "WHERE complaint_id = $1 AND status <> 'pending'",
            orders[cold].complaint_id,
        ),
        timeout=30,
    )
    assert dict(callback) == {
        "status": "dissatisfied",
        "last_method": "sms",
        "last_agent": "customer",
        "last_note": "还是不热",
    }
    assert (
        await db.fetchval(
            "SELECT dissatisfied_count FROM followup.cases WHERE complaint_id = $1", orders[cold].complaint_id
        )
        == 1
    ), "reopened under the callback rules"
    notice = await wait_until(
        lambda: db.fetchval(
            "SELECT text FROM followup.notifications WHERE complaint_id = $1 AND template_id = 'customer_replied'",
            orders[asked].complaint_id,
        ),
        timeout=30,
    )
    assert orders[asked].reference_no in notice and "师傅明天上午能来复查吗" in notice
    stored = await db.fetch(
        "SELECT provider, status FROM channels.inbound_messages WHERE provider LIKE 'sms-%' AND complaint_id = ANY($1)",
        [o.complaint_id for o in orders.values()],
    )
    assert sorted((r["provider"], r["status"]) for r in stored) == [
        ("sms-aliyun", "reply"),
        ("sms-aliyun", "reply"),
        ("sms-tencent", "reply"),
    ]
    for phone in (scored, cold, asked):
        assert not await db.fetchval("SELECT count(*) FROM channels.cases WHERE phone_hash = $1", phone)
