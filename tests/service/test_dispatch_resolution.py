"""Dispatch's resolution side against real Postgres and the real broker: the root-cause catalogue, serious cases'
cause analysis and corrective actions (stored and published through the outbox), coordinated cases with a lead
and an assisting department, and the department-update ingress holding serious cases to the same rule."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from shared.contracts import ComplaintReceived
from tests.support.dispatch import as_, received, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until

HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温。"
GAS = "楼道里有很重的煤气味，邻居家老人一个人在家，请马上派人来！"
MISSING = "cannot close without a cause analysis and at least one corrective action (owner, deadline)"


@pytest.fixture(scope="module")
async def dispatch(migrated: Infrastructure) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_dispatch(migrated.database_url, migrated.kafka_bootstrap_servers) as running:
        app, _ = running
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=30)
        yield running


async def _routed(bootstrap: str, db: asyncpg.Pool, event: ComplaintReceived) -> dict[str, Any]:
    await produce(bootstrap, topics.COMPLAINT_RECEIVED, [(event.key, event.model_dump_json().encode())])
    row = await wait_until(
        lambda: db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", event.complaint_id),
        timeout=30,
    )
    return dict(row)


async def _events(bootstrap: str, topic: str, key: bytes, n: int) -> list[dict[str, Any]]:
    records = await read_topic(bootstrap, topic, until=lambda rs: sum(1 for r in rs if r.key == key) >= n)
    return [r.json() for r in records if r.key == key]


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_the_catalogue_is_listed_and_a_resolution_must_pick_from_it(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    assert (await client.get("/v1/root-causes")).status_code == 401
    listed = (await client.get("/v1/root-causes", headers=as_("billing"))).json()["items"]
    by_code = {i["code"]: i for i in listed}
    assert {i["department"] for i in listed} == {"repair", "billing", "customer_service"}
    assert by_code["repair.valve_failure"]["label_zh"].startswith("阀门故障")
    assert {"repair.other", "billing.other", "customer_service.other"} <= set(by_code)

    event = received(HEATING)
    order = await _routed(migrated.kafka_bootstrap_servers, db, event)
    wo = f"/v1/work-orders/{order['work_order_id']}"
    assert (await client.post(f"{wo}/acknowledge", headers=as_("repair"))).status_code == 200
    for cause in ("阀门堵塞", "billing.meter_misread"):
        refused = await client.post(
            f"{wo}/resolve", headers=as_("repair"), json={"resolution": "换阀", "root_cause": cause}
        )
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["errors"][0]["field"] == "root_cause"
        assert problem["valid_root_causes"] == [i["code"] for i in listed if i["department"] == "repair"]
    assert await db.fetchval(
        "SELECT status FROM dispatch.work_orders WHERE work_order_id = $1", order["work_order_id"]
    ) == ("acknowledged")


async def test_an_emergency_closes_only_with_cause_analysis_and_corrective_action(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(GAS)
    order = await _routed(bootstrap, db, event)
    assert order["severity"] == "emergency"
    wo = f"/v1/work-orders/{order['work_order_id']}"
    assert (await client.post(f"{wo}/acknowledge", headers=as_("repair"))).status_code == 200
    bare = {"resolution": "更换立管接头", "root_cause": "repair.pipe_leak"}
    refused = await client.post(f"{wo}/resolve", headers=as_("repair"), json=bare)
    assert refused.status_code == 422 and MISSING in refused.json()["detail"], refused.text
    assert "missing: cause_analysis, corrective_actions" in refused.json()["detail"]
    action = {"description": "全楼燃气立管检测", "owner": "燃气管网所", "deadline": _in(30)}
    late = await client.post(
        f"{wo}/resolve",
        headers=as_("repair"),
        json={**bare, "cause_analysis": "接头锈蚀", "corrective_actions": [{**action, "deadline": _in(-1)}]},
    )
    assert late.status_code == 422 and "not in the future" in late.json()["detail"], late.text
    done = await client.post(
        f"{wo}/resolve",
        headers=as_("repair"),
        json={**bare, "cause_analysis": "立管接头超期服役，巡检未覆盖", "corrective_actions": [action]},
    )
    assert done.status_code == 200, done.text
    (set_action,) = done.json()["corrective_actions"]
    assert (set_action["owner"], set_action["status"], set_action["work_order_id"]) == (
        "燃气管网所",
        "open",
        str(order["work_order_id"]),
    )

    resolved = (await _events(bootstrap, topics.WORKORDERS_REPAIR, event.key, 3))[-1]
    assert (resolved["event_type"], resolved["schema_version"]) == ("workorder.resolved", 3)
    payload = resolved["payload"]
    assert payload["root_cause"] == "repair.pipe_leak" and payload["root_cause_detail"]["label_en"].startswith("Pipe")
    assert payload["cause_analysis"] == {"summary": "立管接头超期服役，巡检未覆盖", "analysed_by": "repair-desk"}
    assert payload["case_resolved"] is True
    (announced,) = await _events(bootstrap, topics.CORRECTIVE_ACTIONS, event.key, 1)
    assert announced["event_type"] == "corrective_action.set"
    assert (announced["payload"]["action_id"], announced["payload"]["severity"]) == (
        set_action["action_id"],
        "emergency",
    )

    listed = (await client.get("/v1/corrective-actions?status=open", headers=as_("repair"))).json()["items"]
    assert set_action["action_id"] in {a["action_id"] for a in listed}
    billing_sees = (await client.get("/v1/corrective-actions", headers=as_("billing"))).json()["items"]
    assert set_action["action_id"] not in {a["action_id"] for a in billing_sees}, "a department sees its own"

    complete = f"/v1/corrective-actions/{set_action['action_id']}/complete"
    assert (await client.post(complete, headers=as_("repair"), json={"outcome": "x"})).status_code == 403
    finished = await client.post(complete, headers=as_("supervisor"), json={"outcome": "全楼立管已检测，更换3处"})
    assert finished.status_code == 200 and finished.json()["status"] == "done", finished.text
    again = await client.post(complete, headers=as_("supervisor"), json={"outcome": "again"})
    assert again.status_code == 409
    _, completed = await _events(bootstrap, topics.CORRECTIVE_ACTIONS, event.key, 2)
    assert completed["event_type"] == "corrective_action.completed"
    assert (completed["payload"]["outcome"], completed["payload"]["status"]) == ("全楼立管已检测，更换3处", "done")
    read = (await client.get(wo, headers=as_("repair"))).json()
    assert [a["status"] for a in read["corrective_actions"]] == ["done"]


async def test_a_supervisor_sets_a_corrective_action_later_and_it_shows_overdue(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    event = received(HEATING)
    await _routed(migrated.kafka_bootstrap_servers, db, event)
    url = f"/v1/complaints/{event.complaint_id}/corrective-actions"
    body = {"description": "小区供暖管网排气", "owner": "热力一所", "deadline": _in(2 / 86400)}
    assert (await client.post(url, headers=as_("repair"), json=body)).status_code == 403
    assert (
        await client.post(f"/v1/complaints/{uuid.uuid4()}/corrective-actions", headers=as_("supervisor"), json=body)
    ).status_code == 404
    created = await client.post(url, headers=as_("supervisor"), json=body)
    assert created.status_code == 201, created.text
    action = created.json()
    assert (action["department"], action["overdue"], action["work_order_id"]) == ("repair", False, None)

    async def overdue() -> bool:
        items = (await client.get("/v1/corrective-actions?overdue=true", headers=as_("supervisor"))).json()["items"]
        return any(a["action_id"] == action["action_id"] and a["overdue"] for a in items)

    await wait_until(overdue, timeout=15)
    (announced,) = await _events(migrated.kafka_bootstrap_servers, topics.CORRECTIVE_ACTIONS, event.key, 1)
    assert announced["payload"]["action_id"] == action["action_id"]


async def test_a_coordinated_case_resolves_when_lead_and_assisting_parts_have(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(HEATING)
    lead = await _routed(bootstrap, db, event)
    lead_url = f"/v1/work-orders/{lead['work_order_id']}"
    ask = {"department": "billing", "note": "漏水期间多计的热费请核减"}
    assert (await client.post(f"{lead_url}/assist", headers=as_("billing"), json=ask)).status_code == 403
    same = await client.post(f"{lead_url}/assist", headers=as_("repair"), json={**ask, "department": "repair"})
    assert same.status_code == 422, same.text
    opened = await client.post(f"{lead_url}/assist", headers=as_("repair"), json=ask)
    assert opened.status_code == 201, opened.text
    part = opened.json()
    assert (part["role"], part["lead_work_order_id"], part["department"], part["complaint_id"]) == (
        "assisting",
        str(lead["work_order_id"]),
        "billing",
        str(event.complaint_id),
    )
    assert (await client.post(f"{lead_url}/assist", headers=as_("repair"), json=ask)).status_code == 422

    (assigned,) = await _events(bootstrap, topics.WORKORDERS_BILLING, event.key, 1)
    assert (assigned["payload"]["role"], assigned["payload"]["lead_work_order_id"]) == (
        "assisting",
        str(lead["work_order_id"]),
    )
    repair_queue = (await client.get("/v1/queues/repair?page_size=200", headers=as_("repair"))).json()["items"]
    billing_queue = (await client.get("/v1/queues/billing?page_size=200", headers=as_("billing"))).json()["items"]
    mine = [(o["work_order_id"], o["role"]) for o in repair_queue if o["complaint_id"] == str(event.complaint_id)]
    theirs = [(o["work_order_id"], o["role"]) for o in billing_queue if o["complaint_id"] == str(event.complaint_id)]
    assert mine == [(str(lead["work_order_id"]), "lead")]
    assert theirs == [(part["work_order_id"], "assisting")]

    assert (await client.post(f"{lead_url}/acknowledge", headers=as_("repair"))).status_code == 200
    body = {"resolution": "排气后恢复", "root_cause": "repair.air_lock"}
    assert (await client.post(f"{lead_url}/resolve", headers=as_("repair"), json=body)).status_code == 200
    lead_resolved = (await _events(bootstrap, topics.WORKORDERS_REPAIR, event.key, 3))[-1]
    assert (lead_resolved["event_type"], lead_resolved["payload"]["case_resolved"]) == ("workorder.resolved", False)
    late = await client.post(
        f"{lead_url}/assist", headers=as_("repair"), json={**ask, "department": "customer_service"}
    )
    assert late.status_code == 409

    part_url = f"/v1/work-orders/{part['work_order_id']}"
    assert (await client.post(f"{part_url}/acknowledge", headers=as_("billing"))).status_code == 200
    billing = {"resolution": "已核减热费", "root_cause": "billing.tariff_error"}
    assert (await client.post(f"{part_url}/resolve", headers=as_("billing"), json=billing)).status_code == 200
    part_resolved = (await _events(bootstrap, topics.WORKORDERS_BILLING, event.key, 3))[-1]
    assert (part_resolved["event_type"], part_resolved["payload"]["case_resolved"]) == ("workorder.resolved", True)


async def test_a_coordinated_emergency_analyses_its_cause_on_the_lead_and_reads_routed_until_the_lead_closes(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    _, client = dispatch
    event = received(GAS)
    lead = await _routed(migrated.kafka_bootstrap_servers, db, event)
    assert lead["severity"] == "emergency"
    lead_url = f"/v1/work-orders/{lead['work_order_id']}"
    ask = {"department": "billing", "note": "停气期间的燃气费请核减"}
    opened = await client.post(f"{lead_url}/assist", headers=as_("repair"), json=ask)
    assert opened.status_code == 201 and opened.json()["severity"] == "emergency", opened.text
    part_url = f"/v1/work-orders/{opened.json()['work_order_id']}"
    case_url = f"/v1/complaints/{event.complaint_id}"

    assert (await client.post(f"{part_url}/acknowledge", headers=as_("billing"))).status_code == 200
    billing = {"resolution": "已核减燃气费", "root_cause": "billing.tariff_error"}
    part_done = await client.post(f"{part_url}/resolve", headers=as_("billing"), json=billing)
    assert part_done.status_code == 200, part_done.text
    assert part_done.json()["cause_analysis"] is None
    case = (await client.get(case_url, headers=as_("billing"))).json()
    assert case["status"] == "routed", "the lead is still open"

    assert (await client.post(f"{lead_url}/acknowledge", headers=as_("repair"))).status_code == 200
    bare = {"resolution": "更换立管接头", "root_cause": "repair.pipe_leak"}
    refused = await client.post(f"{lead_url}/resolve", headers=as_("repair"), json=bare)
    assert refused.status_code == 422 and MISSING in refused.json()["detail"], refused.text
    action = {"description": "全楼燃气立管检测", "owner": "燃气管网所", "deadline": _in(30)}
    analysed = {**bare, "cause_analysis": "立管接头超期服役", "corrective_actions": [action]}
    assert (await client.post(f"{lead_url}/resolve", headers=as_("repair"), json=analysed)).status_code == 200
    case = (await client.get(case_url, headers=as_("billing"))).json()
    assert case["status"] == "resolved"


async def test_the_ingress_dead_letters_an_emergency_resolution_without_corrective_action(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(GAS)
    order = await _routed(bootstrap, db, event)

    def update(**fields: Any) -> bytes:
        body = {
            "update_id": str(uuid.uuid4()),
            "work_order_id": str(order["work_order_id"]),
            "department": "repair",
            "actor": "gis-3",
            **fields,
        }
        return json.dumps(body).encode()

    action = [{"description": "立管排查", "owner": "管网所", "deadline": _in(10)}]
    key = event.key
    await produce(
        bootstrap,
        topics.DEPARTMENT_UPDATES,
        [
            (key, update(action="acknowledge")),
            (key, update(action="resolve", resolution="修复", root_cause="接头漏气")),  # v1: no analysis, no action
            (
                key,
                update(
                    action="resolve",
                    resolution="修复",
                    root_cause="接头漏气",
                    cause_analysis="锈蚀",
                    corrective_actions=action,
                ),
            ),
        ],
    )
    status = await wait_until(
        lambda: db.fetchrow(
            "SELECT status, root_cause, root_cause_note, cause_analysis FROM dispatch.work_orders "
            "WHERE work_order_id = $1 AND status = 'resolved'",
            order["work_order_id"],
        ),
        timeout=30,
    )
    assert tuple(status) == ("resolved", "repair.other", "接头漏气", "锈蚀")
    letters = await read_topic(
        bootstrap,
        topics.dead_letter_topic(topics.DEPARTMENT_UPDATES),
        until=lambda rs: any(r.key == key for r in rs),
    )
    (reason,) = [r.headers["dlq.reason"] for r in letters if r.key == key]
    assert MISSING in reason and "missing: cause_analysis, corrective_actions" in reason
