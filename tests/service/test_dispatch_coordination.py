"""Multi-department cases coordinated by the customer-service centre (seed 002), against real Postgres and the real
broker: a customer-service supervisor opens a repair-lead + billing-assisting case, sets a part's deadline, instructs
it, changes the lead; each step is a work-order event on the department's topic; anyone else is refused (403) and
departments still ask each other for help as before."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from tests.support.dispatch import as_, as_person, dispatch_for_staff, received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, read_topic, wait_until
from tests.support.tokens import LocalIssuer

HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，希望派人来测温，这个月热费也多收了。"
Running = tuple[FastAPI, httpx.AsyncClient]


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer()


@pytest.fixture(scope="module")
async def dispatch(
    migrated: Infrastructure, issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    photos = tmp_path_factory.mktemp("photos")
    async with dispatch_for_staff(migrated.database_url, migrated.kafka_bootstrap_servers, issuer, photos) as running:
        yield running


def _cs_supervisor(issuer: LocalIssuer) -> dict[str, str]:
    token = issuer.mint("cs.ma", roles=("supervisor",), name="马琳", department="customer_service")
    return {"Authorization": f"Bearer {token}"}


async def _routed(bootstrap: str, db: asyncpg.Pool) -> tuple[Any, dict[str, Any]]:
    event = received(HEATING, channel="phone", account_no=f"HT-{uuid.uuid4().hex[:6]}")
    await publish(bootstrap, event)
    order = await wait_until(
        lambda: db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", event.complaint_id),
        timeout=30,
    )
    return event, dict(order)


async def test_the_centre_opens_and_steers_a_multi_department_case(
    dispatch: Running, migrated: Infrastructure, db: asyncpg.Pool, issuer: LocalIssuer
) -> None:
    _, client = dispatch
    event, lead = await _routed(migrated.kafka_bootstrap_servers, db)
    assert lead["department"] == "repair"
    ma, wu, sun = _cs_supervisor(issuer), as_person(issuer, "supervisor.wu"), as_person(issuer, "billing.sun")
    body = {"complaint": event.payload.reference_no, "lead": "repair", "assisting": ["billing"], "note": "漏水+热费"}

    # Only the customer-service centre's supervisor opens and steers; others are refused before anything happens.
    for headers in (wu, sun, as_("supervisor")):
        assert (await client.post("/v1/coordination", headers=headers, json=body)).status_code == 403
    both = await client.post("/v1/coordination", headers=ma, json={**body, "assisting": ["repair"]})
    assert both.status_code == 422 and "assisting" in both.text
    opened = await client.post("/v1/coordination", headers=ma, json=body)
    assert opened.status_code == 201, opened.text
    case = opened.json()
    parts = {p["department"]: p for p in case["parts"]}
    assert (case["lead_department"], parts["repair"]["role"], parts["billing"]["role"]) == (
        "repair",
        "lead",
        "assisting",
    )
    assert (await client.post("/v1/coordination", headers=ma, json=body)).status_code == 409

    # A part's deadline, then an instruction to it.
    url = f"/v1/coordination/{event.complaint_id}"
    billing_part = parts["billing"]["work_order_id"]
    resolve_by = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
    deadline = {"resolve_by": resolve_by.isoformat(), "note": "今日内核减"}
    assert (await client.post(f"{url}/parts/{billing_part}/deadline", headers=wu, json=deadline)).status_code == 403
    past = {"resolve_by": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    assert (await client.post(f"{url}/parts/{billing_part}/deadline", headers=ma, json=past)).status_code == 422
    set_ = await client.post(f"{url}/parts/{billing_part}/deadline", headers=ma, json=deadline)
    assert set_.status_code == 200, set_.text
    told = {"work_order_id": billing_part, "instruction": "核减后回复客服中心"}
    assert (await client.post(f"{url}/instructions", headers=ma, json=told)).status_code == 200

    # The billing dispatcher sees the part, with its new deadline, in billing's queue.
    queue = (await client.get("/v1/queues/billing?page_size=200", headers=sun)).json()["items"]
    (mine,) = [o for o in queue if o["work_order_id"] == billing_part]
    assert (mine["role"], datetime.fromisoformat(mine["resolve_by"])) == ("assisting", resolve_by)

    # The lead moves to billing; repair assists it; supervisors read the steps, a dispatcher does not.
    moved = await client.post(f"{url}/lead", headers=ma, json={"department": "billing", "note": "以退费为主"})
    assert moved.status_code == 200, moved.text
    roles = {p["department"]: (p["role"], p["status"]) for p in moved.json()["parts"]}
    assert roles == {"billing": ("lead", "assigned"), "repair": ("assisting", "assigned")}
    read = await client.get(f"/v1/coordination/{event.payload.reference_no}", headers=wu)
    assert [s["action"] for s in read.json()["steps"]] == [
        "assist",
        "coordinated",
        "deadline_set",
        "instructed",
        "lead_changed",
    ]
    assert (await client.get(url, headers=sun)).status_code == 403
    listed = (await client.get("/v1/coordination", headers=wu)).json()["items"]
    assert event.payload.reference_no in [c["reference_no"] for c in listed]

    # Departments still ask each other for help: the new lead's department asks customer service to assist.
    asked = {"department": "customer_service", "note": "请向客户解释"}
    billing_lead = f"/v1/work-orders/{billing_part}/assist"
    assert (await client.post(billing_lead, headers=sun, json=asked)).status_code == 201

    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.WORKORDERS_BILLING,
        until=lambda rs: (
            sum(1 for r in rs if r.key == event.key and r.json()["event_type"] != "workorder.assigned") >= 2
        ),
    )
    on_billing = [r.json()["event_type"] for r in records if r.key == event.key]
    assert on_billing[:3] == ["workorder.assigned", "workorder.deadline_set", "workorder.instructed"]
    assert "workorder.lead_changed" in on_billing
    repair = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.WORKORDERS_REPAIR,
        until=lambda rs: any(r.key == event.key and r.json()["event_type"] == "workorder.coordinated" for r in rs),
    )
    (coordinated,) = [
        r.json() for r in repair if r.key == event.key and r.json()["event_type"] == "workorder.coordinated"
    ]
    assert (coordinated["payload"]["actor"], coordinated["payload"]["actor_name"]) == ("cs.ma", "马琳")
