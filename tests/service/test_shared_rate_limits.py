"""Rate limits shared by a service's replicas through Postgres (issue 25, must-show 6; `shared.http.rate_counts`):
two app instances on the same database share one limit — the request past the limit summed over both is 429 with
`Retry-After`, on either instance — for the writes per credential every service limits and for intake's
submissions per customer phone; and the count is a sliding window, not a fixed one a burst could double across
its boundary (a fake clock, no sleep)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import httpx
from fastapi import FastAPI, Request

from shared.http.rate_counts import CountedWindow
from shared.http.service_app import create_service_app
from shared.settings import ServiceSettings
from tests.support.complaints import complaint, headers
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake


async def _ready(_: Request) -> dict[str, object]:
    return {}


def _replica(pool: asyncpg.Pool, limit: int) -> FastAPI:
    """One replica of a service (dispatch's schema): the shared app with its write limit, on the common pool."""
    app = create_service_app(
        title="replica", description="a replica", lifespan=None, readiness=_ready, rate_limit_schema="dispatch"
    )
    app.state.settings = ServiceSettings(app_env="prod", write_rate_limit_per_credential=limit)
    app.state.pool = pool

    @app.post("/v1/notes")
    async def note() -> dict[str, str]:
        return {"noted": "yes"}

    return app


@asynccontextmanager
async def _clients(*apps: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica")
            )
            for app in apps
        ]


async def test_two_replicas_share_one_write_limit_per_credential(db: asyncpg.Pool) -> None:
    limit = 4
    key = {"X-API-Key": f"replica-key-{uuid.uuid4()}"}
    async with _clients(_replica(db, limit), _replica(db, limit)) as (first, second):
        answers = [await client.post("/v1/notes", headers=key) for client in (first, second, first, second)]
        assert [a.status_code for a in answers] == [200] * limit, "each replica alone is under the limit"
        for client in (first, second):
            refused = await client.post("/v1/notes", headers=key)
            assert refused.status_code == 429, "past the limit summed over both replicas, on either"
            assert refused.headers["content-type"] == "application/problem+json"
            assert 1 <= int(refused.headers["retry-after"]) <= 120
        other = await second.post("/v1/notes", headers={"X-API-Key": f"replica-key-{uuid.uuid4()}"})
        assert other.status_code == 200, "another credential is not held up"
    counted = await db.fetchval(
        "SELECT sum(hits) FROM dispatch.rate_limit_counts WHERE scope = 'writes per credential' AND key = $1",
        hashlib.sha256(key["X-API-Key"].encode()).hexdigest(),
    )
    assert counted == limit, "one count for both replicas, kept under a hash; the refused ones add nothing"


async def test_two_intakes_share_one_limit_per_customer_phone(migrated: Infrastructure) -> None:
    per_phone = 3
    phone = f"137{uuid.uuid4().int % 10**8:08d}"

    def of(channel: str) -> dict[str, object]:
        body = complaint(channel)
        body["customer"] = {**body["customer"], "phone": phone}
        return body

    settings = {"intake_rate_limit_per_phone": per_phone}
    url, kafka = migrated.database_url, migrated.kafka_bootstrap_servers
    async with running_intake(url, kafka, **settings) as (_, a), running_intake(url, kafka, **settings) as (_, b):
        for client, channel in ((a, "web"), (b, "app"), (a, "wechat")):
            accepted = await client.post("/v1/complaints", json=of(channel), headers=headers(channel))
            assert accepted.status_code == 202, accepted.text
        refused = await b.post("/v1/complaints", json=of("email"), headers=headers("email"))
        assert refused.status_code == 429, "the second intake has seen one of the phone's submissions, not three"
        assert 1 <= int(refused.headers["Retry-After"]) <= 2 * 3600
        assert "per customer phone" in refused.json()["detail"]


async def test_the_shared_count_slides_across_a_window_boundary(db: asyncpg.Pool) -> None:
    """Limit 3 a minute, 3 at the start of a minute: a fixed window would let 3 more through a minute later; the
    sliding count still weighs the previous minute then, and lets one through only once a third of it has passed."""
    now = [60.0 * 29_000_000]  # the start of a window

    window = CountedWindow("dispatch", f"slide-{uuid.uuid4()}", 3, 60, lambda: now[0])
    assert [(await window.hit(db, "k")).allowed for _ in range(3)] == [True, True, True]
    refused = await window.hit(db, "k")
    assert not refused.allowed and refused.retry_after_s == 80, "into the next minute, until 2/3 of 3 remain"
    now[0] += 60
    assert (await window.hit(db, "k")).retry_after_s == 20
    now[0] += 19
    assert not (await window.hit(db, "k")).allowed
    now[0] += 1
    assert (await window.hit(db, "k")).allowed
    assert not (await window.hit(db, "k")).allowed, "2 of the old minute's share + 1 new: full again"
    assert (await window.hit(db, "another key")).allowed
