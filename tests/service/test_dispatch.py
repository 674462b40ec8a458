"""Dispatch against real Postgres and the real broker: routing, idempotency, lifecycle, permissions,
duplicates and repeats, department ingress."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from shared.contracts import DEPARTMENT_TOPICS, Department
from tests.support.dispatch import as_, received, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until

HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
BILL = "这个月电费账单比上个月多了三倍，家里用电没变化，怀疑电表抄错了，要求核实退费。"
GAS = "楼道里有很重的煤气味，邻居家老人一个人在家，请马上派人来！"


@pytest.fixture(scope="module")
async def dispatch(migrated: Infrastructure) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_dispatch(migrated.database_url, migrated.kafka_bootstrap_servers) as running:
        app, _ = running
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
        yield running


async def _publish(bootstrap: str, *events: Any, times: int = 1) -> None:
    await produce(
        bootstrap,
        topics.COMPLAINT_RECEIVED,
        [(e.key, e.model_dump_json().encode()) for e in events for _ in range(times)],
    )


async def _work_orders(db: asyncpg.Pool, complaint_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT * FROM dispatch.work_orders WHERE complaint_id = $1 ORDER BY created_at", complaint_id
    )


async def _routed(db: asyncpg.Pool, complaint_id: uuid.UUID, n: int = 1) -> list[asyncpg.Record]:
    async def enough() -> list[asyncpg.Record] | None:
        rows = await _work_orders(db, complaint_id)
        return rows if len(rows) >= n else None

    return await wait_until(enough, timeout=30)


async def test_routes_to_the_department_topic_with_deadlines(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    heating, bill, gas = received(HEATING, channel="phone"), received(BILL), received(GAS)
    await _publish(migrated.kafka_bootstrap_servers, heating, bill, gas)
    for event, department, severity in (
        (heating, "repair", "normal"),
        (bill, "billing", "normal"),
        (gas, "repair", "emergency"),
    ):
        (order,) = await _routed(db, event.complaint_id)
        assert (order["department"], order["severity"]) == (department, severity), dict(order)
        topic = DEPARTMENT_TOPICS[Department(department)]
        records = await read_topic(
            migrated.kafka_bootstrap_servers, topic, until=lambda rs, e=event: any(r.key == e.key for r in rs)
        )
        assigned = next(r.json() for r in records if r.key == event.key)
        assert assigned["event_type"] == "workorder.assigned"
        deadlines = assigned["payload"]["deadlines"]
        assert deadlines["acknowledge_by"] < deadlines["resolve_by"]
        assert assigned["payload"]["reasons"], "the agent sees why"
    gas_order = (await _work_orders(db, gas.complaint_id))[0]
    assert gas_order["priority"] == 1
    heating_routed = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_ROUTED,
        until=lambda rs: any(r.key == heating.key for r in rs),
    )
    payload = next(r.json()["payload"] for r in heating_routed if r.key == heating.key)
    assert payload["deadlines"]["interim_reply_by"] is not None, "phone complaints get an interim reply"


async def test_three_deliveries_make_one_work_order(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    event = received(BILL, account_no=f"A-{uuid.uuid4().hex[:6]}")
    marker = received(HEATING)
    await _publish(migrated.kafka_bootstrap_servers, event, times=3)
    await _publish(migrated.kafka_bootstrap_servers, marker)
    await _routed(db, marker.complaint_id)
    await _routed(db, event.complaint_id)
    assert len(await _work_orders(db, event.complaint_id)) == 1


async def test_lifecycle_permissions_and_illegal_transitions(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    event = received(HEATING)
    await _publish(migrated.kafka_bootstrap_servers, event)
    (order,) = await _routed(db, event.complaint_id)
    wo = f"/v1/work-orders/{order['work_order_id']}"

    assert (await client.post(f"{wo}/acknowledge", headers=as_("billing"))).status_code == 403
    assert (await client.post(f"{wo}/acknowledge")).status_code == 401
    early = await client.post(f"{wo}/resolve", headers=as_("repair"), json={"resolution": "x", "root_cause": "y"})
    assert early.status_code == 409 and early.headers["content-type"] == "application/problem+json"
    assert (await client.post(f"{wo}/start", headers=as_("repair"))).status_code == 409
    assert (await client.post(f"{wo}/acknowledge", headers=as_("repair"))).status_code == 200
    assert (await client.post(f"{wo}/acknowledge", headers=as_("repair"))).status_code == 409
    assert (await client.post(f"{wo}/notes", headers=as_("repair"), json={"note": "已联系用户"})).status_code == 200
    nul = await client.post(f"{wo}/notes", headers=as_("repair"), json={"note": "bad\u0000note"})
    assert nul.status_code == 422 and nul.headers["content-type"] == "application/problem+json", "never a 500"
    assert (await client.get("/v1/queues/repair?page=99999999999999", headers=as_("repair"))).status_code == 422
    assert (await client.post(f"{wo}/start", headers=as_("repair"))).status_code == 200
    bad = await client.post(f"{wo}/resolve", headers=as_("repair"), json={"resolution": "换阀门"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "root_cause"
    done = await client.post(
        f"{wo}/resolve",
        headers=as_("repair"),
        json={"resolution": "更换了单元阀门", "root_cause": "repair.valve_failure", "root_cause_note": "阀门堵塞"},
    )
    assert done.status_code == 200
    body = done.json()
    assert (body["status"], body["root_cause"], body["root_cause_note"]) == (
        "resolved",
        "repair.valve_failure",
        "阀门堵塞",
    )
    assert [h["action"] for h in body["history"]] == ["assign", "acknowledge", "note", "start", "resolve"]
    assert (await client.post(f"{wo}/return", headers=as_("repair"), json={"reason": "late"})).status_code == 409

    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.WORKORDERS_REPAIR,
        until=lambda rs: sum(1 for r in rs if r.key == event.key) >= 5,
    )
    types = [r.json()["event_type"] for r in records if r.key == event.key]
    assert types == [
        "workorder.assigned",
        "workorder.acknowledged",
        "workorder.note_added",
        "workorder.started",
        "workorder.resolved",
    ]


async def test_return_reroutes_and_supervisor_reclassifies(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    event = received(BILL)
    await _publish(migrated.kafka_bootstrap_servers, event)
    (order,) = await _routed(db, event.complaint_id)
    assert order["department"] == "billing"
    back = await client.post(
        f"/v1/work-orders/{order['work_order_id']}/return",
        headers=as_("billing"),
        json={"reason": "电表故障，不是账务问题", "suggested_department": "repair"},
    )
    assert back.status_code == 200 and back.json()["status"] == "returned"
    orders = await _routed(db, event.complaint_id, n=2)
    assert [o["department"] for o in orders] == ["billing", "repair"]
    assert orders[1]["previous_work_order_id"] == order["work_order_id"]

    not_allowed = await client.post(
        f"/v1/complaints/{event.complaint_id}/reclassify",
        headers=as_("repair"),
        json={"category": "billing", "reason": "x"},
    )
    assert not_allowed.status_code == 403
    moved = await client.post(
        f"/v1/complaints/{event.complaint_id}/reclassify",
        headers=as_("supervisor"),
        json={"category": "service_attitude", "severity": "serious", "reason": "实为服务投诉"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["department"], moved.json()["severity"]) == ("customer_service", "serious")
    statuses = [(o["department"], o["status"]) for o in await _work_orders(db, event.complaint_id)]
    assert statuses == [("billing", "returned"), ("repair", "reassigned"), ("customer_service", "assigned")]
    history = await db.fetch(
        "SELECT actor, category FROM dispatch.classification_history WHERE complaint_id = $1 ORDER BY id",
        event.complaint_id,
    )
    assert [h["category"] for h in history][-1] == "service_attitude" and len(history) == 3


async def test_queue_sorted_by_priority_then_deadline(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    normal, emergency = received(HEATING), received(GAS)
    await _publish(migrated.kafka_bootstrap_servers, normal, emergency)
    await _routed(db, normal.complaint_id)
    await _routed(db, emergency.complaint_id)
    page = (await client.get("/v1/queues/repair?page_size=200", headers=as_("repair"))).json()
    priorities = [(i["priority"], i["resolve_by"]) for i in page["items"]]
    assert priorities == sorted(priorities)
    assert page["total"] >= 2
    assert (await client.get("/v1/queues/repair", headers=as_("billing"))).status_code == 403
    second = (await client.get("/v1/queues/repair?page=2&page_size=1", headers=as_("supervisor"))).json()
    assert len(second["items"]) == 1 and second["items"][0] == page["items"][1]


async def test_duplicate_links_to_the_open_case_and_repeats_raise_severity(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    account = f"R-{uuid.uuid4().hex[:8]}"
    first = received(BILL, account_no=account)
    await _publish(migrated.kafka_bootstrap_servers, first)
    (order,) = await _routed(db, first.complaint_id)
    second = received(BILL, account_no=account)
    await _publish(migrated.kafka_bootstrap_servers, second)
    linked = await read_topic(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_ROUTED, until=lambda rs: any(r.key == second.key for r in rs)
    )
    event = next(r.json() for r in linked if r.key == second.key)
    assert event["event_type"] == "complaint.linked"
    assert event["payload"]["linked_to_complaint_id"] == str(first.complaint_id)
    assert await _work_orders(db, second.complaint_id) == []

    # Close the first; the next two complaints are the 2nd and 3rd in the window -> the 3rd is serious.
    wo = f"/v1/work-orders/{order['work_order_id']}"
    await client.post(f"{wo}/acknowledge", headers=as_("billing"))
    await client.post(
        f"{wo}/resolve", headers=as_("billing"), json={"resolution": "已退费", "root_cause": "billing.meter_misread"}
    )
    third = received(BILL, account_no=account)
    await _publish(migrated.kafka_bootstrap_servers, third)
    (third_order,) = await _routed(db, third.complaint_id)
    assert third_order["severity"] == "normal", "linked duplicates do not count as repeats: this is the 2nd"
    await client.post(f"/v1/work-orders/{third_order['work_order_id']}/acknowledge", headers=as_("billing"))
    await client.post(
        f"/v1/work-orders/{third_order['work_order_id']}/resolve",
        headers=as_("billing"),
        json={"resolution": "r", "root_cause": "billing.refund_delay"},
    )
    fourth = received(BILL, account_no=account)
    await _publish(migrated.kafka_bootstrap_servers, fourth)
    (fourth_order,) = await _routed(db, fourth.complaint_id)
    assert fourth_order["severity"] == "serious"
    case = await db.fetchrow("SELECT reasons FROM dispatch.cases WHERE complaint_id = $1", fourth.complaint_id)
    assert any("repeat" in r for r in case["reasons"])


async def test_department_ingress_acts_and_dead_letters_what_cannot_apply(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    event = received(HEATING)
    await _publish(migrated.kafka_bootstrap_servers, event)
    (order,) = await _routed(db, event.complaint_id)
    wo_id = str(order["work_order_id"])

    def update(**fields: Any) -> bytes:
        body = {
            "update_id": str(uuid.uuid4()),
            "work_order_id": wo_id,
            "department": "repair",
            "actor": "scada-7",
            "action": "acknowledge",
            **fields,
        }
        return json.dumps(body).encode()

    ack = update()
    key = event.key
    await produce(
        migrated.kafka_bootstrap_servers,
        topics.DEPARTMENT_UPDATES,
        [
            (key, b"not json"),
            (key, update(department="billing")),  # another department's work order
            (key, update(action="resolve")),  # resolve without resolution: invalid
            (key, ack),
            (key, ack),  # redelivered: no effect
            (key, update(action="resolve", resolution="r", root_cause="c")),  # v1 free text: filed as other
            (key, update(action="start")),  # illegal now
        ],
    )

    async def resolved() -> bool:
        return (
            await db.fetchval(
                "SELECT status FROM dispatch.work_orders WHERE work_order_id = $1", order["work_order_id"]
            )
            == "resolved"
        )

    await wait_until(resolved, timeout=30)
    letters = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.dead_letter_topic(topics.DEPARTMENT_UPDATES),
        until=lambda rs: sum(1 for r in rs if r.key == key) >= 4,
        settle=0.5,
    )
    reasons = [r.headers["dlq.reason"] for r in letters if r.key == key]
    assert len(reasons) == 4, reasons
    assert "Invalid JSON" in reasons[0]
    assert "Forbidden" in reasons[1] and "belongs to repair" in reasons[1]
    assert "needs resolution" in reasons[2]
    assert "IllegalTransition" in reasons[3]
    history = await db.fetch(
        "SELECT action FROM dispatch.work_order_history WHERE work_order_id = $1 ORDER BY id", order["work_order_id"]
    )
    assert [h["action"] for h in history] == ["assign", "acknowledge", "resolve"]
    cause = await db.fetchrow(
        "SELECT root_cause, root_cause_note FROM dispatch.work_orders WHERE work_order_id = $1", order["work_order_id"]
    )
    assert tuple(cause) == ("repair.other", "c"), "a department system's free text is kept under its `other`"
