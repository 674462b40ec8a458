"""With the broker stopped, intake still accepts; once it is back, every accepted complaint is published.

Uses a private embedded Kafka (it must be stopped and started), with the session's Postgres.
Duplicates: the relay deletes an outbox row only after Kafka acknowledged it, so a crash between ack
and delete republishes that row with the same `event_id`; consumers dedupe on it. This test counts
duplicates and requires none in the normal path.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from shared import topics
from tests.support.complaints import complaint, headers
from tests.support.infrastructure import Infrastructure, session_broker
from tests.support.intake import running_intake
from tests.support.kafka import read_topic, wait_until


async def test_two_hundred_accepted_while_broker_down_all_published_after(
    migrated: Infrastructure, db: asyncpg.Pool, tmp_path: Path
) -> None:
    broker = session_broker(tmp_path / "kafka")
    await asyncio.to_thread(broker.start)
    try:
        await broker.acreate_topics([topics.COMPLAINT_RECEIVED, topics.COMPLAINT_CONTACT, topics.PARTNER_TICKETS])
        async with running_intake(migrated.database_url, broker.bootstrap_servers) as (_app, client):
            await asyncio.to_thread(broker.stop)

            accepted: set[str] = set()
            for i in range(200):
                channel = ("phone", "web", "app", "wechat", "counter", "email")[i % 6]
                response = await client.post("/v1/complaints", json=complaint(channel), headers=headers(channel))
                assert response.status_code == 202, response.text
                accepted.add(response.json()["complaint_id"])
            assert len(accepted) == 200
            pending = await db.fetchval(
                "SELECT count(*) FROM intake.outbox WHERE topic = $1 AND key = ANY($2::text[])",
                topics.COMPLAINT_RECEIVED,
                list(accepted),
            )
            assert pending == 200, "nothing can have been published while the broker was down"

            await asyncio.to_thread(broker.restart)  # same port and data: the topics are still there
            records = await read_topic(
                broker.bootstrap_servers,
                topics.COMPLAINT_RECEIVED,
                until=lambda rs: accepted <= {r.key.decode() for r in rs if r.key},
                timeout=60,
                settle=1.0,
            )
            published = [r.key.decode() for r in records if r.key and r.key.decode() in accepted]
            assert set(published) == accepted
            assert len(published) == 200, f"{len(published) - 200} duplicates"
            await wait_until(lambda: _drained(db, accepted), timeout=30)
    finally:
        await asyncio.to_thread(broker.stop)


async def _drained(db: asyncpg.Pool, keys: set[str]) -> bool:
    left = await db.fetchval("SELECT count(*) FROM intake.outbox WHERE key = ANY($1::text[])", list(keys))
    return left == 0
