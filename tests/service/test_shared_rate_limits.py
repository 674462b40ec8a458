"""Rate limits shared by a service's replicas through Postgres (issue 25, must-show 6; `shared.http.rate_counts`):
two app instances on the same database share one limit — once they have synced (the background sync's one
statement, called here explicitly instead of waiting for `RATE_LIMIT_SYNC_SECONDS`), the request past the limit
summed over both is 429 with `Retry-After`, on either instance — for the writes per credential every service
limits and for intake's submissions per customer phone; the sync task runs with the lifespan and survives a
database that is away; and the count is a sliding window, not a fixed one a burst could double across its
boundary (a fake clock, no sleep). The channels status page's limits are shared the same way: wrong guesses made
on one replica lock the reference on the other, and a client's lookups count on both."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import httpx
from fastapi import FastAPI, Request

from services.channels.status.limiter import LookupLimits
from shared.http.rate_counts import RateCounts
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
    replicas = _replica(db, limit), _replica(db, limit)
    async with _clients(*replicas) as (first, second):
        answers = [await client.post("/v1/notes", headers=key) for client in (first, second, first, second)]
        assert [a.status_code for a in answers] == [200] * limit, "each replica alone is under the limit"
        for replica in (*replicas, replicas[0]):  # the first learns what the second added after its own sync
            await replica.state.rate_counts.sync(db)
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
    before = _syncing()  # other apps' sync tasks the test process may be running
    async with (
        running_intake(url, kafka, **settings) as (app_a, a),
        running_intake(url, kafka, **settings) as (app_b, b),
    ):
        for client, channel in ((a, "web"), (b, "app"), (a, "wechat")):
            accepted = await client.post("/v1/complaints", json=of(channel), headers=headers(channel))
            assert accepted.status_code == 202, accepted.text
        syncing = [t for t in _syncing() if t not in before]
        assert len(syncing) == 2, "each intake's lifespan runs its sync task"
        for app in (app_a, app_b):  # now, rather than waiting for the next tick
            await app.state.rate_counts.sync(app.state.pool)
        refused = await b.post("/v1/complaints", json=of("email"), headers=headers("email"))
        assert refused.status_code == 429, "the second intake has seen one of the phone's submissions, not three"
        assert 1 <= int(refused.headers["Retry-After"]) <= 2 * 3600
        assert "per customer phone" in refused.json()["detail"]
    assert all(t.done() for t in syncing), "and stops it with the app"


def _syncing() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name() == "rate-limit-sync" and not t.done()}


async def test_the_shared_count_slides_across_a_window_boundary(db: asyncpg.Pool) -> None:
    """Limit 3 a minute, 3 at the start of a minute on one replica: a fixed window would let 3 more through a
    minute later; the other replica, synced, still weighs the previous minute then, and lets one through only once
    a third of it has passed."""
    now = [60.0 * 29_000_000]  # the start of a window
    scope = f"slide-{uuid.uuid4()}"
    counts = [RateCounts("dispatch"), RateCounts("dispatch")]
    first, second = (c.limit(scope, 3, 60, wall=lambda: now[0], monotonic=lambda: now[0]) for c in counts)
    assert second.hit("k").allowed, "the second replica counts the key first: it now syncs it"
    assert [first.hit("k").allowed for _ in range(2)] == [True, True]
    for each in (*counts, counts[0]):
        await each.sync(db)
    refused = first.hit("k")
    assert not refused.allowed and refused.retry_after_s == 80, "into the next minute, until 2/3 of 3 remain"
    assert not second.hit("k").allowed
    now[0] += 60
    assert second.hit("k").retry_after_s == 20
    now[0] += 19
    assert not second.hit("k").allowed
    now[0] += 1
    assert second.hit("k").allowed
    assert not second.hit("k").allowed, "2 of the old minute's share + 1 new: full again"
    assert second.hit("another key").allowed


async def test_the_sync_task_survives_a_database_away(migrated: Infrastructure, db: asyncpg.Pool) -> None:
    """A failing database does not stop the sync task (or the app): it logs and retries at its next tick; the
    process's own window still limits meanwhile, and what it let through reaches the table once Postgres is back."""
    counts = RateCounts("dispatch")
    limit = counts.limit(f"away-{uuid.uuid4()}", 2, 60, wall=time.time, monotonic=time.monotonic)
    assert limit.hit("k").allowed and limit.hit("k").allowed
    away = await asyncpg.create_pool(migrated.database_url, min_size=1, max_size=1)
    await away.close()  # every sync through it fails
    tried: list[asyncpg.Pool] = []

    def pool() -> asyncpg.Pool:
        tried.append(away if len(tried) < 3 else db)
        return tried[-1]

    stop = asyncio.Event()
    task = asyncio.create_task(counts.run(pool, 0.02, stop))
    total = f"SELECT sum(hits) FROM dispatch.rate_limit_counts WHERE scope = '{limit.scope}'"
    deadline = time.monotonic() + 5
    while not await db.fetchval(total):
        assert not task.done(), "a failed sync does not end the task"
        assert time.monotonic() < deadline, "the counts are synced once the database is back"
        await asyncio.sleep(0.02)
    assert len(tried) >= 4 and not limit.hit("k").allowed, "the local gate held throughout"
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert await db.fetchval(total) == 2, "each request counted once, the failed syncs' deltas kept for the next"


def _status_replicas(now: list[float], **limits: int) -> tuple[list[RateCounts], list[LookupLimits]]:
    """Two channels processes' status page limits, each on its own `RateCounts` of channels' schema."""
    counts = [RateCounts("channels"), RateCounts("channels")]
    return counts, [LookupLimits(lambda: now[0], counts=c, secret="status-test", **limits) for c in counts]


async def test_wrong_guesses_on_one_replica_lock_the_reference_on_the_other(db: asyncpg.Pool) -> None:
    now = [float(int(time.time()) // 3600 * 3600)]  # the start of the hour's fixed window
    counts, (first, second) = _status_replicas(now, per_client=100, failures=3)
    reference, customer = f"TS-{uuid.uuid4().hex[:12]}", f"customer-{uuid.uuid4()}"
    assert second.admit(customer, reference).allowed, "the second has only looked the reference up (right digits)"
    for n in range(3):
        assert first.admit(f"guesser-{n}-{uuid.uuid4()}", reference).allowed
        first.failed(reference)
    assert second.admit(customer, reference).allowed, "before a sync the second knows none of the failures"
    for each in counts:
        await each.sync(db)
    now[0] += 600
    locked = second.admit(customer, reference.lower())
    assert not locked.allowed, "the failures counted on the first lock the reference on the second"
    assert locked.retry_after_s == 3000, "for the rest of the hour"
    assert first.admit(customer, reference).retry_after_s == 3000, "an hour after the failures, on the first"
    assert second.admit(customer, f"TS-{uuid.uuid4().hex[:12]}").allowed, "another reference is not locked"
    now[0] += 3000
    assert second.admit(customer, reference).allowed and first.admit(customer, reference).allowed, "the next hour"
    hashed = hmac.new(b"status-test", f"reference:{reference.upper()}".encode(), hashlib.sha256).hexdigest()
    counted = "SELECT sum(hits) FROM channels.rate_limit_counts WHERE scope = $1 AND key = $2"
    assert await db.fetchval(counted, first.references.scope, hashed) == 3, "one count for both, under a keyed hash"
    in_clear = "SELECT count(*) FROM channels.rate_limit_counts WHERE strpos(key, $1) > 0"
    assert await db.fetchval(in_clear, reference.upper()) == 0, "never the reference number in clear"


async def test_a_clients_lookups_count_on_every_replica(db: asyncpg.Pool) -> None:
    now = [float(int(time.time()) // 60 * 60)]
    counts, (first, second) = _status_replicas(now, per_client=3)
    client = f"client-{uuid.uuid4()}"
    for limits in (first, second, first):
        assert limits.admit(client, f"TS-{uuid.uuid4().hex[:12]}").allowed
    for each in (*counts, counts[0]):  # the first learns what the second counted after its own sync
        await each.sync(db)
    for limits in (first, second):
        refused = limits.admit(client, f"TS-{uuid.uuid4().hex[:12]}")
        assert not refused.allowed, "three lookups summed over both replicas, on either"
        assert 1 <= refused.retry_after_s <= 120
    assert second.admit(f"{client}-other", "TS-1").allowed, "another client is not held up"
