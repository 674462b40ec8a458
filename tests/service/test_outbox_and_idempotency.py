"""The outbox relay and the idempotent-consumer record, against real Postgres and the real broker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from shared import outbox
from shared.contracts import ComplaintContact
from shared.contracts.envelope import Event
from shared.db import create_pool, json_text, transactions, unit_of_work
from shared.handling import Door, Work
from shared.idempotency import first_deliveries
from shared.observability import committed, tracing
from shared.topics import COMPLAINT_CONTACT
from tests.support.infrastructure import Infrastructure
from tests.support.kafka import read_topic, wait_until
from tests.support.outbox_events import contact_event

SCHEMA = "intake"


def _event(batch: str) -> ComplaintContact:
    return contact_event(batch)


async def test_two_relays_publish_every_row_exactly_once(migrated: Infrastructure, db: asyncpg.Pool) -> None:
    batch = f"relay-{uuid.uuid4()}"
    events = [_event(batch) for _ in range(3000)]
    stop = asyncio.Event()
    # A relay that claimed nothing looks again after 50 ms, not the default second: in CI70 the other's claim took
    # the advisory locks of every row its scan read (before `outbox.CLAIM_WINDOW`), and that relay was done before
    # the first looked again; a claim now locks only its batch, but an idle relay still must not sleep out the test.
    relays = [
        outbox.OutboxRelay(db, SCHEMA, migrated.kafka_bootstrap_servers, batch_size=50, poll_interval=0.05)
        for _ in range(2)
    ]
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    try:
        # Both connected before the rows are written, so the commit's NOTIFY wakes both: written first, the rows
        # were all taken by whichever relay reached Kafka first while the other was still connecting (a CI run).
        await wait_until(lambda: all(r.connected for r in relays), timeout=30, interval=0.05)
        async with unit_of_work(db) as uow:
            await outbox.add(uow.conn, SCHEMA, events)
            uow.commit()
        wanted = {str(e.event_id) for e in events}
        records = await read_topic(
            migrated.kafka_bootstrap_servers,
            COMPLAINT_CONTACT,
            until=lambda rs: wanted <= {r.headers.get("event_id") for r in rs},
            timeout=60,
            settle=1.0,
        )
        mine = [r.headers["event_id"] for r in records if r.headers.get("correlation_id") == batch]
        assert len(mine) == 3000 and set(mine) == wanted, "each row published once, none lost"
        assert all(r.published > 0 for r in relays), "both relays took a share of the rows"
        await wait_until(lambda: _left(db, batch), timeout=10)
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def _left(db: asyncpg.Pool, batch: str) -> bool:
    return await db.fetchval("SELECT count(*) FROM intake.outbox WHERE headers->>'correlation_id' = $1", batch) == 0


async def test_rolled_back_work_leaves_no_event(db: asyncpg.Pool) -> None:
    event = _event("rollback")
    async with unit_of_work(db) as uow:
        await outbox.add(uow.conn, SCHEMA, [event])  # no commit(): the unit of work rolls back
    assert await db.fetchval("SELECT count(*) FROM intake.outbox WHERE event_id = $1", event.event_id) == 0


def _introspection(query: str) -> bool:
    """asyncpg's reading of a type's definition (with JIT off for it), once per connection and statement type."""
    return "pg_catalog" in query or "set_config('jit'" in query


async def test_a_unit_writes_its_events_in_one_statement_in_their_order_and_notifies_once(db: asyncpg.Pool) -> None:
    events = [_event("one-statement") for _ in range(50)]
    statements: list[str] = []
    woken: list[object] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        if not _introspection(record.query):
            statements.append(record.query)

    def wake(*args: object) -> None:
        woken.append(args)

    listener = await db.acquire()
    await listener.add_listener(outbox.notify_channel(SCHEMA), wake)
    try:
        async with unit_of_work(db) as uow:
            uow.conn.add_query_logger(log)
            assert await outbox.add(uow.conn, SCHEMA, events) == 50
            assert await outbox.add(uow.conn, SCHEMA, []) == 0
            uow.conn.remove_query_logger(log)
            uow.commit()
        await asyncio.sleep(0.3)
        rows = await db.fetch(
            "SELECT event_id, topic, key, payload, headers FROM intake.outbox WHERE event_id = ANY($1::uuid[]) "
            "ORDER BY id",
            [e.event_id for e in events],
        )
    finally:
        await listener.remove_listener(outbox.notify_channel(SCHEMA), wake)
        await db.release(listener)
        await db.execute("DELETE FROM intake.outbox WHERE event_id = ANY($1::uuid[])", [e.event_id for e in events])
    assert len(statements) == 1, statements
    assert len(woken) == 1, "one notification for the transaction"
    assert [r["event_id"] for r in rows] == [e.event_id for e in events], "ids (the relay's order) follow the events"
    for row, event in zip(rows, events, strict=True):
        assert (row["topic"], row["key"]) == (event.topic, str(event.complaint_id))
        assert bytes(row["payload"]) == event.model_dump_json().encode()
        assert row["headers"] == event.headers() | tracing.headers_for(str(event.complaint_id))


async def first_delivery(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID) -> bool:
    return event_id in await first_deliveries(conn, SCHEMA, consumer, [event_id])


async def test_a_processed_event_is_recognised_even_when_racing(db: asyncpg.Pool) -> None:
    event_id = uuid.uuid4()

    async def deliver() -> bool:
        async with unit_of_work(db) as uow:
            first = await first_delivery(uow.conn, "test-consumer", event_id)
            await asyncio.sleep(0.05)  # hold the transaction open so the deliveries really overlap
            uow.commit()
            return first

    results = await asyncio.gather(*(deliver() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    async with unit_of_work(db) as uow:
        assert await first_delivery(uow.conn, "another-consumer", event_id), "per consumer"


async def test_a_rolled_back_effect_does_not_mark_the_event(db: asyncpg.Pool) -> None:
    event_id = uuid.uuid4()
    async with unit_of_work(db) as uow:
        assert await first_delivery(uow.conn, "test-consumer", event_id)
    async with unit_of_work(db) as uow:
        assert await first_delivery(uow.conn, "test-consumer", event_id), "redelivery after a rollback runs"


async def test_one_statement_marks_a_batch_and_a_redelivered_id_is_not_returned(db: asyncpg.Pool) -> None:
    old, new = uuid.uuid4(), [uuid.uuid4() for _ in range(499)]
    async with unit_of_work(db) as uow:
        assert await first_deliveries(uow.conn, SCHEMA, "test-consumer", [old]) == {old}
        uow.commit()
    statements: list[str] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        if not _introspection(record.query):
            statements.append(record.query)

    async with unit_of_work(db) as uow:
        uow.conn.add_query_logger(log)
        try:
            fresh = await first_deliveries(uow.conn, SCHEMA, "test-consumer", [*new[:250], old, *new[250:], new[0]])
        finally:
            uow.conn.remove_query_logger(log)
        uow.commit()
    assert fresh == set(new), "the redelivered id (and the batch's own repeat) is not returned"
    assert len(statements) == 1 and statements[0].lstrip().startswith("INSERT"), statements
    async with unit_of_work(db) as uow:
        assert await first_deliveries(uow.conn, SCHEMA, "test-consumer", new) == set(), "all marked, once"
        assert await first_deliveries(uow.conn, SCHEMA, "test-consumer", []) == set()


async def test_transactions_racing_on_the_same_ids_never_both_get_one(db: asyncpg.Pool) -> None:
    """Overlapping batches in opposite orders: the sorted insert makes them wait in one order (no deadlock), and each
    id goes to exactly one of them."""
    ids = [uuid.uuid4() for _ in range(200)]
    batches = [ids, ids[::-1], ids[50:150] + ids[:10], ids[1::2][::-1]]  # the pool lends 5 connections
    started = asyncio.Barrier(len(batches))

    async def deliver(batch: list[uuid.UUID]) -> set[uuid.UUID]:
        async with unit_of_work(db) as uow:
            await started.wait()
            fresh = await first_deliveries(uow.conn, SCHEMA, "racing-consumer", batch)
            await asyncio.sleep(0.05)  # hold the marks so the others wait on them
            uow.commit()
            return fresh

    results = await asyncio.wait_for(asyncio.gather(*(deliver(b) for b in batches)), timeout=30)
    assert sum(len(r) for r in results) == len(ids), "no id handed out twice"
    assert set().union(*results) == set(ids), "none lost"


async def test_events_reach_the_process_metrics_only_once_their_transaction_committed(db: asyncpg.Pool) -> None:
    seen: list[object] = []

    def observer(items: object) -> None:
        seen.extend(items)  # type: ignore[call-overload]

    forget = committed.observe(observer)
    kept, dropped = _event("metrics-commit"), _event("metrics-rollback")
    try:
        async with unit_of_work(db) as uow:
            await outbox.add(uow.conn, SCHEMA, [dropped])
            committed.note(["a fact of the rolled-back work"])
            assert seen == [], "nothing is counted before the commit"
        async with unit_of_work(db) as uow:
            await outbox.add(uow.conn, SCHEMA, [kept])
            committed.note(["a fact of the committed work"])
            uow.commit()
            assert seen == []
    finally:
        forget()
    assert seen == [kept, "a fact of the committed work"]
    await db.execute("DELETE FROM intake.outbox WHERE event_id = $1", kept.event_id)  # no relay runs here


class _Wire(asyncpg.Connection):
    """A connection that notes every statement it sends, the pool's reset on release included."""

    sent: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent = _WIRE
        self.add_query_logger(self._note)

    def _note(self, record: asyncpg.connection.LoggedQuery) -> None:
        if not _introspection(record.query):
            self.sent.append(record.query)


_WIRE: list[str] = []


@dataclass
class _Repository:
    """What the door needs, on Postgres (as every service's repository does it)."""

    conn: asyncpg.Connection

    async def first_deliveries(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return await first_deliveries(self.conn, SCHEMA, consumer, event_ids)

    async def add_to_outbox(self, events: Sequence[Event]) -> None:
        await outbox.add(self.conn, SCHEMA, events)


async def _relay_contacts(events: Sequence[ComplaintContact], work: Work[_Repository, None]) -> None:
    work.emit(_event("wire-out") for _ in events)


async def test_a_batch_costs_four_statements_on_the_wire_whatever_its_size(migrated: Infrastructure) -> None:
    """BEGIN, the dedupe marks, the outbox (with its NOTIFY), COMMIT — and nothing on release (`shared.db`'s
    `_keep_session`); asyncpg's default reset would send one more per unit. One statement per event per step before
    (a mark each, an executemany row each, then pg_notify): 2N + 4 and the reset for a batch of N."""
    consumer = f"wire-{uuid.uuid4()}"
    figures: dict[str, list[int]] = {}
    for name, reset in (("kept session", {}), ("asyncpg's default reset", {"reset": None})):
        pool = await create_pool(migrated.database_url, min_size=1, max_size=1, connection_class=_Wire, **reset)
        try:
            door: Door[_Repository, None] = Door(transactions(pool, _Repository), None)
            figures[name] = []
            for size in (1, 10, 100):
                batch = [_event("wire") for _ in range(size)]
                await door.batch(_relay_contacts, batch, consumer=consumer)  # a first use: asyncpg reads types
                _WIRE.clear()
                await door.batch(_relay_contacts, [_event("wire") for _ in range(size)] + batch, consumer=consumer)
                figures[name].append(len(_WIRE))
        finally:
            await pool.execute("DELETE FROM intake.outbox WHERE headers->>'correlation_id' = 'wire-out'")  # no relay
            await pool.close()
    print("statements per batch of 1, 10, 100:", figures)  # the report's figures, read with -s
    assert figures == {"kept session": [4, 4, 4], "asyncpg's default reset": [5, 5, 5]}


async def test_the_jsonb_codecs_store_and_return_what_the_json_module_did(db: asyncpg.Pool) -> None:
    values: list[Any] = [
        {"event_id": str(uuid.uuid4()), "traceparent": "00-ab-cd-01", "nested": {"list": [1, 2.5, None, True]}},
        {1: "int keys become strings", "ünïcode": "投诉 \u2028", "empty": {}, "tuple": (1, 2)},
        ["a", 0, -1, 1e-7, 12345678901234567],
        "a string",  # (None is SQL NULL: asyncpg sends it without the codec)
    ]
    for value in values:
        assert await db.fetchval("SELECT $1::jsonb = $2::text::jsonb", value, json.dumps(value)), value
        assert await db.fetchval("SELECT $1::jsonb", value) == json.loads(json.dumps(value))
        assert json_text(value) and json.loads(json_text(value)) == json.loads(json.dumps(value))
    for refused in (datetime.now(UTC), {"at": datetime.now(UTC)}, {1.5j}):
        with pytest.raises(TypeError):
            json_text(refused)
        with pytest.raises(TypeError):
            json.dumps(refused)
