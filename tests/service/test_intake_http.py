"""Intake over HTTP against real Postgres and the real broker: accept, dedupe, look up, refuse."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.intake.reference import looks_like_reference
from shared import topics
from shared.contracts import ComplaintContact
from shared.db import create_pool
from shared.subject_keys import SubjectKeys, opened_contact
from tests.support.complaints import complaint, headers
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake
from tests.support.kafka import read_topic, wait_until
from tests.support.tokens import LocalIssuer

ISSUER = LocalIssuer()


@pytest.fixture(scope="module")
async def intake(migrated: Infrastructure) -> AsyncIterator[httpx.AsyncClient]:
    """Intake trusting an identity provider: channel keys and staff tokens side by side."""
    async with running_intake(
        migrated.database_url, migrated.kafka_bootstrap_servers, create_kwargs={"persons": ISSUER.verifier()}
    ) as (_, client):
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def agent_li() -> str:
    """Minted when used, not at import: a token lives 300 s, and the whole suite runs far longer than that."""
    return ISSUER.mint("agent.li", roles=("agent",), name="李娜", department="customer_service")


async def _received(migrated: Infrastructure, complaint_id: str) -> dict[str, Any]:
    key = complaint_id.encode()
    records = await read_topic(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_RECEIVED, until=lambda rs: any(r.key == key for r in rs)
    )
    return next(r.json() for r in records if r.key == key)


async def test_a_signed_in_agent_submits_a_phone_complaint_as_themselves(
    intake: httpx.AsyncClient, migrated: Infrastructure
) -> None:
    body = complaint("phone", handled_on_contact="已解释本月账单构成", customer_agitated=True)
    response = await intake.post("/v1/complaints", json=body, headers=bearer(agent_li()))
    assert response.status_code == 202, response.text
    event = await _received(migrated, response.json()["complaint_id"])
    assert event["schema_version"] == 5
    payload = event["payload"]
    assert payload["customer_id"] and payload["matched_by"] in ("account", "phone", "address", "new")
    assert payload["location"]["address"] is None and payload["location"]["sealed"], "the address travels sealed"
    assert (payload["agent_id"], payload["agent_name"], payload["handled_on_contact"]) == (
        "agent.li",
        "李娜",
        "已解释本月账单构成",
    )
    # Naming themselves is the same as leaving it out; the stored submission says who took it.
    same = await intake.post(
        "/v1/complaints", json=complaint("counter", agent_id="agent.li"), headers=bearer(agent_li())
    )
    assert same.status_code == 202, same.text
    mine = await intake.get(f"/v1/complaints/{response.json()['reference_no']}", headers=bearer(agent_li()))
    assert mine.status_code == 200, mine.text
    seen = mine.json()["submission"]
    assert seen["agent_id"] == "agent.li"
    assert (seen["customer"]["name"], seen["customer"]["phone"]) == ("王**", "139******78"), "persons: masked"
    other_agent = ISSUER.mint("agent.wang", roles=("agent",), name="王强")
    hidden = await intake.get(f"/v1/complaints/{response.json()['complaint_id']}", headers=bearer(other_agent))
    assert hidden.status_code == 404
    supervisor = ISSUER.mint("supervisor.wu", roles=("supervisor",), name="吴静")
    assert (
        await intake.get(f"/v1/complaints/{response.json()['complaint_id']}", headers=bearer(supervisor))
    ).status_code == 200


@pytest.mark.parametrize("channel", ["web", "app", "partner_12345"])
async def test_a_person_submits_for_phone_or_counter_only(intake: httpx.AsyncClient, channel: str) -> None:
    response = await intake.post("/v1/complaints", json=complaint(channel), headers=bearer(agent_li()))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert channel in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "channel"


async def test_a_person_names_no_other_agent_and_needs_the_role(intake: httpx.AsyncClient) -> None:
    mismatch = await intake.post(
        "/v1/complaints", json=complaint("phone", agent_id="agent.wang"), headers=bearer(agent_li())
    )
    assert mismatch.status_code == 422
    assert [e["field"] for e in mismatch.json()["errors"]] == ["agent_id"]
    crew = ISSUER.mint("crew1.chen", roles=("crew",), name="陈刚", department="repair", crew="repair-crew-1")
    assert (await intake.post("/v1/complaints", json=complaint("phone"), headers=bearer(crew))).status_code == 403


async def test_expired_tampered_or_foreign_tokens_are_401(intake: httpx.AsyncClient) -> None:
    expired = ISSUER.mint("agent.li", roles=("agent",), name="李娜", expires_in=-60)
    foreign = LocalIssuer().mint("agent.li", roles=("agent",), name="李娜")
    head, payload, signature = agent_li().split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    for token in (expired, foreign, tampered):
        response = await intake.post("/v1/complaints", json=complaint("phone"), headers=bearer(token))
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
    # The channel's key keeps working beside the tokens, with its agent_id field as before.
    keyed = await intake.post(
        "/v1/complaints", json=complaint("phone", agent_id="agent-0042"), headers=headers("phone")
    )
    assert keyed.status_code == 202, keyed.text


async def test_accepts_and_publishes_masked_event(intake: httpx.AsyncClient, migrated: Infrastructure) -> None:
    body = complaint("phone", text="热水不热。回电13912345678或者座机024-88812345")
    response = await intake.post("/v1/complaints", json=body, headers=headers("phone"))
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert looks_like_reference(accepted["reference_no"])
    assert response.headers["location"] == f"/v1/complaints/{accepted['complaint_id']}"

    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_RECEIVED,
        until=lambda rs: any(r.key == accepted["complaint_id"].encode() for r in rs),
    )
    event = next(r for r in records if r.key == accepted["complaint_id"].encode())
    payload = event.json()["payload"]
    assert event.json()["event_type"] == "complaint.received"
    assert event.headers["event_type"] == "complaint.received"
    assert payload["reference_no"] == accepted["reference_no"]
    assert payload["customer"]["phone_masked"] == "139******78"
    assert payload["customer"]["name_masked"] == "王**"
    raw = event.value.decode()
    assert "13912345678" not in raw and "王小明" not in raw and "88812345" not in raw

    contact = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_CONTACT,
        until=lambda rs: any(r.key == accepted["complaint_id"].encode() for r in rs),
    )
    record = next(r for r in contact if r.key == accepted["complaint_id"].encode())
    restricted = record.json()
    # v2 (issue 25): the contact sealed with the customer's key; only a holder of the key reads the number.
    assert restricted["schema_version"] == 2 and restricted["payload"]["phone"] is None
    assert "13912345678" not in record.value.decode() and "王小明" not in record.value.decode()
    pool = await create_pool(migrated.database_url, min_size=1, max_size=1)
    try:
        opened = await opened_contact(ComplaintContact.model_validate(restricted).payload, SubjectKeys(pool))
    finally:
        await pool.close()
    assert opened is not None and (opened.phone, opened.name) == ("13912345678", "王小明")
    assert restricted["causation_id"] == event.json()["event_id"]


async def test_an_agent_says_who_took_it_and_what_was_settled_on_the_call(
    intake: httpx.AsyncClient, migrated: Infrastructure
) -> None:
    body = complaint("phone", agent_id="agent-0042", handled_on_contact="已解释本月账单构成，用户表示理解")
    response = await intake.post("/v1/complaints", json=body, headers=headers("phone"))
    assert response.status_code == 202, response.text
    key = response.json()["complaint_id"].encode()
    records = await read_topic(
        migrated.kafka_bootstrap_servers, topics.COMPLAINT_RECEIVED, until=lambda rs: any(r.key == key for r in rs)
    )
    event = next(r.json() for r in records if r.key == key)
    assert event["schema_version"] == 5
    payload = event["payload"]
    assert payload["agent_name"] is None, "a channel key names no person"
    assert (payload["agent_id"], payload["handled_on_contact"], payload["customer_agitated"]) == (
        "agent-0042",
        "已解释本月账单构成，用户表示理解",
        False,
    )

    unsigned = complaint("counter", handled_on_contact="当场更换了表卡", customer_agitated=True)
    refused = await intake.post("/v1/complaints", json=unsigned, headers=headers("counter"))
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"handled_on_contact", "customer_agitated"}
    assert "needs agent_id" in refused.json()["detail"]

    old_client = await intake.post("/v1/complaints", json=complaint("counter"), headers=headers("counter"))
    assert old_client.status_code == 202, "an agent channel without agent_id is still accepted"


async def test_lookup_by_id_and_reference(intake: httpx.AsyncClient) -> None:
    body = complaint("app")
    accepted = (await intake.post("/v1/complaints", json=body, headers=headers("app"))).json()
    for ref in (accepted["complaint_id"], accepted["reference_no"]):
        found = await intake.get(f"/v1/complaints/{ref}", headers=headers("app"))
        assert found.status_code == 200, found.text
        data = found.json()
        assert data["complaint_id"] == accepted["complaint_id"]
        assert data["submission"]["text"] == body["text"]
        assert data["submission"]["customer"]["phone"] == "13912345678"
    # Another channel's credential cannot read it, and unknown ids are 404 problems.
    other = await intake.get(f"/v1/complaints/{accepted['complaint_id']}", headers=headers("web"))
    assert other.status_code == 404
    missing = await intake.get(f"/v1/complaints/{uuid.uuid4()}", headers=headers("app"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_reference_numbers_are_unique_and_sortable(intake: httpx.AsyncClient) -> None:
    refs = []
    for _ in range(5):
        r = await intake.post("/v1/complaints", json=complaint("web"), headers=headers("web"))
        refs.append(r.json()["reference_no"])
    assert refs == sorted(refs) and len(set(refs)) == 5


async def test_fifty_concurrent_retries_make_one_complaint_and_one_event(
    intake: httpx.AsyncClient, db: asyncpg.Pool, migrated: Infrastructure
) -> None:
    body = complaint("wechat")
    key = f"retry-{uuid.uuid4()}"
    responses = await asyncio.gather(
        *(
            intake.post("/v1/complaints", json=body, headers=headers("wechat", **{"Idempotency-Key": key}))
            for _ in range(50)
        )
    )
    assert {r.status_code for r in responses} == {202}
    ids = {r.json()["complaint_id"] for r in responses}
    assert len(ids) == 1
    assert sum(1 for r in responses if not r.json()["replayed"]) == 1
    (complaint_id,) = ids
    assert await db.fetchval("SELECT count(*) FROM intake.complaints WHERE idempotency_key = $1", key) == 1

    records = await read_topic(
        migrated.kafka_bootstrap_servers,
        topics.COMPLAINT_RECEIVED,
        until=lambda rs: any(r.key == complaint_id.encode() for r in rs),
        settle=1.0,
    )
    assert sum(1 for r in records if r.key == complaint_id.encode()) == 1


async def test_same_channel_ticket_id_is_the_same_complaint(intake: httpx.AsyncClient) -> None:
    body = complaint("counter")
    first, *rest = await asyncio.gather(
        *(intake.post("/v1/complaints", json=body, headers=headers("counter")) for _ in range(10))
    )
    assert len({r.json()["complaint_id"] for r in [first, *rest]}) == 1


async def test_idempotency_key_reused_for_another_body_is_refused(intake: httpx.AsyncClient) -> None:
    key = f"k-{uuid.uuid4()}"
    ok = await intake.post("/v1/complaints", json=complaint("web"), headers=headers("web", **{"Idempotency-Key": key}))
    assert ok.status_code == 202
    clash = await intake.post(
        "/v1/complaints", json=complaint("web", text="另一件事"), headers=headers("web", **{"Idempotency-Key": key})
    )
    assert clash.status_code == 422
    assert clash.json()["errors"][0]["field"] == "Idempotency-Key"


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    node = body
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return body


INVALID: list[tuple[str, dict[str, Any] | bytes, dict[str, str], int, str]] = [
    ("missing contact", complaint(customer={"name": "李四", "preferred_contact": "phone"}), {}, 422, "customer"),
    ("text too long", complaint(text="暖" * 4001), {}, 422, "text"),
    ("empty text", complaint(text="   "), {}, 422, "text"),
    ("unknown channel", complaint(channel="carrier-pigeon"), {}, 422, "channel"),
    (
        "malformed phone",
        complaint(customer={"phone": "12345", "preferred_contact": "phone"}),
        {},
        422,
        "customer.phone",
    ),
    ("missing location", _without(complaint(), "location"), {}, 422, "location"),
    (
        "bad coordinates",
        complaint(location={"address": "x", "district": "y", "coordinates": {"latitude": 123, "longitude": 1}}),
        {},
        422,
        "location.coordinates.latitude",
    ),
    ("unknown category hint", complaint(category_hint="weather"), {}, 422, "category_hint"),
    ("received in the future", complaint(received_at="2099-01-01T00:00:00+08:00"), {}, 422, "received_at"),
    ("naive received_at", complaint(received_at="2026-11-23T08:00:00"), {}, 422, "received_at"),
    ("caller sets status", complaint(status="resolved"), {}, 422, "status"),
    ("NUL in the address", complaint(location={"address": "a\u0000b", "district": "d"}), {}, 422, "location.address"),
    ("caller sets priority", complaint(priority="emergency"), {}, 422, "priority"),
    (
        "email preferred without email",
        complaint(customer={"phone": "13912345678", "preferred_contact": "email"}),
        {},
        422,
        "customer",
    ),
    ("malformed json", b'{"channel": "web",', {}, 400, ""),
    ("not json", b"channel=web", {"Content-Type": "application/x-www-form-urlencoded"}, 415, ""),
    ("body over the size limit", complaint(text="x" * 100_000), {}, 413, ""),
    ("no credential", complaint(), {"X-API-Key": ""}, 401, ""),
    ("wrong credential", complaint(), {"X-API-Key": "guess"}, 401, ""),
    ("another channel's credential", complaint(channel="email"), {}, 403, "channel"),
    ("agent id on the web", complaint(agent_id="agent-7"), {}, 422, "agent_id"),
    ("agitated flag on the web", complaint(customer_agitated=True), {}, 422, "customer_agitated"),
]


@pytest.mark.parametrize(("kind", "body", "extra_headers", "status", "field"), INVALID, ids=[i[0] for i in INVALID])
async def test_invalid_submissions_get_problem_json(
    intake: httpx.AsyncClient,
    kind: str,
    body: dict[str, Any] | bytes,
    extra_headers: dict[str, str],
    status: int,
    field: str,
) -> None:
    sent_headers = {**headers("web"), **extra_headers}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await intake.post("/v1/complaints", content=content, headers=sent_headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"]
    if field:
        assert field in {e["field"] for e in problem["errors"]}, problem


async def test_health_and_docs(intake: httpx.AsyncClient) -> None:
    assert (await intake.get("/healthz")).json() == {"status": "ok"}
    ready = await wait_until(lambda: _ready(intake), timeout=20)
    assert ready["status"] == "ready"
    spec = (await intake.get("/openapi.json")).json()
    assert "/v1/complaints" in spec["paths"]
    assert (await intake.get("/docs")).status_code == 200


async def _ready(client: httpx.AsyncClient) -> dict[str, Any] | None:
    body = (await client.get("/readyz")).json()
    return body if body.get("kafka") == "connected" else None
