"""A serious case's analysis approved by leadership (issue 24, seed 001), on real Postgres and the real broker: the
lead department proposes the cause analysis and corrective actions, leadership sends them back with a reason, the
department proposes again, HR/administration approves; the lead work order resolves only then (409 naming why
before), setting the approved actions; every step is a `serious_case.*` event on `corrective-actions`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared import topics
from tests.support.dispatch import as_person, received, running_dispatch
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until
from tests.support.tokens import LocalIssuer

GAS = "单元门口煤气味很重，楼上有老人独居，请马上派人来检查！"


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer()


@pytest.fixture(scope="module")
async def dispatch(migrated: Infrastructure, issuer: LocalIssuer) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_dispatch(
        migrated.database_url,
        migrated.kafka_bootstrap_servers,
        persons=issuer.verifier(),
        dispatch_serious_approval=True,
    ) as running:
        app, _ = running
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=90)
        yield running


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_the_lead_resolves_only_once_leadership_approved_the_proposal(
    dispatch: tuple[FastAPI, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool, issuer: LocalIssuer
) -> None:
    _, client = dispatch
    bootstrap = migrated.kafka_bootstrap_servers
    event = received(GAS)
    await produce(bootstrap, topics.COMPLAINT_RECEIVED, [(event.key, event.model_dump_json().encode())])
    order = await wait_until(
        lambda: db.fetchrow("SELECT * FROM dispatch.work_orders WHERE complaint_id = $1", event.complaint_id),
        timeout=30,
    )
    assert order["severity"] == "emergency"
    wo = f"/v1/work-orders/{order['work_order_id']}"
    zhao, leader, hr = (as_person(issuer, s) for s in ("repair.zhao", "leader.he", "hr.lin"))
    assert (await client.post(f"{wo}/acknowledge", headers=zhao)).status_code == 200
    bare = {"resolution": "更换燃气立管接头", "root_cause": "repair.pipe_leak"}

    early = await client.post(f"{wo}/resolve", headers=zhao, json=bare)
    assert early.status_code == 409 and "proposed nothing yet" in early.json()["detail"], early.text
    action = {"description": "全楼燃气立管检测", "owner": "燃气管网所", "deadline": _in(30)}
    first = {"cause_analysis": "接头锈蚀", "corrective_actions": [action]}
    assert (await client.post(f"{wo}/serious/propose", headers=leader, json=first)).status_code == 403
    proposed = await client.post(f"{wo}/serious/propose", headers=zhao, json=first)
    assert proposed.status_code == 201 and proposed.json()["round"] == 1, proposed.text
    assert (await client.post(f"{wo}/serious/propose", headers=zhao, json=first)).status_code == 409
    assert (await client.post(f"{wo}/serious/approve", headers=zhao, json={})).status_code == 403
    assert (await client.post(f"{wo}/serious/send-back", headers=leader, json={"reason": " "})).status_code == 422
    reason = "未说明巡检为何未覆盖该立管"
    back = await client.post(f"{wo}/serious/send-back", headers=leader, json={"reason": reason})
    assert back.status_code == 200 and back.json()["status"] == "sent_back", back.text
    still = await client.post(f"{wo}/resolve", headers=zhao, json=bare)
    assert still.status_code == 409 and reason in still.json()["detail"], still.text

    second = {"cause_analysis": "立管接头超期服役，巡检计划未覆盖楼道立管", "corrective_actions": [action]}
    again = await client.post(f"{wo}/serious/propose", headers=zhao, json=second)
    assert again.status_code == 201 and again.json()["round"] == 2, again.text
    listed = (await client.get("/v1/serious-cases", headers=leader)).json()["items"]
    mine = next(i for i in listed if i["work_order_id"] == str(order["work_order_id"]))
    assert (mine["proposal"]["status"], mine["reference_no"]) == ("proposed", event.payload.reference_no)
    assert (await client.get("/v1/serious-cases", headers=zhao)).status_code == 403
    approved = await client.post(f"{wo}/serious/approve", headers=hr, json={"note": "同意"})
    assert approved.status_code == 200 and approved.json()["decided_by"] == "hr.lin", approved.text

    done = await client.post(f"{wo}/resolve", headers=zhao, json=bare)
    assert done.status_code == 200, done.text
    assert done.json()["cause_analysis"] == second["cause_analysis"]
    assert [a["description"] for a in done.json()["corrective_actions"]] == ["全楼燃气立管检测"]

    records = await read_topic(
        bootstrap, topics.CORRECTIVE_ACTIONS, until=lambda rs: sum(1 for r in rs if r.key == event.key) >= 5
    )
    steps: list[dict[str, Any]] = [r.json() for r in records if r.key == event.key]
    assert [s["event_type"] for s in steps] == [
        "serious_case.proposed",
        "serious_case.sent_back",
        "serious_case.proposed",
        "serious_case.approved",
        "corrective_action.set",
    ]
    assert steps[1]["payload"]["reason"] == reason and steps[3]["payload"]["actor_name"] == "林芳"
