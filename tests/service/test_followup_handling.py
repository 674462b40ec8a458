"""Issue 13 on followup's side over real Postgres and Kafka, with followup running in-process and the events
dispatch and intake would publish produced from their contracts: the duty manager missing the limit, a
corrective action past its deadline, a complaint settled at first contact called back for its owner, an invalid
complaint explained to the customer (and not, once overturned), a counter settlement dispatch refused
bringing the duty manager, the survey's scores round-tripping, the first to
sign for an unowned case owning its callback, a coordinated case called back on its lead, and a serious case
told to management at once. Clocks run 500x faster
(`sla_time_scale`), so the 3-minute duty limit is 0.36 s and an escalation interval 14.4 s."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared import topics
from shared.contracts import ComplaintContact, new_event
from tests.support.followup import AGENT, running_followup
from tests.support.followup_events import (
    Order,
    acknowledged,
    action_set,
    assigned,
    invalid,
    new_order,
    received,
    resolved,
    resolved_on_contact,
    routed,
)
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import Record, produce, publish, read_topic, wait_until
from tests.support.tokens import LocalIssuer

SUPERVISOR = {"X-API-Key": "dev-only-followup-supervisor-key"}
SCALE = 0.002
ISSUER = LocalIssuer()


def bearer(staff_id: str, name: str, *roles: str, **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.mint(staff_id, roles=roles, name=name, **claims)}"}


@pytest.fixture(scope="module")
async def followup(migrated: Infrastructure) -> AsyncIterator[httpx.AsyncClient]:
    """Followup trusting an identity provider: API keys and staff tokens side by side."""
    b, d = migrated.kafka_bootstrap_servers, migrated.database_url
    async with running_followup(d, b, sla_time_scale=SCALE, persons=ISSUER.verifier()) as (app, client):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        yield client


def _contact(order: Order, phone: str) -> ComplaintContact:
    return new_event(
        ComplaintContact,
        complaint_id=order.complaint_id,
        producer="test",
        correlation_id="c",
        payload={
            "complaint_id": order.complaint_id,
            "reference_no": order.reference_no,
            "name": "吴十",
            "phone": phone,
            "email": None,
            "wechat_openid": None,
            "preferred_contact": "phone",
        },
    )


async def _case_events(bootstrap: str, topic: str, order: Order, until: Any, timeout: float = 30) -> list[dict]:
    """The payloads and types of one case's events on `topic`, once `until(those events)` holds."""
    key = str(order.complaint_id).encode()

    def mine(records: list[Record]) -> list[dict]:
        return [r.json() for r in records if r.key == key]

    records = await read_topic(bootstrap, topic, until=lambda rs: until(mine(rs)), timeout=timeout)
    return mine(records)


async def test_duty_manager_missing_the_limit_climbs_the_duty_manager_ladder(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    order = new_order()
    now = datetime.now(UTC)
    await publish(migrated.kafka_bootstrap_servers, received(order, at=now))

    told = await _case_events(
        migrated.kafka_bootstrap_servers, topics.NOTIFICATION_REQUESTED, order, lambda es: len(es) >= 1
    )
    assert told[0]["payload"]["template_id"] == "duty_manager_called"
    assert told[0]["payload"]["recipient"]["role"] == "duty_manager"

    def escalated(events: list[dict]) -> bool:
        return any(e["event_type"] == "complaint.escalated" for e in events)

    seen = await _case_events(migrated.kafka_bootstrap_servers, topics.COMPLAINT_ESCALATED, order, escalated)
    warning = next(e for e in seen if e["event_type"] == "complaint.sla_warning")
    assert (warning["schema_version"], warning["payload"]["stage"]) == (2, "duty_manager")
    first = next(e["payload"] for e in seen if e["event_type"] == "complaint.escalated")
    assert (first["stage"], first["level"], first["escalated_to"], first["ladder"]) == (
        "duty_manager",
        1,
        "department_manager",
        "duty_manager",
    )
    deadline = datetime.fromisoformat(first["deadline"])
    assert abs(deadline - (now + timedelta(minutes=3) * SCALE)) < timedelta(milliseconds=5)

    path = f"/v1/complaints/{order.complaint_id}/duty-manager/acknowledge"
    assert (await followup.post(path, headers=AGENT, json={"manager": "dm-3"})).status_code == 403
    late = await followup.post(path, headers=SUPERVISOR, json={"manager": "dm-3", "note": "with the customer"})
    assert late.status_code == 200, late.text
    assert (late.json()["acknowledged_by"], late.json()["late"]) == ("dm-3", True)
    again = await followup.post(path, headers=SUPERVISOR, json={"manager": "dm-4"})
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]
    unknown = await followup.post(
        f"/v1/complaints/{uuid.uuid4()}/duty-manager/acknowledge", headers=SUPERVISOR, json={"manager": "dm-3"}
    )
    assert unknown.status_code == 404
    rung_two = await db.fetchrow(
        "SELECT fired_at, cancelled_at FROM followup.timers WHERE subject_id = $1 AND kind = 'breach' AND level = 2",
        order.complaint_id,
    )
    assert rung_two["fired_at"] is None and rung_two["cancelled_at"] is not None, "acknowledged: no next rung"


async def test_a_counter_settlement_dispatch_refused_brings_the_duty_manager(migrated: Infrastructure) -> None:
    """The agent said "settled", dispatch routed it anyway (a gas smell): the routing calls the duty manager."""
    order = new_order()
    now = datetime.now(UTC)
    bootstrap = migrated.kafka_bootstrap_servers
    await publish(bootstrap, received(order, at=now, handled_on_contact="told them"))
    await publish(bootstrap, routed(order, reason="new", channel="counter", at=now))

    told = await _case_events(bootstrap, topics.NOTIFICATION_REQUESTED, order, lambda es: len(es) >= 1)
    # The 3-minute limit is 0.36 s here: its warning may be told too by the time the topic is read.
    calls = [n for n in told if n["payload"]["template_id"] == "duty_manager_called"]
    assert [n["payload"]["recipient"]["role"] for n in calls] == ["duty_manager"]


async def test_corrective_action_past_its_deadline_warns_then_escalates(
    followup: httpx.AsyncClient, migrated: Infrastructure
) -> None:
    order, action_id = new_order(), uuid.uuid4()
    event = action_set(order, action_id, deadline_in=timedelta(seconds=2), at=datetime.now(UTC))
    await publish(migrated.kafka_bootstrap_servers, event)

    def escalated(events: list[dict]) -> bool:
        return any(e["event_type"] == "complaint.escalated" for e in events)

    seen = await _case_events(migrated.kafka_bootstrap_servers, topics.COMPLAINT_ESCALATED, order, escalated)
    assert [e["event_type"] for e in seen] == ["complaint.sla_warning", "complaint.escalated"]
    warning, escalation = (e["payload"] for e in seen)
    assert (warning["stage"], warning["corrective_action_id"]) == ("corrective_action", str(action_id))
    assert (escalation["escalated_to"], escalation["ladder"], escalation["corrective_action_id"]) == (
        "department_manager",
        "corrective_action",
        str(action_id),
    )
    notices = await _case_events(
        migrated.kafka_bootstrap_servers, topics.NOTIFICATION_REQUESTED, order, lambda es: len(es) >= 3
    )
    recipients = [(n["payload"]["template_id"], n["payload"]["recipient"]) for n in notices]
    assert ("sla_warning", "repair-chief-7") in [(t, r["staff_id"]) for t, r in recipients], "the owner is warned"
    assert [r["role"] for t, r in recipients if t == "escalation"] == ["department_manager"]


async def test_first_contact_is_called_back_for_its_owner_and_scores_round_trip(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    order, owner = new_order(), f"agent-{uuid.uuid4().hex[:6]}"
    event = resolved_on_contact(order, owner=owner, at=datetime.now(UTC))
    await publish(migrated.kafka_bootstrap_servers, event)

    async def listed() -> list[dict]:
        page = await followup.get(f"/v1/callbacks?owner={owner}", headers=AGENT)
        return page.json()["items"]

    [callback] = await wait_until(listed, timeout=30)
    assert (callback["complaint_id"], callback["owner"], callback["work_order_id"]) == (
        str(order.complaint_id),
        owner,
        str(order.work_order_id),
    )
    assert callback["department"] == "customer_service" and callback["scores"] is None
    scheduled = await _case_events(
        migrated.kafka_bootstrap_servers, topics.CALLBACK_EVENTS, order, lambda es: len(es) >= 1
    )
    assert (scheduled[0]["event_type"], scheduled[0]["schema_version"]) == ("callback.scheduled", 2)
    assert scheduled[0]["payload"]["owner"] == owner

    url = f"/v1/callbacks/{callback['callback_id']}/outcome"
    out_of_range = await followup.post(url, headers=AGENT, json={"outcome": "satisfied", "scores": {"supply": 6}})
    assert out_of_range.status_code == 422 and "supply" in out_of_range.text
    unreachable = await followup.post(url, headers=AGENT, json={"outcome": "unreachable", "scores": {"speed": 3}})
    assert unreachable.status_code == 422 and "scores" in unreachable.text
    scores = {"supply": 5, "attitude": 4, "speed": 3, "billing": 2}
    done = await followup.post(url, headers=AGENT, json={"outcome": "satisfied", "scores": scores})
    assert done.status_code == 200, done.text
    assert done.json()["scores"] == scores and done.json()["owner"] == owner
    stored = await db.fetchval(
        "SELECT scores FROM followup.callbacks WHERE callback_id = $1", uuid.UUID(callback["callback_id"])
    )
    assert stored == scores

    def attempted(events: list[dict]) -> bool:
        return any(e["event_type"] == "callback.attempted" for e in events)

    seen = await _case_events(migrated.kafka_bootstrap_servers, topics.CALLBACK_EVENTS, order, attempted)
    attempt = next(e for e in seen if e["event_type"] == "callback.attempted")
    assert attempt["schema_version"] == 4 and attempt["payload"]["scores"] == scores
    assert attempt["payload"]["owner"] == owner
    assert (attempt["payload"]["agent"], attempt["payload"]["agent_name"], attempt["payload"]["method"]) == (
        "callback-agent",
        None,
        "phone",
    ), "an API key's call: under the key's name, by phone (the default)"


async def test_a_signed_in_agent_records_the_callback_as_themselves(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    order = new_order()
    await publish(migrated.kafka_bootstrap_servers, resolved_on_contact(order, owner="agent.li", at=datetime.now(UTC)))
    li = bearer("agent.li", "李娜", "agent", department="customer_service")

    async def listed() -> list[dict]:
        page = await followup.get("/v1/callbacks?owner=agent.li", headers=li)
        assert page.status_code == 200, page.text
        return [c for c in page.json()["items"] if c["complaint_id"] == str(order.complaint_id)]

    [callback] = await wait_until(listed, timeout=30)
    assert callback["owner"] == "agent.li" and callback["due_at"] and callback["overdue"] in (True, False)
    crew = bearer("crew1.chen", "陈刚", "crew", department="repair", crew="repair-crew-1")
    assert (await followup.get("/v1/callbacks", headers=crew)).status_code == 403
    for role, staff_id in (("leadership", "leader.he"), ("department_manager", "manager.qian")):
        assert (await followup.get("/v1/callbacks", headers=bearer(staff_id, staff_id, role))).status_code == 200

    url = f"/v1/callbacks/{callback['callback_id']}/outcome"
    wrong = await followup.post(url, headers=li, json={"outcome": "satisfied", "method": "fax"})
    assert wrong.status_code == 422 and "method" in wrong.text
    done = await followup.post(
        url, headers=li, json={"outcome": "satisfied", "method": "letter", "scores": {"attitude": 5}}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["last_agent"], done.json()["last_agent_name"], done.json()["last_method"]) == (
        "agent.li",
        "李娜",
        "letter",
    )
    row = await db.fetchrow(
        "SELECT last_agent, last_agent_name, last_method FROM followup.callbacks WHERE callback_id = $1",
        uuid.UUID(callback["callback_id"]),
    )
    assert tuple(row) == ("agent.li", "李娜", "letter")

    def attempted(events: list[dict]) -> bool:
        return any(e["event_type"] == "callback.attempted" for e in events)

    seen = await _case_events(migrated.kafka_bootstrap_servers, topics.CALLBACK_EVENTS, order, attempted)
    attempt = next(e for e in seen if e["event_type"] == "callback.attempted")
    assert attempt["schema_version"] == 4
    assert (attempt["payload"]["agent"], attempt["payload"]["agent_name"], attempt["payload"]["method"]) == (
        "agent.li",
        "李娜",
        "letter",
    )


async def test_the_duty_manager_acknowledges_as_themselves(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    order = new_order()
    await publish(migrated.kafka_bootstrap_servers, received(order, at=datetime.now(UTC)))

    async def called() -> bool:
        return bool(await db.fetchval("SELECT 1 FROM followup.duty_calls WHERE complaint_id = $1", order.complaint_id))

    await wait_until(called, timeout=30)
    path = f"/v1/complaints/{order.complaint_id}/duty-manager/acknowledge"
    agent = bearer("agent.li", "李娜", "agent")
    assert (await followup.post(path, headers=agent, json={})).status_code == 403
    zheng = bearer("duty.zheng", "郑伟", "duty_manager")
    other = await followup.post(path, headers=zheng, json={"manager": "duty.other"})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "manager"
    keyed = await followup.post(path, headers=SUPERVISOR, json={})
    assert keyed.status_code == 422 and keyed.json()["errors"][0]["field"] == "manager", "a key names the manager"
    done = await followup.post(path, headers=zheng, json={"note": "到柜台安抚用户"})
    assert done.status_code == 200, done.text
    assert (done.json()["acknowledged_by"], done.json()["acknowledged_by_name"]) == ("duty.zheng", "郑伟")
    row = await db.fetchrow(
        "SELECT acknowledged_by, acknowledged_by_name FROM followup.duty_calls WHERE complaint_id = $1",
        order.complaint_id,
    )
    assert tuple(row) == ("duty.zheng", "郑伟")


async def test_an_invalid_complaint_is_explained_to_the_customer(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    order = new_order()
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    # The reason arrives before the contact (its own topic and consumer): the message waits for it.
    await publish(migrated.kafka_bootstrap_servers, invalid(order, reason="测试来电"))
    await publish(migrated.kafka_bootstrap_servers, _contact(order, phone))

    told = await _case_events(
        migrated.kafka_bootstrap_servers, topics.NOTIFICATION_REQUESTED, order, lambda es: len(es) >= 1
    )
    assert len(told) == 1
    notice = told[0]["payload"]
    assert notice["template_id"] == "complaint_invalid"
    assert (notice["recipient"]["kind"], notice["recipient"]["phone"]) == ("customer", phone)
    assert notice["params"] == {"reference_no": order.reference_no, "reason": "测试来电"}
    assert "测试来电" in notice["text"]
    callbacks = await db.fetchval("SELECT count(*) FROM followup.callbacks WHERE complaint_id = $1", order.complaint_id)
    assert callbacks == 0, "nothing was done for them: no callback"


async def test_a_bad_corrective_action_event_is_dead_lettered(
    followup: httpx.AsyncClient, migrated: Infrastructure
) -> None:
    key = uuid.uuid4().hex.encode()
    await produce(migrated.kafka_bootstrap_servers, topics.CORRECTIVE_ACTIONS, [(key, b'{"event_type": "nope"}')])
    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.dead_letter_topic(topics.CORRECTIVE_ACTIONS),
        until=lambda rs: any(r.key == key for r in rs),
    )
    dead = next(r for r in records if r.key == key)
    assert any("followup.corrective-actions" in v for v in dead.headers.values())


async def _tracked(db: asyncpg.Pool, *orders: Order) -> None:
    """Wait until followup tracks these work orders (department topics are consumed independently)."""
    ids = [o.work_order_id for o in orders]

    async def all_tracked() -> bool:
        return await db.fetchval("SELECT count(*) FROM followup.work_orders WHERE work_order_id = ANY($1)", ids) == len(
            ids
        )

    await wait_until(all_tracked, timeout=30)


async def test_the_first_to_sign_for_an_unowned_case_owns_its_callback(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap, order, owner = migrated.kafka_bootstrap_servers, new_order(), f"clerk-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    for event in (assigned(order, at=now), acknowledged(order, at=now, owner=owner), resolved(order, at=now)):
        await publish(bootstrap, event)

    async def listed() -> list[dict]:
        return (await followup.get(f"/v1/callbacks?owner={owner}", headers=AGENT)).json()["items"]

    [callback] = await wait_until(listed, timeout=30)
    assert (callback["complaint_id"], callback["owner"]) == (str(order.complaint_id), owner)
    stored = await db.fetchval("SELECT owner FROM followup.work_orders WHERE work_order_id = $1", order.work_order_id)
    assert stored == owner


async def test_a_coordinated_case_its_assisting_order_resolves_is_called_back_on_the_lead(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap, lead, owner = migrated.kafka_bootstrap_servers, new_order(), f"agent-{uuid.uuid4().hex[:6]}"
    assisting, now = new_order(complaint_id=lead.complaint_id), datetime.now(UTC)
    first = assigned(lead, at=now, owner=owner, department="repair", callback_limit="4h")
    helper = assigned(assisting, at=now, owner=owner, role="assisting", lead_work_order_id=lead.work_order_id)
    await publish(bootstrap, first)
    await publish(bootstrap, helper)
    await _tracked(db, lead, assisting)
    stored = await db.fetchval(
        "SELECT lead_work_order_id FROM followup.work_orders WHERE work_order_id = $1", assisting.work_order_id
    )
    assert stored == lead.work_order_id

    done = resolved(lead, at=now, case_resolved=False, department="repair")
    await publish(bootstrap, done)
    await publish(bootstrap, resolved(assisting, at=now, case_resolved=True))

    async def listed() -> list[dict]:
        return (await followup.get(f"/v1/callbacks?owner={owner}", headers=AGENT)).json()["items"]

    [callback] = await wait_until(listed, timeout=30)
    assert (callback["work_order_id"], callback["department"]) == (str(lead.work_order_id), "repair")


async def test_a_serious_case_goes_to_management_at_once(migrated: Infrastructure, followup: httpx.AsyncClient) -> None:
    order = new_order()
    event = assigned(order, at=datetime.now(UTC), severity="serious", department="repair", category="equipment_fault")
    await publish(migrated.kafka_bootstrap_servers, event, event)

    told = await _case_events(
        migrated.kafka_bootstrap_servers, topics.NOTIFICATION_REQUESTED, order, lambda es: len(es) >= 2
    )
    assert [(n["payload"]["template_id"], n["payload"]["recipient"]["role"]) for n in told] == [
        ("serious_case_opened", "department_manager"),
        ("serious_case_opened", "leadership"),
    ]
    assert told[0]["payload"]["recipient"]["department"] == "repair"


async def test_an_overturned_invalid_complaint_is_not_told_it_is_invalid(
    followup: httpx.AsyncClient, migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    order = new_order()
    await publish(migrated.kafka_bootstrap_servers, invalid(order), routed(order))

    async def dropped() -> bool:
        row = await db.fetchval(
            "SELECT true FROM followup.invalid_complaints WHERE complaint_id = $1", order.complaint_id
        )
        waiting = await db.fetchval(
            "SELECT count(*) FROM followup.timers WHERE subject_id = $1 AND stage = 'invalid' "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            order.complaint_id,
        )
        looked = await db.fetchval(
            "SELECT count(*) FROM followup.timers WHERE subject_id = $1 AND stage = 'invalid'", order.complaint_id
        )
        # A timer proves the invalid event was read (no contact yet); the row gone proves the overturn was; none
        # waiting: cancelled, or fired and stopped (the worker may hold the timer while the overturn cancels).
        return row is None and looked >= 1 and waiting == 0

    await wait_until(dropped, timeout=30)
    notices = await db.fetchval(
        "SELECT count(*) FROM followup.notifications WHERE complaint_id = $1 AND template_id = 'complaint_invalid'",
        order.complaint_id,
    )
    assert notices == 0


async def test_the_duty_manager_goes_and_arrives_on_their_own_sign_in(
    followup: httpx.AsyncClient, migrated: Infrastructure
) -> None:
    """Issue 24: the call is published (duty_manager.called) and listed for the duty page; "on my way" and "arrived"
    are the duty manager's own, signed in (a supervisor's key or an agent is refused); arrived takes it off the list."""
    order = new_order()
    await publish(migrated.kafka_bootstrap_servers, received(order, at=datetime.now(UTC)))
    dm = bearer("duty.zheng", "郑海", "duty_manager")

    async def listed() -> list[dict[str, Any]]:
        answer = await followup.get("/v1/duty-calls", params={"open": "true"}, headers=dm)
        assert answer.status_code == 200, answer.text
        return [c for c in answer.json()["items"] if c["reference_no"] == order.reference_no]

    calls = await wait_until(listed, timeout=30)
    assert (calls[0]["status"], calls[0]["channel"]) == ("called", "counter")
    agent = bearer("agent.li", "李娜", "agent")
    assert (await followup.get("/v1/duty-calls", headers=agent)).status_code == 403

    path = f"/v1/duty-calls/{order.complaint_id}"
    assert (await followup.post(f"{path}/on-the-way", headers=SUPERVISOR)).status_code == 403
    assert (
        await followup.post(f"{path}/arrived", headers=bearer("supervisor.wu", "吴静", "supervisor"))
    ).status_code == 403
    going = await followup.post(f"{path}/on-the-way", headers=dm)
    assert going.status_code == 200, going.text
    assert (going.json()["status"], going.json()["on_the_way_by"]) == ("on_the_way", "duty.zheng")
    assert (await followup.post(f"{path}/on-the-way", headers=dm)).status_code == 409
    there = await followup.post(f"{path}/arrived", headers=dm)
    assert there.status_code == 200, there.text
    assert (there.json()["status"], there.json()["arrived_by_name"]) == ("arrived", "郑海")
    assert (await followup.post(f"{path}/arrived", headers=dm)).status_code == 409
    assert await listed() == []

    steps = await _case_events(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_ESCALATED,
        order,
        lambda es: (
            {"duty_manager.called", "duty_manager.on_the_way", "duty_manager.arrived"} <= {e["event_type"] for e in es}
        ),
    )
    arrived = next(e["payload"] for e in steps if e["event_type"] == "duty_manager.arrived")
    assert (arrived["actor"], arrived["reference_no"]) == ("duty.zheng", order.reference_no)
    assert "phone" not in json.dumps(steps)
