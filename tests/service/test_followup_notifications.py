"""Followup's messages over the real broker and Postgres (issue 21): interim replies to every address with their
urgency (the daily cap is notify's: followup requests them all), the receipt once complaint and contact are both
known — in either order —, the resolution's message before its callback, and a message notify could not deliver
as an agent's task in `GET /v1/callbacks`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.followup import consumers
from shared import topics
from shared.contracts import (
    ComplaintContact,
    ComplaintReceived,
    CorrectiveActionSet,
    NotificationFailed,
    WorkOrderAssigned,
    WorkOrderResolved,
    new_event,
)
from tests.support.followup import AGENT, running_followup
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, read_topic, start_groups_at_end, wait_until


@dataclass(frozen=True)
class Followup:
    app: FastAPI
    http: httpx.AsyncClient


@pytest.fixture(scope="module")
async def followup(migrated: Infrastructure) -> AsyncIterator[Followup]:
    prefix = f"followup-test-{uuid.uuid4().hex[:8]}"
    # Only what this module publishes: the session's earlier complaints would each get a receipt otherwise.
    await start_groups_at_end(migrated.kafka_bootstrap_servers, consumers.SUBSCRIPTIONS, prefix)
    async with running_followup(
        migrated.database_url, migrated.kafka_bootstrap_servers, followup_consumer_group=prefix
    ) as (app, http):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        yield Followup(app, http)


def _reference() -> str:
    return f"TS-20261123-{uuid.uuid4().hex[:8].upper()}"


def _contact(complaint_id: uuid.UUID, reference: str, phone: str | None, **more: Any) -> ComplaintContact:
    payload = {
        "complaint_id": complaint_id,
        "reference_no": reference,
        "name": "周九",
        "phone": phone,
        "email": None,
        "wechat_openid": None,
        "preferred_contact": "phone",
    }
    return new_event(
        ComplaintContact, complaint_id=complaint_id, producer="test", correlation_id="n", payload=payload | more
    )


def _received(complaint_id: uuid.UUID, reference: str, channel: str = "phone") -> ComplaintReceived:
    now = datetime.now(UTC)
    return new_event(
        ComplaintReceived,
        complaint_id=complaint_id,
        producer="test",
        correlation_id="n",
        payload={
            "complaint_id": complaint_id,
            "reference_no": reference,
            "channel": channel,
            "channel_ticket_id": None,
            "received_at": now,
            "accepted_at": now,
            "customer": {"account_no": None, "name_masked": None, "phone_masked": None, "preferred_contact": "phone"},
            "location": {"address": "a", "district": "d"},
            "text": "暖气不热",
            "category_hint": None,
        },
    )


def _assigned(
    complaint_id: uuid.UUID, reference: str, interim_in: timedelta | None, severity: str = "normal"
) -> WorkOrderAssigned:
    now = datetime.now(UTC)
    far = now + timedelta(days=1)
    return new_event(
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
            "severity": severity,
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
                "interim_reply_by": now + interim_in if interim_in else None,
                "callback_limit": "1wd",
                "policy_id": "test",
            },
        },
    )


async def _requested(bootstrap: str, keys: set[bytes], n: int, settle: float = 0.5) -> list[dict[str, Any]]:
    records = await read_topic(
        bootstrap,
        topics.NOTIFICATION_REQUESTED,
        until=lambda rs: sum(1 for r in rs if r.key in keys) >= n,
        settle=settle,
    )
    return [r.json()["payload"] for r in records if r.key in keys]


async def test_every_interim_reply_is_requested_with_every_address_and_its_urgency(
    followup: Followup, migrated: Infrastructure
) -> None:
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    cases = [(uuid.uuid4(), _reference()) for _ in range(5)]
    severities = ["normal", "normal", "normal", "normal", "emergency"]
    contacts = [_contact(c, r, phone, email="zhou@example.com", preferred_contact="email") for c, r in cases]
    orders = [_assigned(c, r, timedelta(milliseconds=300), s) for (c, r), s in zip(cases, severities, strict=True)]
    await publish(migrated.kafka_bootstrap_servers, *contacts)
    await publish(migrated.kafka_bootstrap_servers, *orders)

    sent = await _requested(migrated.kafka_bootstrap_servers, {c.key for c in contacts}, 5)
    interim = [s for s in sent if s["template_id"] == "interim_reply"]
    assert len(interim) == 5, "the daily cap is notify's: followup asks for every message"
    assert all(s["recipient"]["kind"] == "customer" for s in interim)
    assert {
        (s["recipient"]["phone"], s["recipient"]["email"], s["recipient"]["preferred_contact"]) for s in interim
    } == {(phone, "zhou@example.com", "email")}
    assert all(s["reference_no"] in s["text"] and s["reference_no"] == s["params"]["reference_no"] for s in interim)
    emergency = orders[-1].payload.reference_no
    assert {s["reference_no"]: s["urgency"] for s in interim} == {
        o.payload.reference_no: "urgent" if o.payload.reference_no == emergency else "routine" for o in orders
    }


async def test_the_receipt_goes_once_whichever_of_complaint_and_contact_comes_first(
    followup: Followup, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    contact_first, complaint_first = (uuid.uuid4(), _reference()), (uuid.uuid4(), _reference())
    await publish(bootstrap, _contact(*contact_first, "13700000001"), _received(*complaint_first))

    async def both_first_halves_seen() -> bool:
        contact = await db.fetchval("SELECT 1 FROM followup.contacts WHERE complaint_id = $1", contact_first[0])
        receipt = await db.fetchval("SELECT 1 FROM followup.receipts WHERE complaint_id = $1", complaint_first[0])
        return bool(contact and receipt)

    await wait_until(both_first_halves_seen, timeout=30)
    await publish(bootstrap, _received(*contact_first, channel="web"), _contact(*complaint_first, "13700000002"))
    received_again = _received(*complaint_first)  # a redelivery of either changes nothing
    await publish(bootstrap, received_again, _contact(*contact_first, "13700000001"))

    keys = {str(contact_first[0]).encode(), str(complaint_first[0]).encode()}
    sent = await _requested(bootstrap, keys, 2, settle=1.5)
    by_reference = {s["reference_no"]: s for s in sent}
    assert len(sent) == 2 and set(by_reference) == {contact_first[1], complaint_first[1]}
    assert by_reference[contact_first[1]]["template_id"] == "complaint_received"  # web
    assert by_reference[complaint_first[1]]["template_id"] == "complaint_received_phone"
    assert "12小时" in by_reference[complaint_first[1]]["text"]
    told = await db.fetch(
        "SELECT told_at FROM followup.receipts WHERE complaint_id = ANY($1::uuid[])",
        [contact_first[0], complaint_first[0]],
    )
    assert len(told) == 2 and all(r["told_at"] is not None for r in told)


async def test_the_resolution_is_told_with_what_will_change_before_the_callback(
    followup: Followup, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    complaint_id, reference = uuid.uuid4(), _reference()
    assigned = _assigned(complaint_id, reference, None, "serious")
    wo = assigned.payload.work_order_id
    now = datetime.now(UTC)
    action = new_event(
        CorrectiveActionSet,
        complaint_id=complaint_id,
        producer="test",
        correlation_id="n",
        payload={
            "action_id": uuid.uuid4(),
            "complaint_id": complaint_id,
            "reference_no": reference,
            "work_order_id": wo,
            "department": "repair",
            "severity": "serious",
            "description": "更换该站全部老化阀门",
            "owner": "repair-chief-7",
            "deadline": now + timedelta(days=10),
            "status": "open",
            "actor": "leader-1",
            "at": now,
        },
    )
    await publish(bootstrap, _contact(complaint_id, reference, "13700000003"), assigned, action)

    async def held() -> bool:
        return bool(
            await db.fetchval("SELECT 1 FROM followup.corrective_actions WHERE complaint_id = $1", complaint_id)
        )

    await wait_until(held, timeout=30)
    facts = {k: getattr(assigned.payload, k) for k in ("work_order_id", "complaint_id", "reference_no", "cycle")}
    resolved = new_event(
        WorkOrderResolved,
        complaint_id=complaint_id,
        producer="test",
        correlation_id="n",
        payload={
            **facts,
            "department": "repair",
            "status": "resolved",
            "actor": "repair-desk",
            "at": now,
            "resolution": "更换了卡死的阀门",
            "root_cause": "repair.valve_failure",
            "root_cause_detail": {"code": "repair.valve_failure", "label_zh": "阀门故障", "label_en": "valve failure"},
            "cause_analysis": {"summary": "阀门超期服役", "analysed_by": "leader-1"},
        },
    )
    await publish(bootstrap, resolved)
    (told,) = [s for s in await _requested(bootstrap, {assigned.key}, 1) if s["template_id"] == "case_resolved"]
    assert "更换了卡死的阀门" in told["text"] and "原因：阀门故障" in told["text"]
    assert "改进措施：更换该站全部老化阀门。" in told["text"]
    row = await db.fetchrow(
        "SELECT (SELECT at FROM followup.notifications WHERE complaint_id = $1 AND template_id = 'case_resolved') "
        "AS told, (SELECT created_at FROM followup.callbacks WHERE complaint_id = $1) AS scheduled",
        complaint_id,
    )
    assert row["told"] is not None and row["scheduled"] is not None


def _failed(complaint_id: uuid.UUID, notification_id: uuid.UUID, template: str, kind: str) -> NotificationFailed:
    return new_event(
        NotificationFailed,
        complaint_id=complaint_id,
        producer="notify",
        correlation_id="n",
        payload={
            "notification_id": notification_id,
            "template_id": template,
            "recipient_kind": kind,
            "channels_tried": ["sms", "email"],
            "attempts": 12,
            "reason": "isv.MOBILE_NUMBER_ILLEGAL",
            "reference_no": None,
            "failed_at": datetime.now(UTC),
        },
    )


async def test_a_message_nobody_received_is_a_task_in_the_callbacks_worklist(
    followup: Followup, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    complaint_id, reference = uuid.uuid4(), _reference()
    await publish(bootstrap, _contact(complaint_id, reference, "13700000004"), _received(complaint_id, reference))
    (receipt,) = await _requested(bootstrap, {str(complaint_id).encode()}, 1)
    notification_id = uuid.UUID(receipt["notification_id"])

    failed = _failed(complaint_id, notification_id, receipt["template_id"], "customer")
    staff = _failed(complaint_id, uuid.uuid4(), "escalation", "staff")
    again = _failed(complaint_id, notification_id, receipt["template_id"], "customer")  # notify said it twice
    await publish(bootstrap, failed, staff, failed, again)

    async def listed() -> list[dict[str, Any]]:
        answer = await followup.http.get("/v1/callbacks", headers=AGENT, params={"page_size": 200})
        assert answer.status_code == 200
        return [i for i in answer.json()["items"] if i["complaint_id"] == str(complaint_id)]

    (task,) = await wait_until(listed, timeout=30)
    assert (task["kind"], task["reason"], task["template_id"]) == (
        "notification_failed",
        "notification_failed",
        "complaint_received_phone",
    )
    assert task["work_order_id"] == str(notification_id) and task["reference_no"] == reference
    assert reference in task["message"] and task["contact"]["phone"] == "13700000004"

    async def all_three_consumed() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM followup.processed_events WHERE consumer = 'followup.notification-failed' "
            "AND event_id = ANY($1::uuid[])",
            [failed.event_id, staff.event_id, again.event_id],
        )
        return n == 3

    await wait_until(all_three_consumed, timeout=30)
    assert len(await listed()) == 1, "one task per notification, and none for a staff message"

    done = await followup.http.post(
        f"/v1/callbacks/{task['callback_id']}/outcome", headers=AGENT, json={"outcome": "satisfied"}
    )
    assert done.status_code == 200 and done.json()["status"] == "satisfied"
    assert await listed() == []
    closed = await db.fetchval("SELECT closed_at FROM followup.cases WHERE complaint_id = $1", complaint_id)
    assert closed is None, "the task done closes nothing of the case"
