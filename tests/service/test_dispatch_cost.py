"""What routing a received complaint costs in Postgres: statements (round trips) and commits per complaint, counted
on the real repository, for one complaint alone and for a batch of 50 (issue 27).

A counting stand-in wraps the unit of work's connection, so every statement the repository sends — the
processed-event marks, the outbox, the locks, the reads and the writes — is counted once; `BEGIN` and `COMMIT` of the
door's transaction are two more per batch and are counted separately. The figures are printed (`-s`) and kept in
services/dispatch/README.md ("Cost per complaint"); the assertions hold the batch to its set-based shape.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.dispatch.classification import load_rules
from services.dispatch.handlers import contacts, route
from services.dispatch.handlers.context import DispatchContext
from services.dispatch.repository import PostgresDispatchRepository
from shared.contracts import ComplaintContact, ComplaintReceived
from shared.db import create_pool, transactions
from shared.handling import Door
from shared.sla import load_sla_table
from tests.support.dispatch import contact_for, received
from tests.support.infrastructure import Infrastructure

_SENDS = ("execute", "executemany", "fetch", "fetchrow", "fetchval", "copy_records_to_table")


class CountingConnection:
    """The unit of work's connection, counting each statement sent (by its first words) before passing it on."""

    def __init__(self, conn: asyncpg.Connection, counts: Counter[str]) -> None:
        self._conn, self._counts = conn, counts

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._conn, name)
        if name not in _SENDS:
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            sql = str(args[0]) if args else name
            self._counts[" ".join(sql.split()[:3])] += 1
            return await attribute(*args, **kwargs)

        return counted


@pytest.fixture
async def pool(migrated: Infrastructure) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(migrated.database_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


def _walk_complaint(i: int) -> ComplaintReceived:
    """The README's walk: an account of its own, valid, not settled on contact, about no grouped fault, nothing
    open on the account — a new work order; its customer matched by intake (v4: the household is looked up)."""
    event = received(
        f"第{i}号：我家电表读数不对，这个月电费比上个月多了两倍。",
        account_no=f"COST-{uuid.uuid4().hex[:10]}",
        channel="web",
    )
    matched = {"customer_id": uuid.uuid4(), "matched_by": "new"}
    return event.model_copy(update={"payload": event.payload.model_copy(update=matched)})


def _storm_call(i: int, station: str) -> ComplaintReceived:
    """A caller of one fault: no heat at one heat-exchange station (the third household opens an incident)."""
    location = {"address": f"和平区长青小区{i}号楼", "district": "heping"}
    return received(
        "从早上开始暖气一点都不热，室温只有15度，请派人来看看。",
        account_no=f"COST-{uuid.uuid4().hex[:10]}",
        location={**location, "asset": {"type": "heat_exchange_station", "id": station}},
    )


async def _route(pool: asyncpg.Pool, context: DispatchContext, batch: list[ComplaintReceived]) -> Counter[str]:
    counts: Counter[str] = Counter()
    door = Door(transactions(pool, lambda conn: PostgresDispatchRepository(CountingConnection(conn, counts))), context)
    await door.batch(route.received, batch, consumer=f"cost-{uuid.uuid4().hex[:6]}")
    return counts


async def test_cost_per_routed_complaint(pool: asyncpg.Pool) -> None:
    context = DispatchContext(rules=load_rules(), sla=load_sla_table())  # built once, as the service does
    await _route(pool, context, [_walk_complaint(0)])  # warm: the asset index, the model, the statement cache
    figures = {}
    for n in (1, 50):
        batch = [_walk_complaint(i) for i in range(n)]
        counts = await _route(pool, context, batch)
        statements = sum(counts.values())
        routed = await pool.fetchval(
            "SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = ANY($1::uuid[])",
            [e.complaint_id for e in batch],
        )
        assert routed == n
        figures[n] = statements
        # One transaction per batch: BEGIN and COMMIT beside the statements counted.
        print(f"\nN={n}: {statements} statements (+ BEGIN, COMMIT), {statements / n:.2f} per complaint, 1 commit")
        for sql, times in counts.most_common():
            print(f"  {times:4d}  {sql}")
    # Set-based: a batch of 50 costs what one complaint does (before: 12 statements for one, 453 for 50).
    assert figures[50] == figures[1] <= 12


async def test_cost_of_a_storm_batch(pool: asyncpg.Pool) -> None:
    """50 callers of one fault in one batch: the incident opens at the third and the others join it, each reading
    and changing the incident (not set-based: every join reads the households the batch wrote before it)."""
    context = DispatchContext(rules=load_rules(), sla=load_sla_table())
    await _route(pool, context, [_walk_complaint(0)])
    station = f"HES-C{uuid.uuid4().hex[:6].upper()}"
    batch = [_storm_call(i, station) for i in range(50)]
    counts = await _route(pool, context, batch)
    statements = sum(counts.values())
    print(f"\nstorm N=50: {statements} statements (+ BEGIN, COMMIT), {statements / 50:.2f} per complaint, 1 commit")
    for sql, times in counts.most_common():
        print(f"  {times:4d}  {sql}")
    joined = await pool.fetchval(
        "SELECT count(*) FROM dispatch.cases c JOIN dispatch.incidents i ON i.incident_id = c.incident_id "
        "WHERE c.complaint_id = ANY($1::uuid[]) AND i.households = 50 AND i.complaint_count = 50",
        [e.complaint_id for e in batch],
    )
    assert joined == 50


async def test_dependent_complaints_in_one_batch_on_postgres(pool: asyncpg.Pool) -> None:
    """On the real tables too, a later complaint of a batch sees what an earlier one wrote: a same-account
    duplicate is linked to the work order opened before it, three callers of one fault open one incident."""
    context = DispatchContext(rules=load_rules(), sla=load_sla_table())
    first = _walk_complaint(1)
    second = received(first.payload.text, account_no=first.payload.customer.account_no)
    station = f"HES-D{uuid.uuid4().hex[:6].upper()}"
    callers = [_storm_call(i, station) for i in range(3)]
    await _route(pool, context, [first, callers[0], second, callers[1], callers[2]])
    linked = await pool.fetchval("SELECT linked_to FROM dispatch.cases WHERE complaint_id = $1", second.complaint_id)
    assert linked == first.complaint_id
    incidents = await pool.fetch(
        "SELECT DISTINCT incident_id FROM dispatch.cases WHERE complaint_id = ANY($1::uuid[])",
        [c.complaint_id for c in callers],
    )
    assert len(incidents) == 1 and incidents[0]["incident_id"] is not None
    merged = await pool.fetchval(
        "SELECT count(*) FROM dispatch.work_orders WHERE complaint_id = ANY($1::uuid[]) AND status = 'reassigned'",
        [c.complaint_id for c in callers[:2]],
    )
    assert merged == 2


async def test_a_batch_of_contacts_is_one_statement_and_each_complaint_keeps_its_latest(pool: asyncpg.Pool) -> None:
    """`complaint.contact` batched (issue 27): 50 contacts in one INSERT, not 50. In the batch, a complaint's
    correction (a later contact) replaces its first whichever comes first, and a contact redelivered under a new event
    id at the time already kept changes nothing — as one at a time."""
    context = DispatchContext(rules=load_rules(), sla=load_sla_table())
    complaints = [_walk_complaint(i) for i in range(50)]
    first = [contact_for(e) for e in complaints]
    counts: Counter[str] = Counter()
    door = Door(transactions(pool, lambda conn: PostgresDispatchRepository(CountingConnection(conn, counts))), context)
    await door.batch(contacts.keep, first, consumer=f"cost-{uuid.uuid4().hex[:6]}")
    inserts = {sql: n for sql, n in counts.items() if "dispatch.contacts" in sql}
    assert inserts == {"INSERT INTO dispatch.contacts": 1}, counts

    a, b = complaints[0], complaints[1]
    later = first[0].occurred_at + timedelta(minutes=5)
    correction_a = _at(contact_for(a, phone="13800000001"), later)
    correction_b = _at(contact_for(b, phone="13800000002"), later)
    stale_b = _at(contact_for(b, phone="13800000003"), first[1].occurred_at - timedelta(minutes=5))
    same_time_a = _at(contact_for(a, phone="13800000004"), later)
    # a: the correction, then another at the same time (stays the correction); b: the correction after an older one.
    await door.batch(
        contacts.keep, [correction_a, stale_b, same_time_a, correction_b], consumer=f"cost-{uuid.uuid4().hex[:6]}"
    )
    phones = dict(
        await pool.fetch(
            "SELECT complaint_id, phone FROM dispatch.contacts WHERE complaint_id = ANY($1::uuid[])",
            [a.complaint_id, b.complaint_id, complaints[2].complaint_id],
        )
    )
    assert phones == {
        a.complaint_id: "13800000001",
        b.complaint_id: "13800000002",
        complaints[2].complaint_id: "13912345678",
    }


def _at(event: ComplaintContact, occurred_at: datetime) -> ComplaintContact:
    return event.model_copy(update={"occurred_at": occurred_at})
