"""Issue 26: a database that says "try later" is not bad data (`shared.db_errors`). By SQLSTATE: read-only after a
failover, disk full, out of memory, shut down, crashed, cancelled, a lock not available now — redelivered by the
consumers (never dead-lettered, with a pause that grows while the outage lasts) and 503 with Retry-After over HTTP;
a constraint, a bad value or our own SQL's refusal stays what it was."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest
from aiokafka import ConsumerRecord
from fastapi import Request
from pydantic import BaseModel

from shared.db_errors import database_unavailable, dependency_unavailable
from shared.http.service_app import create_service_app
from shared.kafka.consumer import MAX_TRANSIENT_PAUSE_S, GuardedHandler

TRY_LATER = [
    asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),  # 25006
    asyncpg.exceptions.DiskFullError("could not extend file"),  # 53100
    asyncpg.exceptions.OutOfMemoryError("out of memory"),  # 53200
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
    asyncpg.exceptions.CrashShutdownError("terminating connection because of crash of another process"),  # 57P02
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),  # 57014
    asyncpg.exceptions.LockNotAvailableError("could not obtain lock on row"),  # 55P03
    asyncpg.exceptions.SerializationError("could not serialize access"),  # 40001
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),  # 53300
    ConnectionResetError("connection reset by peer"),
]
THE_WORK_ITSELF = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value"),  # 23505
    asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax for type uuid"),  # 22P02
    asyncpg.exceptions.RaiseError("our own SQL refused it"),  # P0001
    asyncpg.exceptions.UndefinedColumnError("column does not exist"),  # 42703
    ValueError("a bug"),
]


@pytest.mark.parametrize("error", TRY_LATER, ids=lambda e: type(e).__name__)
def test_what_the_database_cannot_do_now_is_try_later(error: Exception) -> None:
    assert database_unavailable(error) and dependency_unavailable(error)


@pytest.mark.parametrize("error", THE_WORK_ITSELF, ids=lambda e: type(e).__name__)
def test_what_is_wrong_with_the_work_is_not(error: Exception) -> None:
    assert not database_unavailable(error) and not dependency_unavailable(error)


class Note(BaseModel):
    n: int


class Broker:
    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish(self, value: bytes, *, topic: str, key: object, headers: object) -> None:
        self.published.append(topic)


async def test_a_read_only_database_redelivers_with_a_growing_pause_and_dead_letters_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pauses: list[float] = []

    async def no_wait(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr("shared.kafka.consumer.asyncio.sleep", no_wait)
    broker, failures, handled = Broker(), [TRY_LATER[0]] * 6, []

    async def handle(batch: list[Note]) -> None:
        if failures:
            raise failures.pop()
        handled.extend(note.n for note in batch)

    guard = GuardedHandler(broker=broker, consumer="test", model=Note, handle=handle, transient_pause_s=1.0)
    record = ConsumerRecord("notes", 0, 0, 0, 0, b"k", json.dumps({"n": 1}).encode(), None, 1, 7, [])
    for _ in range(6):  # Kafka redelivers the nacked record each time
        with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
            await guard._handle_records([record])
    await guard._handle_records([record])
    assert handled == [1] and broker.published == [] and guard.dead_lettered == 0
    assert pauses == [1.0, 2.0, 4.0, MAX_TRANSIENT_PAUSE_S, MAX_TRANSIENT_PAUSE_S, MAX_TRANSIENT_PAUSE_S]
    failures.append(TRY_LATER[1])
    with pytest.raises(asyncpg.exceptions.DiskFullError):
        await guard._handle_records([record])
    assert pauses[-1] == 1.0, "a success ends the outage: the next pause starts short again"


@pytest.mark.parametrize(("error", "status"), [(TRY_LATER[0], 503), (TRY_LATER[6], 503), (THE_WORK_ITSELF[3], 500)])
async def test_over_http_try_later_is_503_with_retry_after(error: Exception, status: int) -> None:
    async def ready(_: Request) -> dict[str, object]:
        return {}

    app = create_service_app(title="t", description="d", lifespan=None, readiness=ready)

    @app.post("/v1/things")
    async def write() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        answer = await http.post("/v1/things")
    assert answer.status_code == status
    assert ("retry-after" in answer.headers) == (status == 503)
