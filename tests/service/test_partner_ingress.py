"""Partner hotline tickets on the ingress topic: valid ones become complaints, poison is dead-lettered."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from shared import topics
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import produce, read_topic, wait_until


@pytest.fixture(scope="module")
async def intake_consumer(migrated: Infrastructure) -> AsyncIterator[None]:
    # A group of its own: no waiting for members other tests' intake instances left behind.
    group = f"intake-test-{uuid.uuid4().hex[:8]}"
    async with running_intake(migrated.database_url, migrated.kafka_bootstrap_servers, intake_consumer_group=group) as (
        app,
        _client,
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
        yield


def ticket(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "source": "12345",
        "ticket_id": f"12345-{uuid.uuid4().hex[:10]}",
        "received_at": datetime.now(UTC).isoformat(),
        "caller_name": "赵六",
        "caller_phone": "13700137000",
        "address": "铁西区兴华街12号",
        "district": "tiexi",
        "content": "小区停水一整天了，也没有通知。",
    }
    body.update(overrides)
    return body


async def _complaint_count(db: asyncpg.Pool, ticket_id: str) -> int:
    return await db.fetchval("SELECT count(*) FROM intake.complaints WHERE channel_ticket_id = $1", ticket_id)


async def test_poison_is_dead_lettered_and_next_ticket_processed(
    intake_consumer: None, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    key = uuid.uuid4().hex.encode()  # same key: same partition, so the good one is *behind* the poison
    bad_json = b"{not json"
    bad_phone = ticket(caller_phone="call me maybe")
    good = ticket()
    await produce(
        migrated.kafka_bootstrap_servers,
        topics.PARTNER_TICKETS,
        [(key, bad_json), (key, json.dumps(bad_phone).encode()), (key, json.dumps(good).encode())],
    )
    await wait_until(lambda: _complaint_count(db, str(good["ticket_id"])), timeout=30)

    letters = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.dead_letter_topic(topics.PARTNER_TICKETS),
        until=lambda rs: sum(1 for r in rs if r.key == key) >= 2,
    )
    mine = [r for r in letters if r.key == key]
    assert [r.value for r in mine] == [bad_json, json.dumps(bad_phone).encode()]
    assert "Invalid JSON" in mine[0].headers["dlq.reason"]
    assert "customer.phone" in mine[1].headers["dlq.reason"]
    assert mine[1].headers["dlq.original_topic"] == topics.PARTNER_TICKETS
    assert mine[1].headers["dlq.consumer"] == "intake.partner-tickets"


async def test_redelivered_ticket_makes_one_complaint(
    intake_consumer: None, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    same = ticket(source="95598")
    value = json.dumps(same).encode()
    await produce(
        migrated.kafka_bootstrap_servers, topics.PARTNER_TICKETS, [(b"t", value), (b"t", value), (b"t", value)]
    )
    marker = ticket()
    await produce(migrated.kafka_bootstrap_servers, topics.PARTNER_TICKETS, [(b"t", json.dumps(marker).encode())])
    await wait_until(lambda: _complaint_count(db, str(marker["ticket_id"])), timeout=30)
    assert await _complaint_count(db, str(same["ticket_id"])) == 1
    channel = await db.fetchval("SELECT channel FROM intake.complaints WHERE channel_ticket_id = $1", same["ticket_id"])
    assert channel == "partner_95598"
