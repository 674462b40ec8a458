"""Delivery under faults, on the real processes: the SMS gateway (the Aliyun stand-in, as `make run` starts it)
unavailable for 30 s, and notify SIGKILLed in the middle of a batch. Counted where it matters — at the gateway:
every message arrives, and none twice.

How "none twice" holds across a kill: notify commits the attempt (attempts + 1, `in_doubt`, a lease) *before* it
calls the vendor. A successor finding a row still `in_doubt` after its lease asks the vendor first
(`find_sent`: Aliyun's QuerySendDetails lists our `OutId`) and sends only when the vendor has no record of it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.faults.support.platform import Platform, kill_and_await_restart
from tests.support.complaints import complaint, headers
from tests.support.kafka import wait_until

pytestmark = pytest.mark.faults

#: Quiet hours off (the suite runs at any hour); retries every few seconds at most, and enough of them to outlast a
#: 30 s outage whatever the jitter draws (full jitter, capped at 5 s: 30 attempts average over a minute).
PLATFORM_ENV = {
    "NOTIFY_QUIET_HOURS": "",
    "NOTIFY_RETRY_BASE_S": "0.5",
    "NOTIFY_RETRY_MAX_S": "5",
    "NOTIFY_MAX_ATTEMPTS": "30",
    # A killed worker's claims are looked at again after 5 s (default 60 s); a call may take 3 s.
    "NOTIFY_SEND_TIMEOUT_S": "3",
    "NOTIFY_LEASE_S": "5",
}
TEXT = "家里暖气不热，室温只有15度，请派人来看看。"


async def _post(platform: Platform, n: int, tag: str) -> list[str]:
    """n web complaints from n customers who prefer SMS; their complaint ids."""
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=platform.url("intake"), timeout=30) as client:

        async def one(i: int) -> str:
            customer = {"account_no": f"{tag}-{i:04d}", "phone": f"138{uuid.uuid4().int % 10**8:08d}"}
            body = complaint("web", text=TEXT, category_hint=None, customer={**customer, "preferred_contact": "sms"})
            async with gate:
                answer = await client.post("/v1/complaints", json=body, headers=headers("web"))
            assert answer.status_code == 202, answer.text
            return str(answer.json()["complaint_id"])

        return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _receipts(db: asyncpg.Pool, complaint_ids: list[str]) -> list[asyncpg.Record]:
    return list(
        await db.fetch(
            "SELECT notification_id, status, attempts FROM notify.deliveries "
            "WHERE complaint_id = ANY($1::uuid[]) AND template_id = 'complaint_received'",
            [uuid.UUID(c) for c in complaint_ids],
        )
    )


async def _all_delivered(db: asyncpg.Pool, complaint_ids: list[str], timeout: float) -> list[asyncpg.Record]:
    async def done() -> list[asyncpg.Record] | None:
        rows = await _receipts(db, complaint_ids)
        return rows if len(rows) == len(complaint_ids) and all(r["status"] == "delivered" for r in rows) else None

    return list(await wait_until(done, timeout=timeout, interval=0.5))


async def _at_gateway(platform: Platform) -> Counter[str]:
    """How many times the gateway took each of our notification ids (its `OutId`)."""
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.get(f"{platform.info['gateways']['sms']}/_standin/messages")
    assert answer.status_code == 200, answer.text
    return Counter(str(m["idempotency_key"]) for m in answer.json())


async def test_sms_gateway_down_30_s_every_message_retried_and_delivered_exactly_once(platform: Platform) -> None:
    db = await asyncpg.create_pool(platform.dsn, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            down = await client.post(f"{platform.info['gateways']['sms']}/_standin/faults", json={"down_for_s": 30})
            assert down.status_code == 200, down.text
        began = time.monotonic()
        complaint_ids = await _post(platform, 60, f"DOWN-{uuid.uuid4().hex[:6]}")
        rows = await _all_delivered(db, complaint_ids, timeout=150)
        took = time.monotonic() - began
        assert took >= 29, f"delivered in {took:.0f}s: the gateway was not down"
        assert all(r["attempts"] > 1 for r in rows), "each was refused while the gateway was down, then retried"
        taken = await _at_gateway(platform)
        assert {str(r["notification_id"]): taken[str(r["notification_id"])] for r in rows} == {
            str(r["notification_id"]): 1 for r in rows
        }, "each message reached the gateway exactly once"
    finally:
        await db.close()


async def test_notify_killed_mid_batch_sends_no_message_twice(platform: Platform) -> None:
    """The vendor answers 2 s late (it took the message at once), so when notify dies, calls are in flight whose
    messages the vendor has: the successor must find them there rather than send them again."""
    sms = platform.info["gateways"]["sms"]
    db = await asyncpg.create_pool(platform.dsn, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            assert (await client.post(f"{sms}/_standin/faults", json={"latency_s": 2})).status_code == 200
        before = await _at_gateway(platform)
        posting = asyncio.create_task(_post(platform, 150, f"KILL-{uuid.uuid4().hex[:6]}"))

        async def some_taken() -> bool:
            return sum((await _at_gateway(platform)).values()) - sum(before.values()) >= 20

        await wait_until(some_taken, timeout=60, interval=0.05)
        in_flight = await db.fetchval("SELECT count(*) FROM notify.deliveries WHERE in_doubt")
        old_pid, new_pid, _ = await kill_and_await_restart(platform, "notify")
        async with httpx.AsyncClient(timeout=15) as client:
            assert (await client.post(f"{sms}/_standin/faults", json={"latency_s": 0})).status_code == 200
        complaint_ids = await posting
        rows = await _all_delivered(db, complaint_ids, timeout=150)
        taken = await _at_gateway(platform)
        twice = {str(r["notification_id"]) for r in rows if taken[str(r["notification_id"])] != 1}
        assert in_flight > 0, "the kill came while calls to the vendor were in flight"
        assert not twice, f"{len(twice)} of {len(rows)} not at the gateway exactly once (notify {old_pid}->{new_pid})"
    finally:
        await db.close()
