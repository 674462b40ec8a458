"""`Idempotency-Key` on dispatch's and followup's POSTs (issue 25, must-show 7), against real Postgres and Kafka:
a retried outage notice with the same key is one notice, answered with the first answer again; the same key with
another body is 422; a key is the credential's own; racing retries still make one notice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.dispatch.assets.addresses import compound_key
from tests.support.dispatch import as_, running_dispatch
from tests.support.followup import running_followup
from tests.support.infrastructure import Infrastructure

OUTAGE_SYSTEM = {"X-API-Key": "dev-only-outage-system-key"}


def _notice(compound: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "district": "heping",
        "compound": compound,
        "family": "water_outage",
        "kind": "planned",
        "starts_at": (now + timedelta(hours=1)).isoformat(),
        "expected_end": (now + timedelta(hours=3)).isoformat(),
        "description": "管网改造计划停水",
    }


async def _notices(db: asyncpg.Pool, compound: str) -> int:
    key = compound_key(compound)
    return int(await db.fetchval("SELECT count(*) FROM dispatch.outages WHERE compound = $1", key))


async def test_a_retried_dispatch_post_with_the_same_idempotency_key_has_one_effect(
    migrated: Infrastructure, db: asyncpg.Pool
) -> None:
    async with running_dispatch(migrated.database_url, migrated.kafka_bootstrap_servers) as (_, client):
        compound = f"幂等{uuid.uuid4().int % 10**6:06d}小区"
        keyed = {**OUTAGE_SYSTEM, "Idempotency-Key": f"outage-{uuid.uuid4()}"}
        notice = _notice(compound)
        first = await client.post("/v1/outage-notices", json=notice, headers=keyed)
        assert first.status_code == 201, first.text
        retry = await client.post("/v1/outage-notices", json=notice, headers=keyed)
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
        assert retry.json() == first.json()
        assert await _notices(db, compound) == 1

        other = await client.post("/v1/outage-notices", json=_notice(compound + "二期"), headers=keyed)
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
        # The key is the credential's own: another caller's same key is another request (here refused: no role).
        same_key = {**as_("repair"), "Idempotency-Key": keyed["Idempotency-Key"]}
        theirs = await client.post("/v1/outage-notices", json=notice, headers=same_key)
        assert theirs.status_code == 403 and "idempotent-replayed" not in theirs.headers

        racing = f"幂等{uuid.uuid4().int % 10**6:06d}小区"
        raced = {**OUTAGE_SYSTEM, "Idempotency-Key": f"outage-{uuid.uuid4()}"}
        racing_notice = _notice(racing)
        answers = await asyncio.gather(
            *(client.post("/v1/outage-notices", json=racing_notice, headers=raced) for _ in range(6))
        )
        assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
        assert len({a.json()["outage_id"] for a in answers if a.status_code == 201}) == 1
        assert all(a.headers["retry-after"] == "1" for a in answers if a.status_code == 409)
        assert await _notices(db, racing) == 1

        unkeyed = await asyncio.gather(
            *(
                client.post("/v1/outage-notices", json=_notice(compound + "三期"), headers=OUTAGE_SYSTEM)
                for _ in range(2)
            )
        )
        assert [a.status_code for a in unkeyed] == [201, 201], "without a key, two notices: what the key is for"


async def test_followup_posts_honour_the_idempotency_key_too(migrated: Infrastructure) -> None:
    async with running_followup(migrated.database_url, migrated.kafka_bootstrap_servers) as (_, client):
        keyed = {"X-API-Key": "dev-only-agent-key", "Idempotency-Key": f"outcome-{uuid.uuid4()}"}
        body = {"outcome": "satisfied", "method": "phone"}
        path = f"/v1/callbacks/{uuid.uuid4()}/outcome"
        first = await client.post(path, json=body, headers=keyed)
        assert first.status_code == 404, first.text
        again = await client.post(path, json=body, headers=keyed)
        assert (again.status_code, again.headers["idempotent-replayed"]) == (404, "true")
        bad = await client.post(path, json=body, headers={**keyed, "Idempotency-Key": "no spaces allowed"})
        assert bad.status_code == 422 and "Idempotency-Key" in bad.text
