"""Dispatch with signed-in staff, against real Postgres and the real broker: the access table (who may read and act
on what), the customer's contact shown to persons and every such read in the log a supervisor lists — and the machine
keys working as before, leaving no log rows. Tokens are real RS256 tokens checked against the issuer's key set
(tests.support.tokens.LocalIssuer)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.support.dispatch import as_, as_person, contact_for, dispatch_for_staff, received
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, wait_until
from tests.support.tokens import LocalIssuer

#: As intake publishes it: phone numbers in the text already masked.
HEATING = "从供暖开始室内温度一直只有16度左右，暖气片摸着温乎，请拨打139******78联系我。"
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


async def _routed_with_contact(bootstrap: str, db: asyncpg.Pool, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    event = received(HEATING, channel="phone", account_no=f"HT-{uuid.uuid4().hex[:6]}", **kwargs)
    await publish(bootstrap, event, contact_for(event))
    order = await wait_until(
        lambda: db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", event.complaint_id),
        timeout=30,
    )
    await wait_until(
        lambda: db.fetchval("SELECT 1 FROM dispatch.contacts WHERE complaint_id = $1", event.complaint_id), timeout=30
    )
    return event, dict(order)


async def test_the_access_table(
    dispatch: Running, migrated: Infrastructure, db: asyncpg.Pool, issuer: LocalIssuer
) -> None:
    _, client = dispatch
    event, order = await _routed_with_contact(migrated.kafka_bootstrap_servers, db)
    wo = f"/v1/work-orders/{order['work_order_id']}"
    zhao, sun = as_person(issuer, "repair.zhao"), as_person(issuer, "billing.sun")
    chen, yang = as_person(issuer, "crew1.chen"), as_person(issuer, "crew2.yang")
    li, he = as_person(issuer, "agent.li"), as_person(issuer, "leader.he")

    # The department's dispatcher signs for it and sends crew 1.
    assert (await client.post(f"{wo}/acknowledge", headers=zhao)).status_code == 200
    sent = await client.post(f"{wo}/crew", headers=zhao, json={"crew": "repair-crew-1"})
    assert sent.status_code == 200, sent.text

    # A billing person can neither open nor act on a repair work order, nor read the repair queue.
    for method, path, body in (
        ("GET", wo, None),
        ("POST", f"{wo}/notes", {"note": "看一下"}),
        ("POST", f"{wo}/arrive", {}),
        ("GET", "/v1/queues/repair", None),
    ):
        refused = await client.request(method, path, headers=sun, json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/queues/billing", headers=sun)).status_code == 200

    # Crew 2 does not see crew 1's job, in its list or by id; crew 1 does.
    assert (await client.get(wo, headers=yang)).status_code == 403
    assert (await client.post(f"{wo}/arrive", headers=yang, json={})).status_code == 403
    own = (await client.get("/v1/crews/repair-crew-2/jobs", headers=yang)).json()
    assert all(item["work_order_id"] != str(order["work_order_id"]) for item in own["items"])
    assert (await client.get("/v1/crews/repair-crew-1/jobs", headers=yang)).status_code == 403
    assert (await client.get("/v1/queues/repair", headers=yang)).status_code == 403
    jobs = (await client.get("/v1/crews/repair-crew-1/jobs", headers=chen)).json()["items"]
    job = next(j for j in jobs if j["work_order_id"] == str(order["work_order_id"]))
    assert (job["customer"]["name"], job["customer"]["phone"], job["location"]["address"]) == (
        "王小明",
        "13912345678",
        event.payload.location.address,
    )
    assert job["crew"] == "repair-crew-1" and job["crew_name_zh"] == "维修一班"
    assert (await client.get(wo, headers=chen)).status_code == 200
    assert (await client.post(f"{wo}/crew", headers=chen, json={"crew": "repair-crew-2"})).status_code == 403

    # An agent reads the case by its reference number (with the customer), and incidents and outage notices; no work
    # order, no queue.
    case = await client.get(f"/v1/complaints/{event.payload.reference_no}", headers=li)
    assert case.status_code == 200, case.text
    assert (case.json()["complaint_id"], case.json()["customer"]["phone"]) == (str(event.complaint_id), "13912345678")
    assert (await client.get(wo, headers=li)).status_code == 403
    assert (await client.post(f"{wo}/notes", headers=li, json={"note": "x"})).status_code == 403
    assert (await client.get("/v1/queues/repair", headers=li)).status_code == 403
    assert (await client.get("/v1/incidents?status=open", headers=li)).status_code == 200
    assert (await client.get("/v1/outage-notices?active=true", headers=li)).status_code == 200
    assert (await client.get("/v1/contact-access", headers=li)).status_code == 403

    # Leadership reads like a supervisor, acts like nobody.
    assert (await client.get(wo, headers=he)).status_code == 200
    assert (await client.post(f"{wo}/notes", headers=he, json={"note": "关注"})).status_code == 403

    # The machine key works as before: the work order, with the customer masked.
    machine = await client.get(wo, headers=as_("repair"))
    assert machine.status_code == 200
    customer = machine.json()["customer"]
    assert (customer["name"], customer["phone"], customer["masked"]) == ("王**", "139******78", True)
    assert "13912345678" not in machine.text
    assert (await client.get(wo, headers=as_("billing"))).status_code == 404, "a system cannot probe"

    # A token that expired, or whose signature was tampered with, is a 401.
    expired = as_person(issuer, "repair.zhao", expires_in=-120)
    assert (await client.get(wo, headers=expired)).status_code == 401
    token = zhao["Authorization"].removeprefix("Bearer ")
    header, claims, signature = token.split(".")
    tampered = {
        "Authorization": f"Bearer {header}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    }
    refused = await client.get(wo, headers=tampered)
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    other = LocalIssuer()  # the right issuer's name, another key
    assert (await client.get(wo, headers=as_person(other, "repair.zhao"))).status_code == 401


async def test_contact_reads_by_persons_are_logged_and_a_supervisor_lists_them(
    dispatch: Running, migrated: Infrastructure, db: asyncpg.Pool, issuer: LocalIssuer
) -> None:
    _, client = dispatch
    event, order = await _routed_with_contact(migrated.kafka_bootstrap_servers, db)
    wu = as_person(issuer, "supervisor.wu")
    log_url = f"/v1/contact-access?complaint_id={event.complaint_id}"

    # A department system reads the queue and the work order: masked, and no row.
    queue = await client.get("/v1/queues/repair?page_size=200", headers=as_("repair"))
    assert queue.status_code == 200
    assert (await client.get(f"/v1/work-orders/{order['work_order_id']}", headers=as_("repair"))).status_code == 200
    assert (await client.get(log_url, headers=wu)).json()["items"] == []

    # The repair dispatcher reads the queue: the item carries the text (phone masked), address and real contact.
    page = await client.get("/v1/queues/repair?page_size=200", headers=as_person(issuer, "repair.zhao"))
    item = next(i for i in page.json()["items"] if i["work_order_id"] == str(order["work_order_id"]))
    assert "13912345678" not in item["text"] and "139******78" in item["text"]
    assert (item["customer"]["name"], item["customer"]["masked"], item["overdue"]) == ("王小明", False, False)
    assert item["location"]["district"] == "heping"
    await client.get(f"/v1/work-orders/{order['work_order_id']}", headers=as_person(issuer, "repair.zhao"))

    listed = await client.get(log_url, headers=wu)
    assert listed.status_code == 200
    rows = listed.json()["items"]
    assert [(r["staff_id"], r["staff_name"], r["endpoint"]) for r in rows] == [
        ("repair.zhao", "赵磊", "GET /v1/work-orders/{work_order_id}"),
        ("repair.zhao", "赵磊", "GET /v1/queues/{department}"),
    ]
    assert rows[0]["reference_no"] == event.payload.reference_no
    assert set(rows[0]["what"]) == {"name", "phone", "account_no", "address"}
    by_staff = (await client.get("/v1/contact-access?staff_id=repair.zhao&limit=1000", headers=wu)).json()["items"]
    assert {r["complaint_id"] for r in by_staff} >= {str(event.complaint_id)}
    by_reference = await client.get(f"/v1/contact-access?complaint_id={event.payload.reference_no}", headers=wu)
    assert len(by_reference.json()["items"]) == 2
    naive = await client.get("/v1/contact-access?from=2026-01-01T00:00:00", headers=wu)
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"].endswith("from")
    assert (await client.get(log_url, headers=as_("supervisor"))).status_code == 200, "the supervisor key lists it too"
