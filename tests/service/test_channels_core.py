"""The channels core against real Postgres and Kafka, with intake running beside it: a message taken by channels
becomes intake's complaint under the id channels minted, and its reference number comes back into channels' case
read model; the same provider id twice is one message and one complaint; a reply on the case reaches
`complaint.replies` masked, one on an unknown reference is dead-lettered with the reason; an attachment is read by
a signed-in staff member only, and the read is recorded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.channels.handlers.inbound import take_message
from services.channels.model import ComplaintDraft, NewAttachment, ReplyDraft, StoredMessage, TakeMessage
from services.intake import consumers as intake_consumers
from shared import topics
from shared.contracts import Channel, Location
from shared.contracts.channels import ChannelCustomer
from tests.support.channels import running_channels
from tests.support.followup_events import Order, resolved, routed
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import Record, publish, read_topic, start_groups_at_end, wait_until
from tests.support.reporting_events.messages import delivery
from tests.support.tokens import LocalIssuer

PHOTO = b"\xff\xd8\xff\xe0" + b"photo" * 200


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    issuer: LocalIssuer
    bootstrap: str

    async def take(self, cmd: TakeMessage) -> StoredMessage:
        return await self.app.state.door.run(take_message, cmd)


@pytest.fixture(scope="module")
async def channels(migrated: Infrastructure) -> AsyncIterator[Running]:
    bootstrap, issuer = migrated.kafka_bootstrap_servers, LocalIssuer()
    intake_group = f"intake-test-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(bootstrap, intake_consumers.SUBSCRIPTIONS, intake_group)
    async with (
        running_intake(migrated.database_url, bootstrap, intake_consumer_group=intake_group) as (intake, _),
        running_channels(migrated.database_url, bootstrap, persons=issuer.verifier()) as (app, client),
    ):
        await wait_until(lambda: intake.state.kafka["kafka"] == app.state.kafka["kafka"] == "connected", timeout=60)
        yield Running(app, client, issuer, bootstrap)


def wechat_message(msg_id: str, *, attachments: tuple[NewAttachment, ...] = ()) -> TakeMessage:
    return TakeMessage(
        provider="wechat",
        provider_message_id=msg_id,
        channel=Channel.WECHAT,
        raw_body=f"<xml><MsgId>{msg_id}</MsgId></xml>".encode(),
        content_type="text/xml",
        received_at=datetime.now(UTC),
        complaint=ComplaintDraft(
            channel=Channel.WECHAT,
            customer=ChannelCustomer(wechat_openid=f"oWx-{msg_id}", phone="13900139000", preferred_contact="wechat"),
            location=Location(address="皇姑区黄河南大街66号2单元301", district="huanggu"),
            text="家里暖气片冰凉，室温只有14度。",
        ),
        attachments=attachments,
    )


def reply_message(reference_no: str, text: str) -> TakeMessage:
    return TakeMessage(
        provider="tencent-sms",
        provider_message_id=uuid.uuid4().hex,
        channel=Channel.PHONE,
        raw_body=text.encode(),
        content_type="application/json",
        received_at=datetime.now(UTC),
        reply=ReplyDraft(channel=Channel.PHONE, reference_no=reference_no, kind="note", text=text),
    )


async def _taken_into_a_case(channels: Running, db: asyncpg.Pool) -> tuple[StoredMessage, str]:
    msg_id = str(uuid.uuid4().int)[:20]
    stored = await channels.take(
        wechat_message(msg_id, attachments=(NewAttachment("暖气片.jpg", "image/jpeg", PHOTO),))
    )
    row = await wait_until(
        lambda: db.fetchrow(
            "SELECT reference_no, channel, channel_ticket_id FROM intake.complaints WHERE complaint_id = $1",
            stored.complaint_id,
        )
    )
    assert (row["channel"], row["channel_ticket_id"]) == ("wechat", f"wechat:{msg_id}")
    reference_no: str = row["reference_no"]
    await wait_until(
        lambda: db.fetchval(
            "SELECT reference_no = $2 FROM channels.cases WHERE complaint_id = $1", stored.complaint_id, reference_no
        )
    )
    return stored, reference_no


async def test_a_message_becomes_intakes_complaint_under_the_id_channels_minted(
    channels: Running, db: asyncpg.Pool
) -> None:
    stored, reference_no = await _taken_into_a_case(channels, db)
    again = await channels.take(wechat_message(stored.provider_message_id))
    assert again.duplicate and again.complaint_id == stored.complaint_id and again.reference_no == reference_no
    assert (
        await db.fetchval(
            "SELECT count(*) FROM intake.complaints WHERE channel_ticket_id = $1",
            f"wechat:{stored.provider_message_id}",
        )
        == 1
    )
    received = await read_topic(
        channels.bootstrap,
        topics.COMPLAINT_RECEIVED,
        until=lambda rs: any(r.key == str(stored.complaint_id).encode() for r in rs),
    )
    [event] = [r.json() for r in received if r.key == str(stored.complaint_id).encode()]
    [photo] = event["payload"]["attachments"]
    assert photo["file_name"] == "暖气片.jpg" and photo["size_bytes"] == len(PHOTO)
    assert photo["url"].endswith(f"/v1/attachments/{stored.attachments[0].attachment_id}")
    case = await db.fetchrow("SELECT * FROM channels.cases WHERE complaint_id = $1", stored.complaint_id)
    assert case["channel"] == "wechat" and case["phone_hash"] and case["wechat_openid_hash"]
    assert "13900139000" not in repr(dict(case))


async def test_a_reply_reaches_its_case_masked_and_an_unknown_reference_is_dead_lettered(
    channels: Running, db: asyncpg.Pool
) -> None:
    stored, reference_no = await _taken_into_a_case(channels, db)
    await channels.take(reply_message(reference_no, "师傅还没来，我的电话13900139000"))
    unknown = await channels.take(reply_message("TS-19990101-000001", "谢谢"))
    key = str(stored.complaint_id).encode()

    def replied(records: list[Record]) -> bool:
        return any(r.key == key for r in records)

    [reply] = [
        r.json() for r in await read_topic(channels.bootstrap, topics.COMPLAINT_REPLIES, until=replied) if r.key == key
    ]
    assert reply["event_type"] == "complaint.customer_replied"
    assert (reply["payload"]["reference_no"], reply["payload"]["kind"]) == (reference_no, "note")
    assert "13900139000" not in reply["payload"]["text"] and reply["payload"]["text"].startswith("师傅还没来")
    assert unknown.complaint_id is not None
    dead_key = str(unknown.complaint_id).encode()
    letters = await read_topic(
        channels.bootstrap,
        topics.dead_letter_topic(topics.CHANNEL_MESSAGES),
        until=lambda rs: any(r.key == dead_key for r in rs),
    )
    [letter] = [r for r in letters if r.key == dead_key]
    assert "TS-19990101-000001" in letter.headers["dlq.reason"]
    assert letter.headers["dlq.consumer"] == "intake.channel-messages"


async def test_an_attachment_is_for_signed_in_staff_and_every_read_is_recorded(
    channels: Running, db: asyncpg.Pool
) -> None:
    stored = await channels.take(
        wechat_message(uuid.uuid4().hex, attachments=(NewAttachment("<script>.html", "text/html", b"<script>"),))
    )
    photo = await channels.take(
        wechat_message(uuid.uuid4().hex, attachments=(NewAttachment("暖气片.jpg", "image/jpeg", PHOTO),))
    )
    html_id, photo_id = stored.attachments[0].attachment_id, photo.attachments[0].attachment_id
    staff = {"Authorization": f"Bearer {channels.issuer.mint('crew-07', roles=('crew',))}"}

    answer = await channels.client.get(f"/v1/attachments/{photo_id}", headers=staff)
    assert answer.status_code == 200 and answer.content == PHOTO
    assert answer.headers["content-type"] == "image/jpeg" and answer.headers["x-content-type-options"] == "nosniff"
    html = await channels.client.get(f"/v1/attachments/{html_id}", headers=staff)
    assert html.headers["content-type"] == "application/octet-stream"  # never rendered on our origin
    assert html.headers["content-disposition"].startswith("attachment;")
    reads = await db.fetch("SELECT read_by FROM channels.attachment_reads WHERE attachment_id = $1", photo_id)
    assert [r["read_by"] for r in reads] == ["crew-07"]

    machine = await channels.client.get(
        f"/v1/attachments/{photo_id}", headers={"Authorization": "Bearer dev-only-channels-key"}
    )
    nobody = await channels.client.get(f"/v1/attachments/{photo_id}")
    missing = await channels.client.get(f"/v1/attachments/{uuid.uuid4()}", headers=staff)
    assert (machine.status_code, nobody.status_code, missing.status_code) == (403, 401, 404)
    assert await db.fetchval("SELECT count(*) FROM channels.attachment_reads WHERE attachment_id = $1", photo_id) == 1
    ready = await channels.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["kafka"] == "connected"


async def test_one_provider_id_taken_at_once_by_many_is_one_message_and_one_event(
    channels: Running, db: asyncpg.Pool
) -> None:
    msg_id = uuid.uuid4().hex
    taken = await asyncio.gather(*(channels.take(wechat_message(msg_id)) for _ in range(8)))
    assert len({t.message_id for t in taken}) == 1 and len({t.complaint_id for t in taken}) == 1
    assert sorted(t.duplicate for t in taken) == [False] + [True] * 7
    assert (
        await db.fetchval(
            "SELECT count(*) FROM channels.inbound_messages WHERE provider = 'wechat' AND provider_message_id = $1",
            msg_id,
        )
        == 1
    )
    received = await read_topic(
        channels.bootstrap,
        topics.CHANNEL_MESSAGES,
        until=lambda rs: any(r.key == str(taken[0].complaint_id).encode() for r in rs),
        settle=0.5,
    )
    assert sum(1 for r in received if r.key == str(taken[0].complaint_id).encode()) == 1


async def test_the_read_model_follows_the_case_and_its_messages_on_postgres(
    channels: Running, db: asyncpg.Pool
) -> None:
    stored, reference_no = await _taken_into_a_case(channels, db)
    assert stored.complaint_id is not None
    order = Order(stored.complaint_id, uuid.uuid4(), reference_no)
    receipt = uuid.uuid4()
    at = datetime.now(UTC)
    await publish(
        channels.bootstrap,
        routed(order, reason="new", at=at),
        resolved(order, at=at + timedelta(hours=2)),
        delivery(stored.complaint_id, receipt, "queued", 1),
        delivery(stored.complaint_id, receipt, "delivered", 2),
    )
    case = await wait_until(
        lambda: db.fetchrow(
            "SELECT status, department, status_notes, last_message_at FROM channels.cases "
            "WHERE complaint_id = $1 AND status = 'resolved' AND last_message_at IS NOT NULL",
            stored.complaint_id,
        )
    )
    assert (case["department"], case["status_notes"]) == ("billing", "refunded")
    sent = await db.fetch(
        "SELECT template_id, status FROM channels.case_messages WHERE complaint_id = $1", stored.complaint_id
    )
    assert [tuple(r) for r in sent] == [("complaint_received", "delivered")]
