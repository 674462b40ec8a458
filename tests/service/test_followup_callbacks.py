"""The full callback loop over the real broker, with dispatch and followup running:
resolved → callback due → dissatisfied → reopened → resolved again → satisfied → closed;
the unreachable path; a second dissatisfaction goes to the general manager (the top of the dissatisfied
ladder)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from shared import topics
from tests.support.dispatch import as_, contact_for, received, resolution_for, running_dispatch
from tests.support.followup import AGENT, running_followup
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import produce, read_topic, wait_until

BILL = "这个月燃气费账单比平时高了两倍，用气量没变，怀疑抄表错误，要求核实退费。"


@pytest.fixture(scope="module")
async def services(migrated: Infrastructure) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    b, d = migrated.kafka_bootstrap_servers, migrated.database_url
    async with (
        running_dispatch(d, b) as (dispatch_app, dispatch),
        running_followup(d, b, callback_max_attempts=2, callback_retry_minutes=0.0001) as (followup_app, followup),
    ):
        await wait_until(
            lambda: dispatch_app.state.kafka["kafka"] == followup_app.state.kafka["kafka"] == "connected", timeout=60
        )
        yield dispatch, followup


async def _submit(bootstrap: str, phone: str = "13600136000") -> Any:
    event = received(BILL, channel="phone", account_no=f"CB-{uuid.uuid4().hex[:8]}")
    contact = contact_for(event, name="孙八", phone=phone)
    await produce(bootstrap, topics.COMPLAINT_CONTACT, [(contact.key, contact.model_dump_json().encode())])
    await produce(bootstrap, topics.COMPLAINT_RECEIVED, [(event.key, event.model_dump_json().encode())])
    return event


async def _open_order(db: asyncpg.Pool, complaint_id: uuid.UUID, cycle: int) -> asyncpg.Record:
    async def found() -> asyncpg.Record | None:
        return await db.fetchrow(
            "SELECT * FROM dispatch.work_orders WHERE complaint_id = $1 AND cycle = $2 AND status = 'assigned'",
            complaint_id,
            cycle,
        )

    return await wait_until(found, timeout=30)


async def _resolve(dispatch: httpx.AsyncClient, order: asyncpg.Record) -> None:
    wo = f"/v1/work-orders/{order['work_order_id']}"
    who = as_(order["department"])
    assert (await dispatch.post(f"{wo}/acknowledge", headers=who)).status_code == 200
    body = resolution_for(order["department"], order["severity"], "已核实并退费")
    done = await dispatch.post(f"{wo}/resolve", headers=who, json=body)
    assert done.status_code == 200, done.text


async def _callback_for(followup: httpx.AsyncClient, complaint_id: uuid.UUID) -> dict[str, Any]:
    """The complaint's callback in the worklist, once its contact (its own topic, its own consumer) is known."""

    async def listed() -> dict[str, Any] | None:
        page = (await followup.get("/v1/callbacks?page_size=200", headers=AGENT)).json()
        found = next((c for c in page["items"] if c["complaint_id"] == str(complaint_id)), None)
        return found if found and found["contact"] else None

    return await wait_until(listed, timeout=30)


async def _outcome(followup: httpx.AsyncClient, callback: dict[str, Any], outcome: str) -> dict[str, Any]:
    response = await followup.post(
        f"/v1/callbacks/{callback['callback_id']}/outcome",
        headers=AGENT,
        json={"outcome": outcome, "note": f"customer says {outcome}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_dissatisfied_reopens_then_satisfied_closes(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    dispatch, followup = services
    event = await _submit(migrated.kafka_bootstrap_servers)
    first = await _open_order(db, event.complaint_id, 1)
    await _resolve(dispatch, first)

    callback = await _callback_for(followup, event.complaint_id)
    assert callback["contact"]["phone"] == "13600136000", "agents see whom to call"
    shown = await db.fetch(
        "SELECT reader, reader_kind, reference_no, what, endpoint, at FROM followup.contact_access_log "
        "WHERE complaint_id = $1",
        event.complaint_id,
    )
    assert shown and {(r["reader_kind"], r["reference_no"], r["endpoint"]) for r in shown} == {
        ("key", event.payload.reference_no, "GET /v1/callbacks")
    }, "every showing of the contact is logged: who, whose, what, when"
    assert {"name", "phone"} <= set(shown[0]["what"]) and shown[0]["at"] is not None
    assert callback["resolution"] == "已核实并退费"
    assert (await followup.get("/v1/callbacks")).status_code == 401
    await _outcome(followup, callback, "dissatisfied")
    again = await followup.post(
        f"/v1/callbacks/{callback['callback_id']}/outcome", headers=AGENT, json={"outcome": "satisfied"}
    )
    assert again.status_code == 409

    second = await _open_order(db, event.complaint_id, 2)
    assert second["severity"] == "serious", "reopened with raised severity"
    await _resolve(dispatch, second)
    await _outcome(followup, await _callback_for(followup, event.complaint_id), "satisfied")

    closed = await read_topic(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_CLOSED, until=lambda rs: any(r.key == event.key for r in rs)
    )
    payload = next(r.json()["payload"] for r in closed if r.key == event.key)
    assert payload["outcome"] == "satisfied" and payload["cycles"] == 2
    reopened = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_REOPENED,
        until=lambda rs: any(r.key == event.key for r in rs),
    )
    assert [r.json()["payload"]["reopen_count"] for r in reopened if r.key == event.key] == [1]
    attempts = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.CALLBACK_EVENTS,
        until=lambda rs: sum(1 for r in rs if r.key == event.key) >= 4,
    )
    kinds = [(r.json()["event_type"], r.json()["payload"].get("outcome")) for r in attempts if r.key == event.key]
    assert kinds == [
        ("callback.scheduled", None),
        ("callback.attempted", "dissatisfied"),
        ("callback.scheduled", None),
        ("callback.attempted", "satisfied"),
    ]


async def test_dissatisfied_twice_goes_to_the_general_manager(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    dispatch, followup = services
    event = await _submit(migrated.kafka_bootstrap_servers)
    for cycle in (1, 2):
        await _resolve(dispatch, await _open_order(db, event.complaint_id, cycle))
        await _outcome(followup, await _callback_for(followup, event.complaint_id), "dissatisfied")
    third = await _open_order(db, event.complaint_id, 3)
    assert third["severity"] == "emergency"
    escalations = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_ESCALATED,
        until=lambda rs: any(r.key == event.key and r.json()["payload"].get("stage") == "satisfaction" for r in rs),
    )
    gm = next(
        r.json()["payload"]
        for r in escalations
        if r.key == event.key and r.json()["payload"]["stage"] == "satisfaction"
    )
    # The top of the policy's dissatisfied ladder (project manager → general manager).
    assert (gm["escalated_to"], gm["level"], gm["ladder"]) == ("general_manager", 2, "dissatisfied")


async def test_unreachable_is_retried_then_closed(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient], migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    dispatch, followup = services
    event = await _submit(migrated.kafka_bootstrap_servers)
    await _resolve(dispatch, await _open_order(db, event.complaint_id, 1))
    listed = await _callback_for(followup, event.complaint_id)
    first = await _outcome(followup, listed, "unreachable")
    assert first["status"] == "pending" and first["attempts"] == 1
    assert first["next_attempt_at"] > listed["next_attempt_at"], "the retry waits for the interval"
    final = await _outcome(followup, await _callback_for(followup, event.complaint_id), "unreachable")
    assert final["status"] == "unreachable" and final["attempts"] == 2
    closed = await read_topic(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_CLOSED, until=lambda rs: any(r.key == event.key for r in rs)
    )
    assert next(r.json()["payload"]["outcome"] for r in closed if r.key == event.key) == "unreachable"
    page = (await followup.get("/v1/callbacks?page_size=200", headers=AGENT)).json()
    assert str(event.complaint_id) not in {c["complaint_id"] for c in page["items"]}
