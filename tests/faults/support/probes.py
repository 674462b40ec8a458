"""What a fault scenario reads mid-fault, where no public API tells it: a service's outbox backlog, how many work
orders dispatch holds, a partner ticket's complaint, which event ids each consumer processed. Each look into a
service's database is one named function here, so the scenarios read as steps and say what they check."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import asyncpg

from shared import topics
from tests.support.platform import Platform

#: Where each consumer of the streams' events records the event ids it processed (its dedupe marks, or
#: reporting's timeline), per topic.
PROCESSED: dict[str, tuple[str, ...]] = {
    topics.COMPLAINT_RECEIVED: (
        "SELECT event_id FROM dispatch.processed_events WHERE consumer = 'dispatch.complaint-received'",
        "SELECT event_id FROM reporting.timeline WHERE topic = 'complaint.received'",
    ),
    topics.COMPLAINT_CONTACT: (
        "SELECT event_id FROM followup.processed_events WHERE consumer = 'followup.complaint-contact'",
    ),
    topics.COMPLAINT_ROUTED: ("SELECT event_id FROM reporting.timeline WHERE topic = 'complaint.routed'",),
    **{
        topic: (
            "SELECT event_id FROM followup.processed_events WHERE consumer = 'followup.work-orders'",
            f"SELECT event_id FROM reporting.timeline WHERE topic = '{topic}'",
        )
        for topic in (topics.WORKORDERS_REPAIR, topics.WORKORDERS_BILLING, topics.WORKORDERS_CUSTOMER_SERVICE)
    },
}
#: The services whose outbox a scenario may watch drain.
OUTBOXES = ("intake", "dispatch", "followup", "notify")


async def _count(platform: Platform, query: str) -> int:
    conn = await asyncpg.connect(platform.dsn, timeout=10)
    try:
        return int(await conn.fetchval(query))
    finally:
        await conn.close()


async def outbox_backlog(platform: Platform, service: str) -> int:
    """Events `service` committed but its relay has not published yet."""
    assert service in OUTBOXES, service
    return await _count(platform, f"SELECT count(*) FROM {service}.outbox")


async def work_orders_held(platform: Platform) -> int:
    """Every work order dispatch holds (all complaints, all cycles)."""
    return await _count(platform, "SELECT count(*) FROM dispatch.work_orders")


async def _pairs(platform: Platform, query: str) -> dict[str, Any]:
    """The first column of `query`'s rows (as text) → the second."""
    conn = await asyncpg.connect(platform.dsn, timeout=10)
    try:
        return {str(row[0]): row[1] for row in await conn.fetch(query)}
    finally:
        await conn.close()


async def work_orders_per_complaint(platform: Platform) -> dict[str, int]:
    """Complaint id → how many work orders dispatch made for it."""
    return await _pairs(platform, "SELECT complaint_id, count(*) FROM dispatch.work_orders GROUP BY 1")


async def followup_work_orders_per_complaint(platform: Platform) -> dict[str, int]:
    """Complaint id → how many work orders followup keeps clocks for."""
    return await _pairs(platform, "SELECT complaint_id, count(*) FROM followup.work_orders GROUP BY 1")


async def followup_work_orders_held(platform: Platform) -> int:
    """Every work order followup keeps clocks for."""
    return await _count(platform, "SELECT count(*) FROM followup.work_orders")


async def intake_references(platform: Platform) -> dict[str, str]:
    """Complaint id → its reference number, as intake holds them."""
    return await _pairs(platform, "SELECT complaint_id, reference_no FROM intake.complaints")


async def wait_for(
    platform: Platform, what: str, read: Callable[[Platform], Awaitable[int]], expected: int, *, timeout: float = 90.0
) -> None:
    """Until `read(platform)` (one of the counts above) gives `expected`, with a deadline."""
    deadline = time.monotonic() + timeout
    while (found := await read(platform)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} in {timeout:.0f} s: {found}, not {expected}\n{platform.output_tail()}")
        await asyncio.sleep(0.2)


async def wait_outbox_drained(platform: Platform, service: str, *, timeout: float = 90.0) -> None:
    """Until everything `service` committed is on Kafka."""
    deadline = time.monotonic() + timeout
    while (left := await outbox_backlog(platform, service)) != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{service}'s outbox not drained in {timeout:.0f} s: {left} left")
        await asyncio.sleep(0.2)


async def partner_ticket_complaint(platform: Platform, ticket_id: str, *, timeout: float = 60.0) -> tuple[str, str]:
    """(complaint id, reference number) of the complaint intake made of a partner's ticket, once it exists."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(platform.dsn, timeout=10)
    try:
        while True:
            row = await conn.fetchrow(
                "SELECT complaint_id, reference_no FROM intake.complaints WHERE channel_ticket_id = $1", ticket_id
            )
            if row is not None:
                return str(row["complaint_id"]), str(row["reference_no"])
            if time.monotonic() > deadline:
                raise AssertionError(f"partner ticket {ticket_id} not made a complaint in {timeout:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def unprocessed_event_ids(platform: Platform, on_topics: Mapping[str, Iterable[uuid.UUID]]) -> dict[str, int]:
    """Per (topic, consumer's record): how many of the given event ids on each topic it never processed."""
    missing: dict[str, int] = {}
    conn = await asyncpg.connect(platform.dsn, timeout=10)
    try:
        for topic, queries in PROCESSED.items():
            wanted = set(on_topics.get(topic, ()))
            for query in queries:
                processed = {r["event_id"] for r in await conn.fetch(query)}
                if wanted - processed:
                    missing[f"{topic}: {query}"] = len(wanted - processed)
    finally:
        await conn.close()
    return missing
