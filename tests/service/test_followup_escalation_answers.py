"""An escalation's answer step (issue 24) on followup in-process, real Postgres and Kafka, its clocks scaled down and
moved by a fake clock: the department answers one escalation and it climbs no further while an unanswered one
climbs; the answer sent back with a deadline climbs at that deadline; the steps are published and the other side
is told. Refusals over HTTP name the problem (403 for the wrong person, 422 for a date in the past, 404)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from shared import topics
from tests.support.clock import FakeClock
from tests.support.followup import AGENT, running_followup
from tests.support.followup_events import Order, assigned, new_order
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import publish, read_topic, wait_until
from tests.support.tokens import LocalIssuer

#: 2 h of answer limit (the policy's) is 36 s: room for a loaded machine to answer in time; the fake clock skips it.
SCALE = 0.005
ISSUER = LocalIssuer()


def bearer(staff_id: str, name: str, role: str, department: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {ISSUER.mint(staff_id, roles=(role,), name=name, department=department)}"}


# Minted when used, not at import: a token lives 300 s, and a module may run long after the suite collected it.
def manager() -> dict[str, str]:
    return bearer("bm-24", "钱经理", "department_manager", "billing")


def other_manager() -> dict[str, str]:
    return bearer("rm-24", "孙经理", "department_manager", "repair")


def supervisor() -> dict[str, str]:
    return bearer("sv-24", "周主管", "supervisor", "customer_service")


async def _rungs(db: asyncpg.Pool, order: Order) -> list[tuple[int, str, str]]:
    rows = await db.fetch(
        "SELECT level, escalated_to, status FROM followup.escalations WHERE complaint_id = $1 ORDER BY level",
        order.complaint_id,
    )
    return [(r["level"], r["escalated_to"], r["status"]) for r in rows]


async def _case_events(
    bootstrap: str, topic: str, order: Order, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    key = str(order.complaint_id).encode()

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [r.json() for r in records if r.key == key]

    return mine(await read_topic(bootstrap, topic, until=lambda rs: until(mine(rs)), timeout=30))


async def _refusals(client: httpx.AsyncClient, escalation_id: str, clock: FakeClock) -> None:
    answer = f"/v1/escalations/{escalation_id}/answer"
    body = {"action": "crew sent", "by": (clock() + timedelta(days=1)).isoformat()}
    wrong = await client.post(answer, headers=other_manager(), json=body)
    assert wrong.status_code == 403 and "department" in wrong.json()["detail"]
    assert (await client.post(answer, headers=AGENT, json=body)).status_code == 403
    past = await client.post(answer, headers=manager(), json=body | {"by": (clock() - timedelta(hours=1)).isoformat()})
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "by"
    send_back = await client.post(
        f"/v1/escalations/{escalation_id}/send-back",
        headers=manager(),
        json={"instruction": "x", "deadline": (clock() + timedelta(hours=1)).isoformat()},
    )
    assert send_back.status_code == 403, "the department does not send its own answer back"
    unknown = await client.post(f"/v1/escalations/{uuid.uuid4()}/answer", headers=manager(), json=body)
    assert unknown.status_code == 404


async def test_answered_stops_the_climb_unanswered_climbs_sent_back_climbs_at_its_deadline(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    bootstrap, clock = migrated.kafka_bootstrap_servers, FakeClock()
    answered, unanswered = new_order(), new_order()
    async with running_followup(
        migrated.database_url, bootstrap, clock=clock, sla_time_scale=SCALE, persons=ISSUER.verifier()
    ) as (app, client):
        await wait_until(lambda: app.state.kafka["kafka"] == "connected", timeout=60)
        for order in (answered, unanswered):
            await publish(bootstrap, assigned(order, at=clock(), acknowledge_in=timedelta(seconds=1)))
        clock.advance(timedelta(seconds=1))

        async def both_escalated() -> bool:
            return [await _rungs(db, o) for o in (answered, unanswered)] == [[(1, "supervisor", "open")]] * 2

        await wait_until(both_escalated, timeout=30)
        listed = (await client.get("/v1/escalations", headers=manager())).json()["items"]
        mine = {e["complaint_id"]: e for e in listed if e["complaint_id"] in (str(answered.complaint_id),)}
        escalation = mine[str(answered.complaint_id)]
        assert (escalation["reference_no"], escalation["department"], escalation["status"]) == (
            answered.reference_no,
            "billing",
            "open",
        )
        escalation_id = escalation["escalation_id"]
        await _refusals(client, escalation_id, clock)

        promised = clock() + timedelta(days=1)
        body = {"action": "核实账单，今日内更正", "by": promised.isoformat()}
        reply = await client.post(f"/v1/escalations/{escalation_id}/answer", headers=manager(), json=body)
        assert reply.status_code == 200, reply.text
        assert (reply.json()["status"], reply.json()["answered_by_name"], reply.json()["late"]) == (
            "answered",
            "钱经理",
            False,
        )

        clock.advance(timedelta(hours=2) * SCALE)  # the answer limit passes
        await wait_until(lambda: _climbed(db, unanswered), timeout=30)
        assert await _rungs(db, answered) == [(1, "supervisor", "answered")], "answered: no next rung"

        deadline = clock() + timedelta(seconds=2)
        body = {"instruction": "请今天回访客户", "deadline": deadline.isoformat()}
        back = await client.post(f"/v1/escalations/{escalation_id}/send-back", headers=supervisor(), json=body)
        assert back.status_code == 200, back.text
        assert back.json()["status"] == "sent_back" and back.json()["instruction"] == "请今天回访客户"
        clock.advance(timedelta(seconds=2))
        await wait_until(lambda: _climbed(db, answered), timeout=30)

    await _published(bootstrap, answered)


async def _climbed(db: asyncpg.Pool, order: Order) -> bool:
    return [level for level, _, _ in await _rungs(db, order)] == [1, 2]


async def _published(bootstrap: str, order: Order) -> None:
    """The steps on the escalations topic; the answer told to the supervisor rung, the send-back to who answered."""
    steps = await _case_events(
        bootstrap,
        topics.COMPLAINT_ESCALATED,
        order,
        lambda es: {"escalation.answered", "escalation.sent_back"} <= {e["event_type"] for e in es},
    )
    answer = next(e["payload"] for e in steps if e["event_type"] == "escalation.answered")
    assert (answer["actor"], answer["actor_name"], answer["action"], answer["escalated_to"]) == (
        "bm-24",
        "钱经理",
        "核实账单，今日内更正",
        "supervisor",
    )
    notices = await _case_events(
        bootstrap,
        topics.NOTIFICATION_REQUESTED,
        order,
        lambda es: {"escalation_answered", "escalation_sent_back"} <= {n["payload"]["template_id"] for n in es},
    )
    told = {n["payload"]["template_id"]: n["payload"]["recipient"] for n in notices}
    assert (told["escalation_answered"]["role"], told["escalation_answered"]["department"]) == ("supervisor", "billing")
    assert told["escalation_sent_back"]["staff_id"] == "bm-24"
