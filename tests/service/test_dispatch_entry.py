"""Dispatch's entry side against real Postgres and the real broker: an invalid complaint gets no work order and is
announced as invalid, a supervisor overturns it over HTTP; a complaint settled on the call is resolved on contact
and reopens into a real work order; a safety hazard is routed whatever was said on the call; the case shows its
owner."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from shared.contracts import ComplaintReopened, new_event
from tests.support.dispatch import as_, received, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, read_topic, wait_until

BROADBAND = "家里宽带断了，电信电话打不通"
BILL = "这个月电费账单比上个月多了三倍，家里用电没变化，怀疑电表抄错了，要求核实退费。"
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
GAS = "楼道里有很重的煤气味，邻居家老人一个人在家，请马上派人来！"
EXPLAINED = "已向用户解释本月账单包含上月补收电费，用户表示理解"
THREAT = "这个月电费账单比上个月多了三倍，怀疑电表抄错了，要求核实退费，再不处理就打12345投诉。"


@pytest.fixture(scope="module")
async def dispatch(migrated: Infrastructure) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_dispatch(migrated.database_url, migrated.kafka_bootstrap_servers) as running:
        app, _ = running
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
        yield running


async def _case(client: httpx.AsyncClient, complaint_id: uuid.UUID, status: str) -> dict[str, Any]:
    """The case once dispatch has it in `status` (read over HTTP, as staff would)."""

    async def reached() -> dict[str, Any] | None:
        response = await client.get(f"/v1/complaints/{complaint_id}", headers=as_("customer_service"))
        return response.json() if response.status_code == 200 and response.json()["status"] == status else None

    return await wait_until(reached, timeout=30)


async def _routing_events(bootstrap: str, key: bytes, n: int) -> list[dict[str, Any]]:
    records = await read_topic(
        bootstrap, topics.COMPLAINT_ROUTED, until=lambda rs: sum(1 for r in rs if r.key == key) >= n
    )
    return [r.json() for r in records if r.key == key]


async def _work_orders(db: asyncpg.Pool, complaint_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM dispatch.work_orders WHERE complaint_id = $1 ORDER BY created_at", complaint_id
    )


async def test_an_invalid_complaint_gets_no_work_order_and_a_supervisor_overturns_it(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(BROADBAND, channel="phone", agent_id="agent-7")
    await publish(bootstrap, event)

    case = await _case(client, event.complaint_id, "invalid")
    assert (case["valid"], case["invalid_reason"], case["owner"], case["work_orders"]) == (
        False,
        "not ours: broadband/telecom (宽带)",
        "agent-7",
        [],
    )
    (invalid,) = await _routing_events(bootstrap, event.key, 1)
    assert invalid["event_type"] == "complaint.invalid"
    assert (invalid["payload"]["reason"], invalid["payload"]["decided_by"]) == (case["invalid_reason"], "dispatch")
    assert not await _work_orders(db, event.complaint_id)

    validity = f"/v1/complaints/{event.complaint_id}/validity"
    overturn = {"valid": True, "note": "整栋楼断电导致断网", "category": "outage"}
    assert (await client.post(validity, json=overturn, headers=as_("repair"))).status_code == 403
    bad = await client.post(validity, json={"valid": True}, headers=as_("supervisor"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "note"
    decided = await client.post(validity, json=overturn, headers=as_("supervisor"))
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["valid"], body["category"], body["owner"]) == ("routed", True, "outage", "agent-7")
    (order,) = body["work_orders"]
    assert (order["department"], order["status"]) == ("repair", "assigned")
    (stored,) = await _work_orders(db, event.complaint_id)
    assert stored["starts_at"] == event.payload.accepted_at, "its clocks run from acceptance"
    routed = (await _routing_events(bootstrap, event.key, 2))[1]
    assert (routed["event_type"], routed["payload"]["reason"]) == ("complaint.routed", "reclassified")
    again = await client.post(validity, json=overturn, headers=as_("supervisor"))
    assert again.status_code == 409
    closing = await client.post(validity, json={"valid": False, "reason": "骚扰"}, headers=as_("supervisor"))
    assert closing.status_code == 409, "only a complaint waiting in triage is closed as invalid"
    examples = await db.fetchval(
        "SELECT count(*) FROM dispatch.labelled_examples WHERE complaint_id = $1 AND source = 'validity'",
        event.complaint_id,
    )
    assert examples == 1


async def test_a_complaint_settled_on_the_call_is_resolved_on_contact_and_reopens_into_a_work_order(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(BILL, channel="phone", agent_id="agent-0042", handled_on_contact=EXPLAINED)
    await publish(bootstrap, event)

    case = await _case(client, event.complaint_id, "resolved_on_contact")
    assert (case["owner"], case["handled_on_contact"], case["work_orders"]) == ("agent-0042", EXPLAINED, [])
    (settled,) = await _routing_events(bootstrap, event.key, 1)
    assert settled["event_type"] == "complaint.resolved_on_contact"
    payload = settled["payload"]
    assert (payload["department"], payload["owner"], payload["resolution_id"]) == (
        "customer_service",
        "agent-0042",
        case["resolution_id"],
    )
    assert payload["callback_limit"]
    assert not await _work_orders(db, event.complaint_id)

    reopened = new_event(
        ComplaintReopened,
        complaint_id=event.complaint_id,
        producer="test",
        correlation_id=event.correlation_id,
        payload={
            "complaint_id": event.complaint_id,
            "reference_no": event.payload.reference_no,
            "reason": "customer dissatisfied",
            "previous_work_order_id": uuid.UUID(case["resolution_id"]),
            "severity": "serious",
            "reopen_count": 1,
            "reopened_at": datetime.now(UTC),
        },
    )
    await publish(bootstrap, reopened)
    case = await _case(client, event.complaint_id, "routed")
    (order,) = case["work_orders"]
    assert (order["cycle"], order["department"], order["severity"]) == (2, "billing", "serious")
    assert case["owner"] == "agent-0042"


async def test_a_serious_complaint_is_routed_whatever_was_explained_on_the_call(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(THREAT, channel="phone", agent_id="agent-0042", handled_on_contact=EXPLAINED)
    await publish(bootstrap, event)

    case = await _case(client, event.complaint_id, "routed")
    assert (case["category"], case["severity"], case["resolution_id"]) == ("billing", "serious", None)
    assert [o["department"] for o in case["work_orders"]] == ["billing"]
    routed = next(e for e in await _routing_events(bootstrap, event.key, 1) if e["event_type"] == "complaint.routed")
    assert any("a serious complaint cannot be settled on contact" in r for r in routed["payload"]["reasons"])


async def test_a_safety_hazard_is_routed_whatever_was_said_and_the_case_shows_its_owner(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    gas = received(GAS, channel="phone", agent_id="agent-0042", handled_on_contact="已告知用户开窗通风、离开现场")
    web = received(HEATING)
    await publish(bootstrap, gas, web)

    case = await _case(client, gas.complaint_id, "routed")
    assert (case["category"], case["severity"], case["owner"]) == ("safety_hazard", "emergency", "agent-0042")
    routed = next(e for e in await _routing_events(bootstrap, gas.key, 1) if e["event_type"] == "complaint.routed")
    assert any(
        "a safety hazard cannot be settled on contact: a crew must go" in r for r in routed["payload"]["reasons"]
    )
    records = await read_topic(bootstrap, topics.WORKORDERS_REPAIR, until=lambda rs: any(r.key == gas.key for r in rs))
    assigned = next(r.json() for r in records if r.key == gas.key)
    assert (assigned["schema_version"], assigned["payload"]["owner"]) == (4, "agent-0042")
    assert assigned["payload"]["area_class"] == "city"

    heating = await _case(client, web.complaint_id, "routed")
    assert heating["owner"] is None, "nobody has taken it yet"
    (order,) = heating["work_orders"]
    ack = await client.post(f"/v1/work-orders/{order['work_order_id']}/acknowledge", headers=as_("repair"))
    assert ack.status_code == 200
    shown = await client.get(f"/v1/complaints/{web.complaint_id}", headers=as_("billing"))
    assert shown.status_code == 200 and shown.json()["owner"] == "repair-desk"
    assert (await client.get(f"/v1/complaints/{uuid.uuid4()}", headers=as_("supervisor"))).status_code == 404
    assert (await client.get(f"/v1/complaints/{web.complaint_id}")).status_code == 401
