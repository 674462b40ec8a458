"""Interim replies to phone complaints, and the per-number daily cap on customer messages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fastapi import FastAPI

from shared import topics
from shared.contracts import ComplaintContact, WorkOrderAssigned, new_event
from tests.support.followup import running_followup
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until


@pytest.fixture(scope="module")
async def followup(migrated: Infrastructure) -> AsyncIterator[FastAPI]:
    async with running_followup(migrated.database_url, migrated.kafka_bootstrap_servers, notification_daily_cap=3) as (
        app,
        _,
    ):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        yield app


def _phone_order(phone: str, interim_in: timedelta) -> tuple[WorkOrderAssigned, ComplaintContact]:
    now = datetime.now(UTC)
    complaint_id, reference = uuid.uuid4(), f"TS-20261123-{uuid.uuid4().hex[:8].upper()}"
    far = now + timedelta(days=1)
    assigned = new_event(
        WorkOrderAssigned,
        complaint_id=complaint_id,
        producer="test",
        correlation_id="n",
        payload={
            "work_order_id": uuid.uuid4(),
            "complaint_id": complaint_id,
            "reference_no": reference,
            "department": "repair",
            "cycle": 1,
            "status": "assigned",
            "actor": "dispatch",
            "at": now,
            "category": "heating_temperature",
            "severity": "normal",
            "priority": 3,
            "text": "t",
            "location": {"address": "a", "district": "d"},
            "customer": {"account_no": None, "name_masked": None, "phone_masked": None, "preferred_contact": "phone"},
            "channel": "phone",
            "reasons": [],
            "reopened": False,
            "deadlines": {
                "starts_at": now,
                "acknowledge_by": far,
                "on_site_by": None,
                "resolve_by": far,
                "interim_reply_by": now + interim_in,
                "callback_limit": "1wd",
                "policy_id": "test",
            },
        },
    )
    contact = new_event(
        ComplaintContact,
        complaint_id=complaint_id,
        producer="test",
        correlation_id="n",
        payload={
            "complaint_id": complaint_id,
            "reference_no": reference,
            "name": "周九",
            "phone": phone,
            "email": None,
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )
    return assigned, contact


async def test_interim_reply_and_daily_cap(followup: FastAPI, migrated: Infrastructure, db: asyncpg.Pool) -> None:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    pairs = [_phone_order(phone, timedelta(milliseconds=300)) for _ in range(5)]
    await produce(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_CONTACT,
        [(c.key, c.model_dump_json().encode()) for _, c in pairs],
    )
    await produce(
        migrated.kafka_bootstrap_servers,
        topics.WORKORDERS_REPAIR,
        [(a.key, a.model_dump_json().encode()) for a, _ in pairs],
    )
    ids = [a.complaint_id for a, _ in pairs]

    async def all_decided() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM followup.notifications WHERE complaint_id = ANY($1::uuid[]) "
            "AND template_id = 'interim_reply'",
            ids,
        )
        return n == 5

    await wait_until(all_decided, timeout=30)
    suppressed = await db.fetchval(
        "SELECT count(*) FROM followup.notifications WHERE complaint_id = ANY($1::uuid[]) AND suppressed", ids
    )
    assert suppressed == 2, "3 messages a day per number, the rest held back"
    keys = {str(i).encode() for i in ids}
    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.NOTIFICATION_REQUESTED,
        until=lambda rs: sum(1 for r in rs if r.key in keys) >= 3,
        settle=0.5,
    )
    sent = [r.json()["payload"] for r in records if r.key in keys]
    assert len(sent) == 3
    assert {s["template_id"] for s in sent} == {"interim_reply"}
    customer = {"kind": "customer", "phone": phone, "role": None, "staff_id": None, "department": None}
    assert all(s["recipient"] == customer for s in sent)
    assert all(s["params"]["reference_no"] in s["text"] for s in sent)


async def test_resolved_before_the_interim_reply_sends_none(
    followup: FastAPI, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    assigned, contact = _phone_order(f"138{uuid.uuid4().int % 10**8:08d}", timedelta(seconds=2))
    p = assigned.payload
    facts = {
        "work_order_id": p.work_order_id,
        "complaint_id": p.complaint_id,
        "reference_no": p.reference_no,
        "department": "repair",
        "cycle": 1,
        "actor": "repair-desk",
        "at": datetime.now(UTC),
    }
    from shared.contracts import WorkOrderAcknowledged, WorkOrderResolved

    acked = new_event(
        WorkOrderAcknowledged,
        complaint_id=p.complaint_id,
        producer="test",
        correlation_id="n",
        payload={**facts, "status": "acknowledged"},
    )
    resolved = new_event(
        WorkOrderResolved,
        complaint_id=p.complaint_id,
        producer="test",
        correlation_id="n",
        payload={**facts, "status": "resolved", "resolution": "r", "root_cause": "c"},
    )
    await produce(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_CONTACT, [(contact.key, contact.model_dump_json().encode())]
    )
    await produce(
        migrated.kafka_bootstrap_servers,
        topics.WORKORDERS_REPAIR,
        [(e.key, e.model_dump_json().encode()) for e in (assigned, acked, resolved)],
    )

    async def callback_scheduled() -> bool:
        return bool(
            await db.fetchval("SELECT count(*) FROM followup.callbacks WHERE complaint_id = $1", p.complaint_id)
        )

    await wait_until(callback_scheduled, timeout=30)
    interim = await db.fetchrow(
        "SELECT fired_at, cancelled_at FROM followup.timers WHERE subject_id = $1 AND kind = 'interim_reply'",
        p.work_order_id,
    )
    assert interim["cancelled_at"] is not None and interim["fired_at"] is None
