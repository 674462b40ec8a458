"""Must-show 4 — 12345 both ways, against real Postgres and Kafka, intake and channels running in-process and the
hotline stand-in as its own process (`embedded/standins/hotline_partner.py`: it checks every call's signature,
nonce, fields and the order of the ticket's states, and records what it took).

A v2 ticket comes in on `ingress.partner-tickets`; intake makes it a complaint and channels pushes 签收 (accept).
Dispatch and followup are not run here: the test publishes what they would — the `workorder.resolved` that resolves
the case and the final `callback.attempted` — and the hotline receives 办结 with the resolution text, then 回访 with
the result, in order. A supervisor asks for more time (延期) over HTTP: it goes after the ticket's 签收, and staff see
every state with the hotline's answer. Then the hotline is down: a second ticket's states are retried with backoff
while it is (503s recorded), and once it is back each is taken exactly once, in order, every answer kept on our
side. (The unit tests hold the hotline down for a whole minute of fake time; here a few real seconds keep CI
quick.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from embedded.standins.process import StandInProcess
from services.intake import consumers as intake_consumers
from shared import topics
from shared.contracts import CallbackAttempted, Event, WorkOrderResolved, new_event
from tests.support.channels import running_channels
from tests.support.followup_events import new_order, received
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import produce, publish, start_groups_at_end, wait_until
from tests.support.tokens import LocalIssuer

RESOLUTION = "已更换3号楼换热站循环泵，室温恢复至20℃"


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    work: Path = tmp_path_factory.mktemp("hotline_partner")
    with StandInProcess("embedded.standins.hotline_partner", work) as standin:
        yield standin


@dataclass
class Sides:
    hotline: str
    bootstrap: str
    channels: httpx.AsyncClient
    issuer: LocalIssuer

    def staff(self, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.mint('staff-' + roles[0], roles=roles)}"}


@pytest.fixture(scope="module")
async def sides(migrated: Infrastructure, hotline: StandInProcess) -> AsyncIterator[Sides]:
    bootstrap, issuer = migrated.kafka_bootstrap_servers, LocalIssuer()
    intake_group = f"intake-test-{uuid.uuid4().hex[:8]}"
    await start_groups_at_end(bootstrap, intake_consumers.SUBSCRIPTIONS, intake_group)
    partner = {
        "channels_partner_12345_url": f"{hotline.url}/12345/ticket-feedback",
        "channels_partner_12345_app_key": "dev-only-12345-app-key",
        "channels_partner_12345_secret": "dev-only-12345-secret",
        "channels_partner_retry_first_s": 0.2,
        "channels_partner_retry_max_s": 1.0,
        "channels_partner_poll_s": 0.1,
    }
    async with (
        running_intake(migrated.database_url, bootstrap, intake_consumer_group=intake_group) as (intake, _),
        running_channels(migrated.database_url, bootstrap, persons=issuer.verifier(), **partner) as (channels, client),
    ):
        await wait_until(
            lambda: intake.state.kafka["kafka"] == channels.state.kafka["kafka"] == "connected", timeout=60
        )
        yield Sides(hotline.url, bootstrap, client, issuer)


async def standin(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await (http.post(f"{url}{path}", json=body) if body is not None else http.get(f"{url}{path}"))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def taken(url: str, ticket_id: str) -> list[dict[str, Any]]:
    return [m for m in await standin(url, "/_standin/messages") if m["ticket_id"] == ticket_id]


async def ticket_in(sides: Sides, ticket_id: str) -> None:
    body = {
        "schema_version": 2,
        "source": "12345",
        "ticket_id": ticket_id,
        "received_at": datetime.now(UTC).isoformat(),
        "caller_phone": "13700137000",
        "address": "和平区南京北街8号3号楼2单元301",
        "district": "heping",
        "content": "暖气不热，室温只有14度，老人在家。",
        "deadline_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "demand": "要求尽快上门维修",
    }
    await produce(sides.bootstrap, topics.PARTNER_TICKETS, [(ticket_id.encode(), json.dumps(body).encode())])


async def complaint_of(db: asyncpg.Pool, ticket_id: str) -> asyncpg.Record:
    async def found() -> asyncpg.Record | None:
        return await db.fetchrow(
            "SELECT complaint_id, reference_no FROM intake.complaints WHERE channel_ticket_id = $1", ticket_id
        )

    return await wait_until(found, timeout=30)


def resolved_and_called_back(complaint_id: uuid.UUID, reference_no: str) -> list[Event]:
    """What dispatch and followup would publish: the case resolved, then the final callback."""
    now, work_order_id = datetime.now(UTC), uuid.uuid4()
    common = {"complaint_id": complaint_id, "producer": "test", "correlation_id": f"corr-{reference_no}"}
    facts = {"work_order_id": work_order_id, "complaint_id": complaint_id, "reference_no": reference_no}
    facts |= {"department": "repair", "cycle": 1, "actor": "repair-desk"}
    resolved = new_event(
        WorkOrderResolved,
        payload={**facts, "status": "resolved", "at": now, "resolution": RESOLUTION, "root_cause": "repair.pump"},
        **common,
    )
    callback = {"callback_id": uuid.uuid4(), "due_at": now + timedelta(days=1), "at": now + timedelta(minutes=5)}
    attempted = new_event(
        CallbackAttempted,
        payload={
            **{k: v for k, v in facts.items() if k not in ("actor",)},
            **callback,
            "outcome": "satisfied",
            "attempt": 1,
            "agent": "agent-7",
            "final": True,
            "scores": {"supply": 5, "attitude": 5, "speed": 4},
            "method": "phone",
        },
        **common,
    )
    return [resolved, attempted]


async def test_a_12345_ticket_in_and_its_states_out_in_order(sides: Sides, db: asyncpg.Pool) -> None:
    ticket_id = f"GD-{uuid.uuid4().hex[:10]}"
    await ticket_in(sides, ticket_id)
    complaint = await complaint_of(db, ticket_id)
    await wait_until(lambda: taken(sides.hotline, ticket_id), timeout=30)
    await publish(sides.bootstrap, *resolved_and_called_back(complaint["complaint_id"], complaint["reference_no"]))
    states = await wait_until(lambda: _when(taken(sides.hotline, ticket_id), lambda got: len(got) == 3), timeout=30)
    assert [s["action"] for s in states] == ["accept", "reply", "visit"]
    assert all(s["body"]["reference_no"] == complaint["reference_no"] for s in states)
    assert states[1]["body"]["resolution"] == RESOLUTION
    assert (states[2]["body"]["result"], states[2]["body"]["scores"]) == (
        "satisfied",
        {"supply": 5, "attitude": 5, "speed": 4},
    )
    assert [s["body"]["seq"] for s in states] == sorted(s["body"]["seq"] for s in states)
    rows = await _delivered(db, complaint["complaint_id"], 3)
    assert [(r["kind"], r["status"], r["receipt_id"]) for r in rows] == [
        (s["action"], "delivered", s["receipt_id"]) for s in states
    ]


async def test_the_hotline_down_gets_every_state_once_in_order_when_back(sides: Sides, db: asyncpg.Pool) -> None:
    await standin(sides.hotline, "/_standin/faults", {"down_for_s": 4})
    ticket_id = f"GD-{uuid.uuid4().hex[:10]}"
    await ticket_in(sides, ticket_id)
    complaint = await complaint_of(db, ticket_id)
    # Dispatch resolves only what complaint.received brought it: channels has registered the ticket by then.
    registered = "SELECT true FROM channels.partner_tickets WHERE complaint_id = $1"
    await wait_until(lambda: db.fetchval(registered, complaint["complaint_id"]), timeout=30)
    await publish(sides.bootstrap, *resolved_and_called_back(complaint["complaint_id"], complaint["reference_no"]))
    states = await wait_until(lambda: _when(taken(sides.hotline, ticket_id), lambda got: len(got) == 3), timeout=40)
    assert [s["action"] for s in states] == ["accept", "reply", "visit"]
    keys = {s["idempotency_key"] for s in states}
    refused = [a for a in await standin(sides.hotline, "/_standin/attempts") if a["idempotency_key"] in keys]
    assert any(a["status"] == 503 for a in refused), "the hotline was down: calls were refused and retried"
    rows = await _delivered(db, complaint["complaint_id"], 3)
    assert [r["status"] for r in rows] == ["delivered"] * 3
    assert rows[0]["attempts"] > 1 and rows[0]["answer_status"] == 200
    # Each state once: the hotline took three, and nothing more comes (no push is pending any longer).
    assert len(await taken(sides.hotline, ticket_id)) == 3


async def test_states_read_before_their_ticket_wait_and_reach_the_hotline_in_order(
    sides: Sides, db: asyncpg.Pool
) -> None:
    """A consumer catching up a backlog: the 办结 and the 回访 are read (and held) before the complaint.received that
    registers the ticket; once it comes, the hotline gets 签收, 办结, 回访, in that order."""
    order, ticket_id = new_order(), f"GD-{uuid.uuid4().hex[:10]}"
    await publish(sides.bootstrap, *resolved_and_called_back(order.complaint_id, order.reference_no))
    held = "SELECT count(*) FROM channels.partner_held_states WHERE complaint_id = $1"
    await wait_until(lambda: _when(db.fetchval(held, order.complaint_id), lambda n: n == 2), timeout=30)
    event = received(order, channel="partner_12345", at=datetime.now(UTC))
    payload = event.payload.model_copy(update={"channel_ticket_id": ticket_id, "agent_id": None})
    await publish(sides.bootstrap, event.model_copy(update={"payload": payload}))
    states = await wait_until(lambda: _when(taken(sides.hotline, ticket_id), lambda got: len(got) == 3), timeout=30)
    assert [s["action"] for s in states] == ["accept", "reply", "visit"]
    assert states[1]["body"]["resolution"] == RESOLUTION
    assert await db.fetchval(held, order.complaint_id) == 0


async def test_a_supervisor_asks_the_hotline_for_more_time_and_staff_see_every_answer(
    sides: Sides, db: asyncpg.Pool
) -> None:
    ticket_id = f"GD-{uuid.uuid4().hex[:10]}"
    await ticket_in(sides, ticket_id)
    reference = (await complaint_of(db, ticket_id))["reference_no"]
    ask = {"reason": "循环泵配件三日后到货", "new_deadline": (datetime.now(UTC) + timedelta(days=3)).isoformat()}
    path = f"/v1/partner-tickets/{reference}"

    async def asked() -> httpx.Response | None:  # 404 until channels has taken the ticket from complaint.received
        answer = await sides.channels.post(f"{path}/extensions", json=ask, headers=sides.staff("supervisor"))
        return answer if answer.status_code != 404 else None

    answer = await wait_until(asked, timeout=30)
    assert answer.status_code == 202, answer.text
    assert (answer.json()["kind"], answer.json()["label"]) == ("extend", "延期")
    crew = await sides.channels.post(f"{path}/extensions", json=ask, headers=sides.staff("crew"))
    assert crew.status_code == 403
    states = await wait_until(lambda: _when(taken(sides.hotline, ticket_id), lambda got: len(got) == 2), timeout=30)
    assert [(s["action"], s["body"].get("reason")) for s in states] == [("accept", None), ("extend", ask["reason"])]
    seen = await sides.channels.get(f"{path}/pushes", headers=sides.staff("agent"))
    assert seen.status_code == 200, seen.text
    assert [(p["kind"], p["status"], p["receipt_id"]) for p in seen.json()["pushes"]] == [
        (s["action"], "delivered", s["receipt_id"]) for s in states
    ]
    unknown = await sides.channels.get("/v1/partner-tickets/TS-19990101-000001/pushes", headers=sides.staff("agent"))
    assert unknown.status_code == 404
    assert (await sides.channels.get(f"{path}/pushes")).status_code == 401


async def _when(values: Any, condition: Any) -> Any:
    got = await values
    return got if condition(got) else None


async def _delivered(db: asyncpg.Pool, complaint_id: uuid.UUID, n: int) -> list[asyncpg.Record]:
    """The pushes once `n` are marked delivered: the hotline records a push when it answers, and the worker marks
    the row after it reads the answer (CI49 read the last one in between, still pending)."""
    rows = await wait_until(
        lambda: _when(_pushes(db, complaint_id), lambda got: sum(r["status"] == "delivered" for r in got) >= n),
        timeout=10,
    )
    return list(rows)


async def _pushes(db: asyncpg.Pool, complaint_id: uuid.UUID) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT kind, status, attempts, answer_status, receipt_id FROM channels.partner_pushes "
        "WHERE complaint_id = $1 ORDER BY seq",
        complaint_id,
    )
