"""What one `POST /v1/complaints` costs Postgres, counted on the wire: statements, pool connections, commits.

Every connection of this intake's pool is wrapped while the submissions run (intake in-process with its relay;
other apps the test process may be running, and their pools, are not counted): a statement is a query sent
(`execute`, `fetch*`; an `executemany` counts its rows, each executed by the server), a connection is a pool
acquire, a commit is a `COMMIT`. The rate limits are on (set far above what the test sends): they are counted in
the process and synced by a background task (`shared.http.rate_counts`), which is counted apart, as is what intake's
Kafka consumers do meanwhile with other tests' events. The door's outbox write (`shared.outbox.add`, the same
for every service) is counted apart from intake's own statements. What the outbox relay does to publish afterwards is
counted apart (it runs in its own task, woken by the submission's NOTIFY), as is the pool's reset on release.
The figures are in intake's README; the bounds below keep them from creeping back.
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import asyncpg
import pytest
from asyncpg.connection import Connection
from fastapi import FastAPI

from services.intake.reference import format_reference
from tests.support.complaints import complaint, headers
from tests.support.infrastructure import Infrastructure
from tests.support.intake import running_intake

SUBMISSIONS = 20
KEY = f"round-trips-{uuid.uuid4()}"


def _origin(query: str = "") -> str:
    """Who sent it: the rate limits' sync, a Kafka consumer, the outbox relay, the pool (its reset on release) or
    the request (its outbox write apart)."""
    files = [frame.filename for frame in traceback.extract_stack()]
    if any(f.endswith("shared/http/rate_counts.py") for f in files):
        return "rate limit sync"
    if any("/faststream/" in f for f in files):
        return "consumer"
    if ".outbox" in query and query.lstrip().upper().startswith(("INSERT", "WITH")):
        return "request outbox"
    if any(f.endswith("shared/outbox.py") for f in files) and not any("handling.py" in f for f in files):
        return "relay"
    if any(f.endswith("asyncpg/pool.py") for f in files) and not any("handling.py" in f for f in files):
        return "pool"
    return "request"


def _of(connection: Connection, pool: asyncpg.Pool) -> bool:
    proxy = getattr(connection, "_proxy", None)
    return proxy is not None and proxy._holder._pool is pool


@contextmanager
def counting(pool: asyncpg.Pool) -> Iterator[Counter[str]]:
    """Count statements, acquires and commits on the connections of `pool` while the block runs."""
    seen: Counter[str] = Counter()
    execute, execute_args, executemany = Connection.execute, Connection._execute, Connection._executemany
    acquire = asyncpg.pool.Pool.acquire

    async def counted_execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args and _of(self, pool):  # with arguments it goes through `_execute`, counted there
            origin = _origin(query)
            seen[f"{origin} statements"] += 1
            if query.strip().rstrip(";").upper() == "COMMIT":
                seen[f"{origin} commits"] += 1
        return await execute(self, query, *args, **kwargs)

    async def counted_execute_args(self: Connection, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        if _of(self, pool):
            seen[f"{_origin(query)} statements"] += 1
        return await execute_args(self, query, args, *rest, **kwargs)

    async def counted_executemany(self: Connection, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        rows = list(args)
        if _of(self, pool):
            seen[f"{_origin(query)} statements"] += len(rows)
        return await executemany(self, query, rows, *rest, **kwargs)

    def counted_acquire(self: asyncpg.Pool, *args: Any, **kwargs: Any) -> Any:
        if self is pool:
            seen[f"{_origin()} connections"] += 1
        return acquire(self, *args, **kwargs)

    patches = {
        "execute": counted_execute,
        "_execute": counted_execute_args,
        "_executemany": counted_executemany,
    }
    originals = {name: getattr(Connection, name) for name in patches}
    try:
        for name, patched in patches.items():
            setattr(Connection, name, patched)
        asyncpg.pool.Pool.acquire = counted_acquire  # type: ignore[method-assign]
        yield seen
    finally:
        for name, original in originals.items():
            setattr(Connection, name, original)
        asyncpg.pool.Pool.acquire = acquire  # type: ignore[method-assign]


def per_submission(seen: Counter[str]) -> dict[str, float]:
    return {name: round(count / SUBMISSIONS, 2) for name, count in sorted(seen.items())}


#: On, far above what the test sends: the limits must cost the request nothing.
LIMITS = {
    "intake_rate_limit_per_credential": 10**6,
    "intake_rate_limit_per_phone": 10**6,
    "write_rate_limit_per_credential": 10**6,
}


@pytest.fixture(scope="module")
async def intake(migrated: Infrastructure) -> Any:
    async with running_intake(migrated.database_url, migrated.kafka_bootstrap_servers, **LIMITS) as running:
        yield running


async def test_a_submission_is_one_connection_one_statement_and_one_commit(intake: tuple[FastAPI, Any]) -> None:
    app, intake = intake
    warm = await intake.post("/v1/complaints", json=complaint("web"), headers=headers("web"))
    assert warm.status_code == 202, warm.text
    await asyncio.sleep(0.5)
    with counting(app.state.pool) as seen:
        for _ in range(SUBMISSIONS):
            response = await intake.post("/v1/complaints", json=complaint("web"), headers=headers("web"))
            assert response.status_code == 202, response.text
        await asyncio.sleep(0.5)  # let the relay publish what the last one wrote
    figures = per_submission(seen)
    print("per submission:", figures)  # the README's figures, read with -s
    assert figures["request connections"] == 1
    assert figures["request commits"] == 1
    # BEGIN, the submission, COMMIT; and the door's outbox write (shared.outbox: its own count).
    assert figures["request statements"] <= 3


async def test_a_retry_is_answered_with_the_same_cost(intake: tuple[FastAPI, Any]) -> None:
    app, intake = intake
    body = complaint("web")
    first = await intake.post("/v1/complaints", json=body, headers=headers("web", **{"Idempotency-Key": KEY}))
    assert first.status_code == 202, first.text
    with counting(app.state.pool) as seen:
        for _ in range(SUBMISSIONS):
            again = await intake.post("/v1/complaints", json=body, headers=headers("web", **{"Idempotency-Key": KEY}))
            assert again.json()["complaint_id"] == first.json()["complaint_id"]
    figures = per_submission(seen)
    print("per retry:", figures)
    assert figures["request connections"] == 1
    assert figures["request statements"] <= 3


async def test_the_sql_reference_number_is_the_python_one(db: asyncpg.Pool) -> None:
    day = date(2026, 12, 5)
    for sequence in (1, 42, 999_999, 1_000_000, 12_345_678):
        assert await db.fetchval("SELECT intake.reference_no($1, $2)", day, sequence) == format_reference(day, sequence)


async def test_a_days_sequence_is_created_once_when_two_submissions_race_to_it(db: asyncpg.Pool) -> None:
    day = date(2031, 1, 1)
    async with db.acquire() as first, db.acquire() as second:
        first_tx, second_tx = first.transaction(), second.transaction()
        await first_tx.start()
        await second_tx.start()
        assert await first.fetchval("SELECT intake.next_reference_sequence($1)", day) == 1
        # The second waits for the first's uncommitted sequence, then takes the next number from it.
        racing = asyncio.ensure_future(second.fetchval("SELECT intake.next_reference_sequence($1)", day))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await first_tx.commit()
        assert await racing == 2
        await second_tx.rollback()
    # Not transactional: the rolled-back 2 stays taken.
    assert await db.fetchval("SELECT intake.next_reference_sequence($1)", day) == 3


async def test_a_day_numbered_by_the_old_counter_continues_after_it(db: asyncpg.Pool) -> None:
    day = date(2031, 1, 2)
    await db.execute("INSERT INTO intake.reference_counters (day, last_value) VALUES ($1, 41)", day)
    assert await db.fetchval("SELECT intake.next_reference_sequence($1)", day) == 42
